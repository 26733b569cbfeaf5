//! Why a bundle was refused, with the value that caused it, the exit code it maps to and the
//! next step for the user.

use std::io;
use std::path::PathBuf;

use jim_checksums::MalformedLine;

use crate::exit::Exit;
use crate::verify::{UnsafeReason, VerifyReport};

/// Everything that stops a bundle from being verified or extracted.
///
/// Findings about file contents (a mismatched, missing or unlisted file) are not errors of
/// [`verify_archive`](crate::verify::verify_archive) and
/// [`verify_folder`](crate::verify::verify_folder): they are listed in the
/// [`VerifyReport`], and become [`VerifyError::NotVerified`] through
/// [`VerifyReport::into_result`] or [`extract_verified`](crate::verify::extract_verified).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The bundle path cannot be opened.
    #[error("cannot open the bundle `{path}`")]
    OpenBundle {
        /// The path given.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },

    /// The trusted key file cannot be read.
    #[error("cannot read the trusted key `{path}`")]
    ReadTrustedKey {
        /// The key file.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },

    /// The trusted key file is not a minisign public key.
    #[error("`{path}` is not a minisign public key")]
    InvalidTrustedKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: jim_checksums::Error,
    },

    /// The release key compiled into this installer cannot be read.
    #[error("the release key built into this installer is not a minisign public key")]
    InvalidBuiltInKey {
        /// What is wrong with it.
        #[source]
        source: jim_checksums::Error,
    },

    /// The file does not start like a gzip stream.
    #[error("`{path}` is not a gzip-compressed tar archive")]
    NotGzip {
        /// The file given.
        path: PathBuf,
    },

    /// The gzip stream or the tar structure inside it cannot be read to its end.
    #[error("the archive `{path}` is damaged or truncated")]
    Damaged {
        /// The archive.
        path: PathBuf,
        /// What the decompressor or the tar reader found.
        #[source]
        source: io::Error,
    },

    /// Something follows the end of the tar archive or of the gzip stream.
    #[error("the archive `{path}` holds data after the end of its {layer}")]
    TrailingData {
        /// The archive.
        path: PathBuf,
        /// `tar archive` or `gzip stream`.
        layer: &'static str,
    },

    /// A member that could write outside the destination, or that a bundle never holds.
    #[error("refused member `{member}`: {reason}")]
    UnsafeMember {
        /// The member's name as stored in the archive.
        member: String,
        /// Why it is refused.
        reason: UnsafeReason,
    },

    /// The archive's top folder is not named like a release.
    #[error(
        "`{member}` is not in a release folder: the archive's top folder must be \
         `jim-release-X.Y.Z`"
    )]
    NotAReleaseFolder {
        /// The first member's name.
        member: String,
    },

    /// A member other than the top folder comes before the checksum manifest.
    #[error("`{manifest}` must be the first file of the archive, but `{member}` comes before it")]
    ManifestNotFirst {
        /// Where the manifest was expected.
        manifest: String,
        /// The member found instead.
        member: String,
    },

    /// The bundle holds no checksum manifest.
    #[error("`{bundle}` holds no checksum manifest `{manifest}`")]
    ManifestMissing {
        /// The archive or folder.
        bundle: PathBuf,
        /// The manifest that was expected.
        manifest: String,
    },

    /// The checksum manifest is larger than any real bundle needs.
    #[error("the checksum manifest `{manifest}` is larger than {limit} bytes")]
    ManifestTooLarge {
        /// The manifest.
        manifest: String,
        /// The largest size accepted.
        limit: u64,
    },

    /// A line of the checksum manifest is not in the `sha256sum` format, or repeats a path.
    #[error("line {line} of the checksum manifest `{manifest}` is malformed: {reason}")]
    MalformedManifest {
        /// The manifest.
        manifest: String,
        /// The 1-based line number.
        line: usize,
        /// What is wrong with the line.
        reason: MalformedLine,
    },

    /// The checksum manifest cannot be read.
    #[error("cannot read the checksum manifest `{manifest}`")]
    ManifestUnreadable {
        /// The manifest.
        manifest: String,
        /// What failed.
        #[source]
        source: jim_checksums::Error,
    },

    /// The signature is somewhere other than right after the manifest.
    #[error("the signature `{member}` must come right after the checksum manifest")]
    SignatureMisplaced {
        /// The signature member.
        member: String,
    },

    /// The signature file is not a minisign signature, or is too large to be one.
    #[error("the signature of the checksum manifest of `{bundle}` is not a minisign signature")]
    SignatureUnreadable {
        /// The archive or folder.
        bundle: PathBuf,
        /// Why it cannot be read.
        #[source]
        source: jim_checksums::Error,
    },

    /// A trusted key is set but the manifest has no signature.
    #[error(
        "the checksum manifest of `{bundle}` is not signed, but the trusted key `{key_id}` \
         requires a signature"
    )]
    SignatureMissing {
        /// The archive or folder.
        bundle: PathBuf,
        /// The trusted key's id.
        key_id: String,
    },

    /// The manifest is signed, by a key other than the trusted one.
    #[error(
        "the checksum manifest of `{bundle}` is signed by key `{signed_by}`, not by the trusted \
         key `{trusted}`"
    )]
    SignatureWrongKey {
        /// The archive or folder.
        bundle: PathBuf,
        /// The key id named in the signature.
        signed_by: String,
        /// The trusted key's id.
        trusted: String,
    },

    /// The signature names the trusted key but does not match the manifest.
    #[error(
        "the signature of the checksum manifest of `{bundle}` does not verify with the trusted \
         key `{key_id}`"
    )]
    SignatureInvalid {
        /// The archive or folder.
        bundle: PathBuf,
        /// The trusted key's id.
        key_id: String,
        /// What the signature check found.
        #[source]
        source: jim_checksums::Error,
    },

    /// An extracted bundle folder holds a symbolic link or a special file.
    #[error(
        "`{path}` is a symbolic link or special file; a JIM bundle holds only regular files and \
         folders, so every link is refused"
    )]
    NotRegularInFolder {
        /// The offending entry.
        path: PathBuf,
    },

    /// A folder could not be walked or a file in it could not be read.
    #[error("cannot check the bundle folder `{folder}`")]
    ReadFolder {
        /// The bundle folder.
        folder: PathBuf,
        /// What failed.
        #[source]
        source: jim_checksums::Error,
    },

    /// The files differ from the checksum manifest.
    #[error(
        "`{}` does not match its checksum manifest: {}",
        .report.bundle.display(),
        .report.summary()
    )]
    NotVerified {
        /// Every finding.
        report: Box<VerifyReport>,
    },

    /// The extraction destination exists and replacing it was not asked for.
    #[error("the destination `{path}` already exists")]
    DestinationExists {
        /// The destination.
        path: PathBuf,
    },

    /// The staging folder next to the destination cannot be created.
    #[error("cannot create a staging folder next to `{destination}`")]
    CreateStaging {
        /// The destination.
        destination: PathBuf,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },

    /// A file or folder cannot be written in the staging folder.
    #[error("cannot write `{path}`")]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },

    /// A folder cannot be moved into place, or an old one out of the way.
    #[error("cannot move `{from}` to `{to}`")]
    Rename {
        /// The folder to move.
        from: PathBuf,
        /// Where it should go.
        to: PathBuf,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
}

