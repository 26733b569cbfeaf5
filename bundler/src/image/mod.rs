//! Writes container images without a daemon or a registry, like `ko` or `jib` do.
//!
//! An [`ImageSpec`] says what goes in (a static binary, or a whole root filesystem folder,
//! plus the run configuration); [`write_image`] produces one image tar in the hybrid format
//! `docker save` writes since Engine 25, which both the classic and the containerd image
//! stores load:
//!
//! ```text
//! blobs/sha256/<config>    the image config (User, Entrypoint, Healthcheck, Labels, ...)
//! blobs/sha256/<manifest>  the OCI manifest
//! blobs/sha256/<layer>     one uncompressed layer tar
//! index.json               OCI index, annotated with the image name and tag
//! manifest.json            Docker's [{Config, RepoTags, Layers}]
//! oci-layout
//! ```
//!
//! The same specification always gives the same bytes: every time comes from
//! [`SourceDateEpoch`], owners are fixed, entries are sorted, and nothing names the machine.
//! The layer streams through a temporary file beside the output, so large root filesystems
//! never sit in memory.

mod layer;
mod layer_tar;
mod oci;
mod spec;
mod validate;

use std::fs;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use jim_checksums::{HashingWriter, Sha256Digest};

pub use oci::{MEDIA_TYPE_CONFIG, MEDIA_TYPE_INDEX, MEDIA_TYPE_LAYER, MEDIA_TYPE_MANIFEST};
pub use spec::{
    DEFAULT_USER, FileSource, HealthCheck, ImageFile, ImageSpec, Owner, OwnerMap, RootFilesystem,
    SourceDateEpoch, labels,
};

use crate::Error;

/// Permission bits of the written image tar.
const ARCHIVE_MODE: u32 = 0o644;

/// What was written, for the release plan, the checksums and the installer's checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenImage {
    /// The tag `docker load` gives the image, such as `jim-web:0.1.0`.
    pub reference: String,
    /// The image id: the digest of the config (what `docker image inspect` shows as `Id`).
    pub image_id: Sha256Digest,
    /// The digest of the OCI manifest.
    pub manifest_digest: Sha256Digest,
    /// The digest of the layer tar, which is also its diff id (it is uncompressed).
    pub layer_digest: Sha256Digest,
    /// The layer's size in bytes.
    pub layer_size: u64,
    /// The digest of the whole image tar.
    pub archive_digest: Sha256Digest,
    /// The size of the whole image tar in bytes.
    pub archive_size: u64,
}

