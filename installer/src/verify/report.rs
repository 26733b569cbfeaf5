//! What a verification found: which files matched, which did not, and whether the manifest's
//! origin was checked. It is also the `--json` report of `jim-install verify`.

use std::path::PathBuf;

use jim_checksums::Sha256Digest;
use serde::{Serialize, Serializer};

use crate::verify::VerifyError;

/// What was verified: the archive, or a folder extracted from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BundleForm {
    /// The `jim-release-X.Y.Z.tar.gz` archive, read in one streaming pass.
    Archive,
    /// An extracted bundle folder.
    Folder,
}

/// Whether the checksum manifest was shown to come from the holder of a trusted key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Authenticity {
    /// The manifest carries a valid signature by the trusted key.
    Verified {
        /// The trusted key's id.
        key_id: String,
        /// The signature's trusted comment, which the signature covers.
        trusted_comment: String,
    },
    /// No trusted key was set, so only integrity was checked: anyone could have written a
    /// matching manifest.
    NotChecked {
        /// The key id named by the bundle's signature, when it has one. It is not trusted.
        signature_key_id: Option<String>,
    },
}

impl Authenticity {
    /// Whether the signature was checked against a trusted key.
    pub fn is_verified(&self) -> bool {
        matches!(self, Authenticity::Verified { .. })
    }
}

/// A listed file whose contents differ from the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MismatchedFile {
    /// The path relative to the bundle root.
    pub path: String,
    /// The digest the manifest lists.
    #[serde(serialize_with = "digest_hex")]
    pub expected: Sha256Digest,
    /// The digest of the bytes in the bundle.
    #[serde(serialize_with = "digest_hex")]
    pub computed: Sha256Digest,
}

/// The outcome of a verification. Paths are relative to the bundle root, as the manifest
/// writes them, and every list is sorted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// The archive or folder that was checked.
    pub bundle: PathBuf,
    /// Whether it was an archive or a folder.
    pub form: BundleForm,
    /// The release folder name (`jim-release-X.Y.Z`), when the bundle shows one.
    pub release: Option<String>,
    /// Whether the manifest's signature was checked against a trusted key.
    pub authenticity: Authenticity,
    /// Listed files whose contents match.
    pub verified: Vec<String>,
    /// Listed files whose contents differ.
    pub mismatched: Vec<MismatchedFile>,
    /// Listed files that are not in the bundle.
    pub missing: Vec<String>,
    /// Files in the bundle that the manifest does not list.
    pub unlisted: Vec<String>,
    /// The bytes of listed files that were hashed.
    pub bytes_hashed: u64,
    /// The SHA-256 of the whole archive file, computed in the same pass; `None` for folders.
    #[serde(serialize_with = "optional_digest_hex")]
    pub archive_sha256: Option<Sha256Digest>,
}

impl VerifyReport {
    /// Whether every listed file is present and matches, and nothing unlisted is present.
    pub fn is_verified(&self) -> bool {
        self.problem_count() == 0
    }

    /// How many findings there are: mismatched, missing and unlisted files together.
    pub fn problem_count(&self) -> usize {
        self.mismatched.len() + self.missing.len() + self.unlisted.len()
    }

    /// One line naming the first finding and how many others follow, or `verified`.
    pub fn summary(&self) -> String {
        let first = if let Some(mismatch) = self.mismatched.first() {
            format!("checksum mismatch for `{}`", mismatch.path)
        } else if let Some(path) = self.missing.first() {
            format!("`{path}` is listed in the checksum manifest but missing from the bundle")
        } else if let Some(path) = self.unlisted.first() {
            format!("`{path}` is in the bundle but not listed in the checksum manifest")
        } else {
            return "verified".to_owned();
        };
        match self.problem_count() - 1 {
            0 => first,
            1 => format!("{first}, and 1 more problem"),
            more => format!("{first}, and {more} more problems"),
        }
    }

    /// The report itself when it is clean, [`VerifyError::NotVerified`] otherwise.
    pub fn into_result(self) -> Result<Self, VerifyError> {
        if self.is_verified() {
            Ok(self)
        } else {
            Err(VerifyError::NotVerified {
                report: Box::new(self),
            })
        }
    }
}

fn digest_hex<S: Serializer>(digest: &Sha256Digest, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&digest.to_hex())
}

fn optional_digest_hex<S: Serializer>(
    digest: &Option<Sha256Digest>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match digest {
        Some(digest) => serializer.serialize_str(&digest.to_hex()),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> VerifyReport {
        VerifyReport {
            bundle: "b.tar.gz".into(),
            form: BundleForm::Archive,
            release: Some("jim-release-1.0.0".into()),
            authenticity: Authenticity::NotChecked {
                signature_key_id: None,
            },
            verified: vec!["a".into()],
            mismatched: Vec::new(),
            missing: Vec::new(),
            unlisted: Vec::new(),
            bytes_hashed: 1,
            archive_sha256: Some(Sha256Digest::of_bytes(b"")),
        }
    }

    #[test]
    fn summary_names_the_first_finding_and_counts_the_rest() {
        let mut report = report();
        assert_eq!(report.summary(), "verified");
        report.missing.push("docs/a.md".into());
        assert_eq!(
            report.summary(),
            "`docs/a.md` is listed in the checksum manifest but missing from the bundle"
        );
        report.unlisted.push("x".into());
        report.mismatched.push(MismatchedFile {
            path: "y".into(),
            expected: Sha256Digest::of_bytes(b"1"),
            computed: Sha256Digest::of_bytes(b"2"),
        });
        assert_eq!(
            report.summary(),
            "checksum mismatch for `y`, and 2 more problems"
        );
        let error = report.into_result().unwrap_err();
        assert!(
            error.to_string().starts_with("`b.tar.gz` does not match"),
            "{error}"
        );
    }

    #[test]
    fn json_writes_digests_as_hexadecimal_text() {
        let json = serde_json::to_value(report()).unwrap();
        assert_eq!(json["form"], "archive");
        assert_eq!(json["authenticity"]["status"], "not-checked");
        assert_eq!(
            json["archive_sha256"],
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