impl VerifyError {
    /// The exit code this error ends `jim-install` with.
    pub fn exit(&self) -> Exit {
        match self {
            VerifyError::OpenBundle { .. }
            | VerifyError::ReadTrustedKey { .. }
            | VerifyError::InvalidTrustedKey { .. }
            | VerifyError::InvalidBuiltInKey { .. }
            | VerifyError::DestinationExists { .. } => Exit::Usage,
            VerifyError::CreateStaging { .. }
            | VerifyError::Write { .. }
            | VerifyError::Rename { .. } => Exit::Failure,
            _ => Exit::VerificationFailed,
        }
    }

    /// The next step for the user, printed after `hint:`.
    pub fn hint(&self) -> &'static str {
        match self {
            VerifyError::OpenBundle { .. } => {
                "BUNDLE is the `jim-release-X.Y.Z.tar.gz` archive or the folder extracted from it"
            }
            VerifyError::ReadTrustedKey { .. } | VerifyError::InvalidTrustedKey { .. } => {
                "pass the release public key file (a minisign `.pub` file) published by the \
                 release team"
            }
            VerifyError::InvalidBuiltInKey { .. } => {
                "this installer was built with a broken release key; pass `--trust-key FILE` \
                 with the release public key"
            }
            VerifyError::NotGzip { .. } | VerifyError::NotAReleaseFolder { .. } => {
                "pass the `jim-release-X.Y.Z.tar.gz` archive written by `jim-bundle`, or the \
                 folder extracted from it"
            }
            VerifyError::Damaged { .. }
            | VerifyError::TrailingData { .. }
            | VerifyError::NotVerified { .. } => {
                "copy the bundle again from the source media, then verify it again"
            }
            VerifyError::UnsafeMember { .. } => {
                "do not install this bundle: `jim-bundle` never writes such a member; get the \
                 bundle again from a trusted source"
            }
            VerifyError::ManifestNotFirst { .. }
            | VerifyError::ManifestMissing { .. }
            | VerifyError::SignatureMisplaced { .. } => {
                "archives written by `jim-bundle` start with `checksums.sha256` and its \
                 signature; a re-packed archive is refused, so copy the original again"
            }
            VerifyError::ManifestTooLarge { .. }
            | VerifyError::MalformedManifest { .. }
            | VerifyError::ManifestUnreadable { .. } => {
                "the checksum manifest was changed after the bundle was built; copy the bundle \
                 again from the source media"
            }
            VerifyError::SignatureUnreadable { .. } | VerifyError::SignatureInvalid { .. } => {
                "the manifest or its signature was changed after signing: do not install this \
                 bundle; get it again from a trusted source"
            }
            VerifyError::SignatureMissing { .. } => {
                "ask the release team for the signed bundle: without \
                 `checksums.sha256.minisig` nothing shows where the bundle came from"
            }
            VerifyError::SignatureWrongKey { .. } => {
                "check that `--trust-key` names the public key of the release team that signed \
                 this bundle"
            }
            VerifyError::NotRegularInFolder { .. } => {
                "verify the `.tar.gz` archive instead, or extract it again with `jim-install`"
            }
            VerifyError::ReadFolder { .. } => "check that the folder and its files are readable",
            VerifyError::DestinationExists { .. } => {
                "move the existing folder away first, or ask for it to be replaced (it is then \
                 kept as `<destination>.previous`)"
            }
            VerifyError::CreateStaging { .. }
            | VerifyError::Write { .. }
            | VerifyError::Rename { .. } => {
                "check the free space and the permissions of the destination's filesystem"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_reasons_say_that_every_link_is_refused() {
        let reason = UnsafeReason::SymbolicLink {
            target: "/etc/passwd".into(),
        };
        let error = VerifyError::UnsafeMember {
            member: "jim-release-1.0.0/link".into(),
            reason,
        };
        assert_eq!(
            error.to_string(),
            "refused member `jim-release-1.0.0/link`: it is a symbolic link to `/etc/passwd`; a \
             JIM bundle holds no links, so every link is refused"
        );
        assert_eq!(error.exit(), Exit::VerificationFailed);
    }

    #[test]
    fn usage_and_failure_errors_have_their_own_exit_codes() {
        let missing = VerifyError::OpenBundle {
            path: "x".into(),
            source: io::Error::from(io::ErrorKind::NotFound),
        };
        assert_eq!(missing.exit(), Exit::Usage);
        let write = VerifyError::Write {
            path: "x".into(),
            source: io::Error::from(io::ErrorKind::StorageFull),
        };
        assert_eq!(write.exit(), Exit::Failure);
        assert!(write.hint().contains("free space"));
    }
}