/// Writes the image described by `spec` to the tar file `output`, replacing it atomically.
/// Temporary files go into the output's folder.
pub fn write_image(spec: &ImageSpec, output: &Path) -> Result<WrittenImage, Error> {
    spec.validate()?;
    let folder = match output.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let write_error = |source| Error::Write {
        path: output.to_owned(),
        source,
    };

    // The layer first: the config names its digest.
    let plan = layer::LayerPlan::from_spec(spec)?;
    let mtime = spec.created.unix_seconds();
    let mut layer = layer_tar::write_layer(&plan, mtime, folder)?;
    let documents = oci::Documents::new(spec, &layer.digest, layer.size)?;

    // Then the archive, into a temporary file renamed over the output once complete.
    let temporary = tempfile::NamedTempFile::new_in(folder).map_err(write_error)?;
    let archive_file = temporary.as_file().try_clone().map_err(write_error)?;
    layer.file.seek(SeekFrom::Start(0)).map_err(write_error)?;
    let hashing = HashingWriter::new(BufWriter::with_capacity(1024 * 1024, archive_file));
    let hashing = oci::write_archive(
        hashing,
        &documents,
        &layer.digest,
        layer.size,
        &mut layer.file,
        mtime,
    )
    .map_err(write_error)?;
    let archive_size = hashing.byte_count();
    let (mut buffered, archive_digest) = hashing.finish();
    buffered.flush().map_err(write_error)?;

    fs::set_permissions(temporary.path(), fs::Permissions::from_mode(ARCHIVE_MODE))
        .map_err(write_error)?;
    temporary
        .persist(output)
        .map_err(|error| write_error(error.error))?;

    Ok(WrittenImage {
        reference: spec.reference(),
        image_id: documents.config.digest,
        manifest_digest: documents.manifest.digest,
        layer_digest: layer.digest,
        layer_size: layer.size,
        archive_digest,
        archive_size,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn spec_with_binary(binary: &Path, created: u64) -> ImageSpec {
        let created = SourceDateEpoch::from_unix_seconds(created).unwrap();
        let mut spec = ImageSpec::new("jim-web", "0.1.0", created);
        spec.entrypoint = vec!["/app/jim-web".into()];
        spec.files
            .push(ImageFile::from_path(binary, "/app/jim-web", 0o755));
        spec.volumes = vec!["/var/lib/jim".into()];
        spec.healthcheck = Some(HealthCheck::exec(["/app/jim-web", "healthcheck"]));
        spec.insert_oci_labels("0.1.0", "abc123", "https://example.invalid/jim");
        spec
    }

    /// Writes the same binary from a fresh folder, with its own file times.
    fn write_from_fresh_folder(created: u64) -> (Vec<u8>, WrittenImage) {
        let dir = tempfile::tempdir().unwrap();
        let binary = dir.path().join("build-output").join("jim-web");
        fs::create_dir_all(binary.parent().unwrap()).unwrap();
        fs::write(&binary, b"\x7fELF pretend static binary").unwrap();
        let output = dir.path().join("jim-web.tar");
        let written = write_image(&spec_with_binary(&binary, created), &output).unwrap();
        (fs::read(&output).unwrap(), written)
    }

    #[test]
    fn same_inputs_give_identical_bytes() {
        let (first, first_written) = write_from_fresh_folder(1_767_225_600);
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let (second, second_written) = write_from_fresh_folder(1_767_225_600);
        assert!(first == second, "two writes of the same image differ");
        assert_eq!(first_written, second_written);
        assert_eq!(first_written.archive_digest, Sha256Digest::of_bytes(&first));
        assert_eq!(first_written.archive_size, first.len() as u64);

        let (later, _) = write_from_fresh_folder(1_767_225_601);
        assert!(first != later, "the creation time must reach the bytes");
    }

    #[test]
    fn archive_holds_the_layout_with_blobs_named_by_their_digest() {
        let (bytes, written) = write_from_fresh_folder(1_767_225_600);
        let mut archive = tar::Archive::new(bytes.as_slice());
        let mut names = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            assert_eq!(entry.header().mtime().unwrap(), 1_767_225_600);
            assert_eq!(entry.header().uid().unwrap(), 0);
            let mut contents = Vec::new();
            entry.read_to_end(&mut contents).unwrap();
            if let Some(hex) = name
                .strip_prefix("blobs/sha256/")
                .filter(|hex| !hex.is_empty())
            {
                assert_eq!(
                    Sha256Digest::of_bytes(&contents).to_hex(),
                    hex,
                    "blob {name}"
                );
            }
            names.push(name);
        }

        let mut blobs = vec![
            format!("blobs/sha256/{}", written.image_id),
            format!("blobs/sha256/{}", written.manifest_digest),
            format!("blobs/sha256/{}", written.layer_digest),
        ];
        blobs.sort();
        let mut expected = vec!["blobs/".to_owned(), "blobs/sha256/".to_owned()];
        expected.extend(blobs);
        expected.extend(["index.json", "manifest.json", "oci-layout"].map(String::from));
        assert_eq!(names, expected);
        assert_eq!(written.reference, "jim-web:0.1.0");
    }

    #[test]
    fn archive_is_readable_by_others() {
        let dir = tempfile::tempdir().unwrap();
        let binary = dir.path().join("jim-web");
        fs::write(&binary, b"binary").unwrap();
        let output = dir.path().join("image.tar");
        write_image(&spec_with_binary(&binary, 0), &output).unwrap();
        let mode = fs::metadata(&output).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        // Only the output remains: the temporary layer and archive files are gone.
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 2);
    }

    #[test]
    fn an_invalid_spec_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let binary = dir.path().join("jim-web");
        fs::write(&binary, b"binary").unwrap();
        let mut spec = spec_with_binary(&binary, 0);
        spec.tag = "not a tag".into();
        let output = dir.path().join("image.tar");
        assert!(write_image(&spec, &output).is_err());
        assert!(!output.exists());
    }
}
