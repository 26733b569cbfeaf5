//! Verifying a release bundle: the `.tar.gz` archive in one streaming pass, or a folder
//! extracted from it, and extracting an archive while verifying it.
//!
//! Integrity and authenticity are separate questions. Integrity: every file matches
//! `checksums.sha256`, nothing listed is missing, nothing unlisted is present. Authenticity:
//! the manifest carries a minisign signature by a trusted key, given with `--trust-key` or
//! compiled into a release build. Without a trusted key only integrity is checked, and the
//! report says so in [`Authenticity::NotChecked`].
//!
//! An archive is judged member by member before any byte is used: absolute names, `..`
//! components, names outside the single `jim-release-X.Y.Z/` top folder, links of any kind,
//! device nodes, FIFOs, repeated names and a manifest that is not first are all refused. A
//! bundle written by `jim-bundle` holds none of them.

mod archive;
mod authenticity;
mod error;
mod extract;
mod folder;
mod member;
mod report;

use std::fs;
use std::path::Path;

pub use authenticity::{built_in_release_key, read_trusted_key};
pub use error::VerifyError;
pub use extract::{ExtractedBundle, extract_verified};
pub use folder::verify_folder;
pub use jim_checksums::signature::PublicKey;
pub use member::UnsafeReason;
pub use report::{Authenticity, BundleForm, MismatchedFile, VerifyReport};

/// How to verify, and what to do about an existing destination when extracting.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The key the manifest's signature must verify with. With a key, a missing or wrong
    /// signature is an error; without one only integrity is checked.
    pub trusted_key: Option<PublicKey>,
    /// For [`extract_verified`]: move an existing destination to `<destination>.previous`
    /// instead of refusing.
    pub replace_existing: bool,
}

/// Verifies a `.tar.gz` bundle in one streaming pass, extracting nothing.
///
/// Unsafe members, a damaged archive and signature problems are errors; files that differ
/// from the manifest are findings in the report (see [`VerifyReport::into_result`]).
pub fn verify_archive(
    archive: &Path,
    options: &VerifyOptions,
) -> Result<VerifyReport, VerifyError> {
    archive::stream(archive, options.trusted_key.as_ref(), None)
}

/// Verifies a bundle given either as the archive or as an extracted folder.
pub fn verify_bundle(bundle: &Path, options: &VerifyOptions) -> Result<VerifyReport, VerifyError> {
    let metadata = fs::metadata(bundle).map_err(|source| VerifyError::OpenBundle {
        path: bundle.to_owned(),
        source,
    })?;
    if metadata.is_dir() {
        verify_folder(bundle, options)
    } else {
        verify_archive(bundle, options)
    }
}
