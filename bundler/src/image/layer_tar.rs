//! The layer tar: a plan written in path order into a temporary file while it is hashed.
//!
//! Every entry is stamped with the image's creation time and carries no user names, access
//! times or source paths, so the same plan always gives the same bytes.

use std::fs::File;
use std::io::{self, BufWriter, Read};
use std::path::Path;

use jim_checksums::{HashingWriter, Sha256Digest};
use tar::{EntryType, Header};

use super::layer::{EntryKind, FileContent, LayerPlan, PlannedEntry};
use crate::Error;

/// Write buffer for the layer file: large writes keep the hashing and the disk busy.
const WRITE_BUFFER_SIZE: usize = 1024 * 1024;

/// A layer tar written to an anonymous temporary file.
#[derive(Debug)]
pub(crate) struct WrittenLayer {
    /// The layer tar; read it from the start.
    pub file: File,
    /// The SHA-256 of the tar: both the blob digest and the diff id, as it is uncompressed.
    pub digest: Sha256Digest,
    /// Its size in bytes.
    pub size: u64,
}

/// Writes the layer tar into an anonymous temporary file in `temporary_folder`, hashing
/// it on the way, with every entry stamped `mtime` (seconds since the epoch).
pub(crate) fn write_layer(
    plan: &LayerPlan,
    mtime: u64,
    temporary_folder: &Path,
) -> Result<WrittenLayer, Error> {
    let write_error = |source| Error::Write {
        path: temporary_folder.to_owned(),
        source,
    };
    let file = tempfile::tempfile_in(temporary_folder).map_err(write_error)?;
    let buffered = BufWriter::with_capacity(WRITE_BUFFER_SIZE, file);
    let mut builder = tar::Builder::new(HashingWriter::new(buffered));

    for (path, entry) in plan.entries() {
        append_entry(&mut builder, path, entry, mtime, temporary_folder)?;
    }

    let hashing = builder.into_inner().map_err(write_error)?;
    let size = hashing.byte_count();
    let (buffered, digest) = hashing.finish();
    let file = buffered
        .into_inner()
        .map_err(|error| write_error(error.into_error()))?;
    Ok(WrittenLayer { file, digest, size })
}

/// Appends one planned entry to the layer tar.
fn append_entry<W: io::Write>(
    builder: &mut tar::Builder<W>,
    path: &str,
    entry: &PlannedEntry,
    mtime: u64,
    temporary_folder: &Path,
) -> Result<(), Error> {
    let write_error = |source| Error::Write {
        path: temporary_folder.to_owned(),
        source,
    };
    let mut header = Header::new_gnu();
    header.set_mode(entry.mode);
    header.set_uid(entry.owner.uid);
    header.set_gid(entry.owner.gid);
    header.set_mtime(mtime);
    header.set_size(0);

    match &entry.kind {
        EntryKind::Directory => {
            header.set_entry_type(EntryType::Directory);
            builder
                .append_data(&mut header, format!("{path}/"), io::empty())
                .map_err(write_error)
        }
        EntryKind::Symlink(target) => {
            header.set_entry_type(EntryType::Symlink);
            builder
                .append_link(&mut header, path, target)
                .map_err(write_error)
        }
        EntryKind::HardLink(target) => {
            header.set_entry_type(EntryType::Link);
            builder
                .append_link(&mut header, path, target)
                .map_err(write_error)
        }
        EntryKind::File(FileContent::Memory(bytes)) => {
            header.set_entry_type(EntryType::Regular);
            header.set_size(bytes.len() as u64);
            builder
                .append_data(&mut header, path, bytes.as_slice())
                .map_err(write_error)
        }
        EntryKind::File(FileContent::Disk(source)) => {
            header.set_entry_type(EntryType::Regular);
            append_disk_file(builder, &mut header, path, source, temporary_folder)
        }
    }
}

/// Streams a file from disk into the tar, refusing it if its size changes meanwhile (the
/// header, written first, states the size).
fn append_disk_file<W: io::Write>(
    builder: &mut tar::Builder<W>,
    header: &mut Header,
    path: &str,
    source: &Path,
    temporary_folder: &Path,
) -> Result<(), Error> {
    let read_error = |error| Error::Read {
        path: source.to_owned(),
        source: error,
    };
    let file = File::open(source).map_err(read_error)?;
    let size = file.metadata().map_err(read_error)?.len();
    header.set_size(size);

    let mut reader = TrackedReader {
        inner: file.take(size),
        failed: false,
    };
    if let Err(error) = builder.append_data(header, path, &mut reader) {
        return Err(if reader.failed {
            read_error(error)
        } else {
            Error::Write {
                path: temporary_folder.to_owned(),
                source: error,
            }
        });
    }
    // The tar crate pads a short copy without complaint; a file that shrank is caught here,
    // one that grew by the probe for one more byte.
    let mut probe = [0u8; 1];
    let grew = reader
        .inner
        .get_mut()
        .read(&mut probe)
        .map_err(read_error)?
        > 0;
    if reader.inner.limit() > 0 || grew {
        return Err(Error::SourceChanged {
            path: source.to_owned(),
            expected: size,
        });
    }
    Ok(())
}

