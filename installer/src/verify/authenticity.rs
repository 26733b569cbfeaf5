//! The trust root: which public key the manifest's signature must verify with, and the check
//! itself.
//!
//! "Unsigned" and "signed by someone else" are different findings from "signed, but the
//! manifest was changed", so each gets its own error. Without a trusted key a bundle can still
//! be checked for integrity, and the report says plainly that its origin was not.

use std::fs;
use std::path::Path;

use jim_checksums::signature::{self, PublicKey};

use crate::verify::{Authenticity, VerifyError};

/// The release public key compiled in at release time, from the `JIM_RELEASE_PUBLIC_KEY`
/// environment variable of the build (the `.pub` file text or its bare base64 line).
const BUILT_IN_RELEASE_KEY: Option<&str> = option_env!("JIM_RELEASE_PUBLIC_KEY");

/// The largest signature file accepted; a minisign signature is a few hundred bytes.
pub(crate) const SIGNATURE_SIZE_LIMIT: u64 = 64 * 1024;

/// Reads a minisign public key file to trust.
pub fn read_trusted_key(path: &Path) -> Result<PublicKey, VerifyError> {
    let text = fs::read_to_string(path).map_err(|source| VerifyError::ReadTrustedKey {
        path: path.to_owned(),
        source,
    })?;
    PublicKey::from_text(&text).map_err(|source| VerifyError::InvalidTrustedKey {
        path: path.to_owned(),
        source,
    })
}

/// The release key compiled into this installer, when the release build set one.
pub fn built_in_release_key() -> Result<Option<PublicKey>, VerifyError> {
    match BUILT_IN_RELEASE_KEY {
        Some(text) if !text.trim().is_empty() => PublicKey::from_text(text)
            .map(Some)
            .map_err(|source| VerifyError::InvalidBuiltInKey { source }),
        _ => Ok(None),
    }
}

/// Checks the manifest's signature against the trusted key, when one is set.
///
/// With a trusted key, a missing, unreadable, foreign or non-matching signature is an error.
/// Without one, the signature is only read for its key id, which the report shows as
/// untrusted.
pub(crate) fn check_signature(
    bundle: &Path,
    manifest: &[u8],
    signature_bytes: Option<&[u8]>,
    trusted: Option<&PublicKey>,
) -> Result<Authenticity, VerifyError> {
    let unreadable = |reason: String| VerifyError::SignatureUnreadable {
        bundle: bundle.to_owned(),
        source: jim_checksums::Error::InvalidSignature { reason },
    };

    let Some(trusted) = trusted else {
        // Without a key nothing is trusted, so an unreadable signature is not worth failing for.
        let signature_key_id = signature_bytes
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .and_then(|text| signature_key_id(text).ok());
        return Ok(Authenticity::NotChecked { signature_key_id });
    };

    let Some(bytes) = signature_bytes else {
        return Err(VerifyError::SignatureMissing {
            bundle: bundle.to_owned(),
            key_id: trusted.key_id(),
        });
    };
    let text = std::str::from_utf8(bytes)
        .map_err(|_| unreadable("the signature file is not UTF-8 text".to_owned()))?;
    let signed_by = signature_key_id(text).map_err(unreadable)?;

    // A signature by another key is told apart from a forged one: it usually means the wrong
    // key file was given, not an attack.
    if signed_by != trusted.key_id() {
        return Err(VerifyError::SignatureWrongKey {
            bundle: bundle.to_owned(),
            signed_by,
            trusted: trusted.key_id(),
        });
    }
    let trusted_comment = signature::verify(trusted, manifest, text).map_err(|source| {
        VerifyError::SignatureInvalid {
            bundle: bundle.to_owned(),
            key_id: trusted.key_id(),
            source,
        }
    })?;
    Ok(Authenticity::Verified {
        key_id: trusted.key_id(),
        trusted_comment,
    })
}

/// The key id a minisign signature names, formatted as `minisign` shows key ids.
fn signature_key_id(text: &str) -> Result<String, String> {
    let signature = minisign::SignatureBox::from_string(text).map_err(|error| error.to_string())?;
    let mut bytes = [0u8; 8];
    let keynum = signature.keynum();
    let count = keynum.len().min(bytes.len());
    bytes[..count].copy_from_slice(&keynum[..count]);
    Ok(format!("{:016X}", u64::from_le_bytes(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jim_checksums::signature::{SecretKey, generate_key_pair, sign};

    const MANIFEST: &[u8] =
        b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  a\n";

    fn signed_by_new_key() -> (PublicKey, String) {
        let pair = generate_key_pair(None).unwrap();
        let secret = SecretKey::from_text(&pair.secret_key_text, None).unwrap();
        let signature = sign(&secret, MANIFEST, Some("jim 1.0.0")).unwrap();
        (pair.public_key, signature)
    }

    #[test]
    fn key_id_read_from_a_signature_matches_the_public_key() {
        let (key, signature) = signed_by_new_key();
        assert_eq!(signature_key_id(&signature).unwrap(), key.key_id());
    }

    #[test]
    fn each_signature_state_has_its_own_outcome() {
        let bundle = Path::new("b");
        let (key, signature) = signed_by_new_key();
        let (other_key, _) = signed_by_new_key();
        let signature = Some(signature.as_bytes());

        let verified = check_signature(bundle, MANIFEST, signature, Some(&key)).unwrap();
        assert!(verified.is_verified());
        let unchecked = check_signature(bundle, MANIFEST, signature, None).unwrap();
        assert_eq!(
            unchecked,
            Authenticity::NotChecked {
                signature_key_id: Some(key.key_id())
            }
        );

        let missing = check_signature(bundle, MANIFEST, None, Some(&key)).unwrap_err();
        assert!(matches!(missing, VerifyError::SignatureMissing { .. }));
        let foreign = check_signature(bundle, MANIFEST, signature, Some(&other_key)).unwrap_err();
        assert!(matches!(foreign, VerifyError::SignatureWrongKey { .. }));
        let changed = check_signature(bundle, b"changed", signature, Some(&key)).unwrap_err();
        assert!(matches!(changed, VerifyError::SignatureInvalid { .. }));
        let garbage = check_signature(bundle, MANIFEST, Some(b"junk"), Some(&key)).unwrap_err();
        assert!(matches!(garbage, VerifyError::SignatureUnreadable { .. }));
    }

    #[test]
    fn a_missing_key_file_names_its_path() {
        let error = read_trusted_key(Path::new("/nonexistent/release.pub")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot read the trusted key `/nonexistent/release.pub`"
        );
    }
}
