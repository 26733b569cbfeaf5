//! Verifying a bundle folder that was already extracted, such as the one
//! [`extract_verified`](super::extract_verified) leaves behind or one unpacked by hand.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use jim_bundle::layout::{RELEASE_NAME_PREFIX, ReleaseVersion};
use jim_checksums::{ChecksumManifest, MANIFEST_FILE_NAME, SIGNATURE_FILE_NAME, verify_tree};

use crate::verify::archive::MANIFEST_SIZE_LIMIT;
use crate::verify::authenticity::{SIGNATURE_SIZE_LIMIT, check_signature};
use crate::verify::{BundleForm, MismatchedFile, VerifyError, VerifyOptions, VerifyReport};

/// Checks an extracted bundle folder (the one holding `checksums.sha256`) against its
/// manifest and, with a trusted key, the manifest against its signature.
///
/// Differences are findings in the report; a symbolic link or special file anywhere in the
/// folder is an error, because a bundle holds none and a link could lead the installer
/// outside the folder.
pub fn verify_folder(folder: &Path, options: &VerifyOptions) -> Result<VerifyReport, VerifyError> {
    fs::metadata(folder).map_err(|source| VerifyError::OpenBundle {
        path: folder.to_owned(),
        source,
    })?;

    let manifest_path = folder.join(MANIFEST_FILE_NAME);
    let manifest_name = manifest_path.display().to_string();
    let Some(text) = read_regular_file(&manifest_path, MANIFEST_SIZE_LIMIT)? else {
        return Err(VerifyError::ManifestMissing {
            bundle: folder.to_owned(),
            manifest: MANIFEST_FILE_NAME.to_owned(),
        });
    };
    let manifest = ChecksumManifest::parse(&text).map_err(|error| match error {
        jim_checksums::Error::MalformedLine { line, reason } => VerifyError::MalformedManifest {
            manifest: manifest_name.clone(),
            line,
            reason,
        },
        source => VerifyError::ManifestUnreadable {
            manifest: manifest_name.clone(),
            source,
        },
    })?;
    let signature = read_regular_file(&folder.join(SIGNATURE_FILE_NAME), SIGNATURE_SIZE_LIMIT)?;
    let authenticity = check_signature(
        folder,
        &text,
        signature.as_deref(),
        options.trusted_key.as_ref(),
    )?;

    let tree = verify_tree(folder, &manifest).map_err(|source| VerifyError::ReadFolder {
        folder: folder.to_owned(),
        source,
    })?;
    if let Some(path) = tree.not_regular.first() {
        return Err(VerifyError::NotRegularInFolder {
            path: folder.join(path),
        });
    }

    let bytes_hashed = tree
        .verified
        .iter()
        .chain(tree.mismatched.iter().map(|mismatch| &mismatch.path))
        .filter_map(|path| fs::metadata(folder.join(path)).ok())
        .map(|metadata| metadata.len())
        .sum();
    Ok(VerifyReport {
        bundle: folder.to_owned(),
        form: BundleForm::Folder,
        release: release_name(folder),
        authenticity,
        verified: tree.verified,
        mismatched: tree
            .mismatched
            .into_iter()
            .map(|mismatch| MismatchedFile {
                path: mismatch.path,
                expected: mismatch.expected,
                computed: mismatch.computed,
            })
            .collect(),
        missing: tree.missing,
        unlisted: tree.unlisted,
        bytes_hashed,
        archive_sha256: None,
    })
}

/// Reads a regular file of at most `limit` bytes; `None` when nothing is there. A link or
/// special file in its place is refused rather than followed.
fn read_regular_file(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, VerifyError> {
    let unreadable = |source| VerifyError::ManifestUnreadable {
        manifest: path.display().to_string(),
        source: jim_checksums::Error::Read {
            path: path.to_owned(),
            source,
        },
    };
    let metadata = match fs::symlink_metadata(path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(unreadable(error)),
        Ok(metadata) => metadata,
    };
    if !metadata.is_file() {
        return Err(VerifyError::NotRegularInFolder {
            path: path.to_owned(),
        });
    }
    if metadata.len() > limit {
        return Err(VerifyError::ManifestTooLarge {
            manifest: path.display().to_string(),
            limit,
        });
    }
    let mut bytes = Vec::new();
    fs::File::open(path)
        .and_then(|file| file.take(limit).read_to_end(&mut bytes))
        .map_err(unreadable)?;
    Ok(Some(bytes))
}

/// The folder's name when it is named like a release (`jim-release-X.Y.Z`).
fn release_name(folder: &Path) -> Option<String> {
    let absolute: PathBuf = fs::canonicalize(folder).ok()?;
    let name = absolute.file_name()?.to_str()?;
    let version = name.strip_prefix(RELEASE_NAME_PREFIX)?;
    ReleaseVersion::parse(version).ok()?;
    Some(name.to_owned())
}