/// A reader that remembers whether reading failed, to tell read errors from write errors.
struct TrackedReader<R> {
    inner: R,
    failed: bool,
}

impl<R: Read> Read for TrackedReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let result = self.inner.read(buffer);
        self.failed |= result.is_err();
        result
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::fs;
    use std::os::unix::fs::{PermissionsExt, symlink};

    use super::*;
    use crate::image::spec::{ImageFile, ImageSpec, Owner, RootFilesystem, SourceDateEpoch};

    const CREATED: u64 = 1_767_225_600;

    fn spec() -> ImageSpec {
        let mut spec = ImageSpec::new(
            "jim-web",
            "0.1.0",
            SourceDateEpoch::from_unix_seconds(CREATED).unwrap(),
        );
        spec.entrypoint = vec!["/app/jim-web".into()];
        spec
    }

    /// What a tar entry looked like, for comparisons.
    #[derive(Debug, PartialEq, Eq)]
    struct Seen {
        kind: EntryType,
        mode: u32,
        uid: u64,
        gid: u64,
        link: Option<String>,
        contents: Vec<u8>,
    }

    fn read_layer(layer: &mut WrittenLayer) -> BTreeMap<String, Seen> {
        use std::io::Seek;
        layer.file.seek(io::SeekFrom::Start(0)).unwrap();
        let mut bytes = Vec::new();
        layer.file.read_to_end(&mut bytes).unwrap();
        assert_eq!(bytes.len() as u64, layer.size);
        assert_eq!(Sha256Digest::of_bytes(&bytes), layer.digest);

        let mut archive = tar::Archive::new(bytes.as_slice());
        let mut seen = BTreeMap::new();
        let mut order = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let header = entry.header().clone();
            assert_eq!(header.mtime().unwrap(), CREATED);
            assert_eq!(header.username().unwrap(), Some(""));
            let path = String::from_utf8(entry.path_bytes().into_owned()).unwrap();
            let link = entry
                .link_name_bytes()
                .map(|name| String::from_utf8(name.into_owned()).unwrap());
            let mut contents = Vec::new();
            entry.read_to_end(&mut contents).unwrap();
            order.push(path.clone());
            seen.insert(
                path,
                Seen {
                    kind: header.entry_type(),
                    mode: header.mode().unwrap(),
                    uid: header.uid().unwrap(),
                    gid: header.gid().unwrap(),
                    link,
                    contents,
                },
            );
        }
        let mut sorted = order.clone();
        sorted.sort_by(|a, b| a.trim_end_matches('/').cmp(b.trim_end_matches('/')));
        assert_eq!(order, sorted, "entries are not in path order");
        seen
    }

    #[test]
    fn files_get_parents_working_dir_and_volume_folders() {
        let dir = tempfile::tempdir().unwrap();
        let binary = dir.path().join("jim-web");
        fs::write(&binary, b"\x7fELF binary").unwrap();

        let mut spec = spec();
        spec.files
            .push(ImageFile::from_path(&binary, "/app/jim-web", 0o755));
        spec.files
            .push(ImageFile::from_bytes("x=1\n", "/etc/jim/defaults", 0o644));
        spec.working_dir = Some("/app".into());
        spec.volumes = vec!["/var/lib/jim".into()];

        // The plan's order is tested in `layer`; here the written tar must follow it.
        let plan = LayerPlan::from_spec(&spec).unwrap();
        let mut layer = write_layer(&plan, CREATED, dir.path()).unwrap();
        let seen = read_layer(&mut layer);
        let binary_entry = &seen["app/jim-web"];
        assert_eq!(binary_entry.kind, EntryType::Regular);
        assert_eq!(
            (binary_entry.mode, binary_entry.uid, binary_entry.gid),
            (0o755, 0, 0)
        );
        assert_eq!(binary_entry.contents, b"\x7fELF binary");
        assert_eq!(seen["etc/jim/defaults"].contents, b"x=1\n");

        let volume = &seen["var/lib/jim/"];
        assert_eq!(volume.kind, EntryType::Directory);
        assert_eq!((volume.mode, volume.uid, volume.gid), (0o755, 1654, 1654));
        assert_eq!((seen["var/lib/"].uid, seen["app/"].uid), (0, 0));
    }

    #[test]
    fn root_filesystem_keeps_links_and_modes_and_normalises_owners() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("rootfs");
        fs::create_dir_all(root.join("usr/bin")).unwrap();
        fs::create_dir_all(root.join("var/lib/postgresql/data")).unwrap();
        fs::create_dir_all(root.join("a")).unwrap();
        fs::write(root.join("usr/bin/postgres"), b"server").unwrap();
        fs::set_permissions(
            root.join("usr/bin/postgres"),
            fs::Permissions::from_mode(0o4755),
        )
        .unwrap();
        fs::write(root.join("var/lib/postgresql/data/PG_VERSION"), b"17\n").unwrap();
        fs::set_permissions(
            root.join("var/lib/postgresql/data"),
            fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        symlink("usr/bin", root.join("bin")).unwrap();
        symlink("/nonexistent/absolute", root.join("dangling")).unwrap();
        // A hard link whose DFS-first path (`a/z`) sorts after the other one (`a-b`).
        fs::write(root.join("a/z"), b"shared").unwrap();
        fs::hard_link(root.join("a/z"), root.join("a-b")).unwrap();

        let mut spec = spec();
        let mut tree = RootFilesystem::new(&root);
        tree.owners
            .subtrees
            .insert("/var/lib/postgresql".into(), Owner::new(999, 999));
        spec.root_filesystem = Some(tree);

        let plan = LayerPlan::from_spec(&spec).unwrap();
        let mut layer = write_layer(&plan, CREATED, dir.path()).unwrap();
        let seen = read_layer(&mut layer);

        let server = &seen["usr/bin/postgres"];
        assert_eq!(
            (server.mode, server.uid, server.contents.as_slice()),
            (0o4755, 0, &b"server"[..])
        );
        let link = &seen["bin"];
        assert_eq!(
            (link.kind, link.link.as_deref()),
            (EntryType::Symlink, Some("usr/bin"))
        );
        assert_eq!(
            seen["dangling"].link.as_deref(),
            Some("/nonexistent/absolute")
        );

        let data = &seen["var/lib/postgresql/data/"];
        assert_eq!((data.mode, data.uid, data.gid), (0o700, 999, 999));
        assert_eq!(seen["var/lib/postgresql/data/PG_VERSION"].uid, 999);
        assert_eq!(seen["var/lib/"].uid, 0);

        assert_eq!(seen["a-b"].kind, EntryType::Regular);
        assert_eq!(seen["a-b"].contents, b"shared");
        let hard = &seen["a/z"];
        assert_eq!(
            (hard.kind, hard.link.as_deref()),
            (EntryType::Link, Some("a-b"))
        );
    }

    #[test]
    fn long_paths_and_link_targets_survive() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("rootfs");
        let deep = format!("usr/share/{}", "very-long-folder-name/".repeat(6));
        fs::create_dir_all(root.join(&deep)).unwrap();
        fs::write(root.join(&deep).join("file.txt"), b"deep").unwrap();
        let target = format!("/{deep}file.txt");
        symlink(&target, root.join("shortcut")).unwrap();

        let mut spec = spec();
        spec.root_filesystem = Some(RootFilesystem::new(&root));
        let mut layer =
            write_layer(&LayerPlan::from_spec(&spec).unwrap(), CREATED, dir.path()).unwrap();
        let seen = read_layer(&mut layer);
        assert_eq!(seen[&format!("{deep}file.txt")].contents, b"deep");
        assert_eq!(seen["shortcut"].link.as_deref(), Some(target.as_str()));
    }

    #[test]
    fn a_file_replaces_the_same_file_of_the_root_filesystem() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("rootfs");
        fs::create_dir_all(root.join("etc")).unwrap();
        fs::write(root.join("etc/passwd"), b"root:x:0:0::/:/bin/false\n").unwrap();

        let mut spec = spec();
        spec.root_filesystem = Some(RootFilesystem::new(&root));
        spec.files.push(ImageFile::from_bytes(
            "jim:x:1654:1654::/:/bin/false\n",
            "/etc/passwd",
            0o644,
        ));
        let mut layer =
            write_layer(&LayerPlan::from_spec(&spec).unwrap(), CREATED, dir.path()).unwrap();
        assert_eq!(
            read_layer(&mut layer)["etc/passwd"].contents,
            b"jim:x:1654:1654::/:/bin/false\n"
        );
    }
}
