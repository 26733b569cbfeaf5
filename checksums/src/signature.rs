//! Signatures over the manifest in the minisign format, so that the standard `minisign` tool
//! can check a bundle as well as the installer can (`minisign -V -p KEY.pub -m
//! checksums.sha256`).
//!
//! Secret keys may be stored without a password, for unattended release builds, or protected
//! by one. This module never prompts: a protected key needs its password passed in.

use std::io::Cursor;

use crate::Error;

/// The untrusted comment written on signatures, which `minisign -V` prints but does not check.
const UNTRUSTED_COMMENT: &str = "signature from the JIM release key";

/// A minisign public key, which anyone may hold to check signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    inner: minisign::PublicKey,
}

impl PublicKey {
    /// Reads a public key from the two-line `.pub` file text, or from its bare base64 line.
    pub fn from_text(text: &str) -> Result<Self, Error> {
        let invalid = |error: minisign::PError| Error::InvalidPublicKey {
            reason: error.to_string(),
        };
        let trimmed = text.trim();
        let inner = if trimmed.lines().count() == 1 {
            minisign::PublicKey::from_base64(trimmed).map_err(invalid)?
        } else {
            minisign::PublicKey::from_box(trimmed.to_owned().into()).map_err(invalid)?
        };
        Ok(Self { inner })
    }

    /// The two-line `.pub` file text (an untrusted comment naming the key id, then the key).
    pub fn to_text(&self) -> String {
        format!(
            "untrusted comment: minisign public key: {}\n{}\n",
            self.key_id(),
            self.inner.to_base64()
        )
    }

    /// The key id as `minisign` shows it: 16 uppercase hexadecimal digits.
    pub fn key_id(&self) -> String {
        key_id_of(self.inner.keynum())
    }
}

/// A minisign secret key, opened and ready to sign.
#[derive(Clone)]
pub struct SecretKey {
    inner: minisign::SecretKey,
}

impl SecretKey {
    /// Opens a secret key from its file text. A key stored with a password needs that
    /// password; a key stored without one must be given `None`.
    pub fn from_text(text: &str, password: Option<&str>) -> Result<Self, Error> {
        let invalid = |error: minisign::PError| Error::InvalidSecretKey {
            reason: error.to_string(),
        };
        let key_box = minisign::SecretKeyBox::from_string(text).map_err(invalid)?;
        let inner = match password {
            Some(password) => minisign::SecretKey::from_box(key_box, Some(password.to_owned()))
                .map_err(invalid)?,
            None => minisign::SecretKey::from_unencrypted_box(key_box).map_err(|error| {
                Error::InvalidSecretKey {
                    reason: format!("{error} (a key stored with a password needs it)"),
                }
            })?,
        };
        Ok(Self { inner })
    }

    /// The public key that belongs to this secret key.
    pub fn public_key(&self) -> Result<PublicKey, Error> {
        let inner = minisign::PublicKey::from_secret_key(&self.inner).map_err(|error| {
            Error::InvalidSecretKey {
                reason: error.to_string(),
            }
        })?;
        Ok(PublicKey { inner })
    }

    /// The key id, the same as the public key's.
    pub fn key_id(&self) -> String {
        key_id_of(self.inner.keynum())
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        write!(f, "SecretKey({})", self.key_id())
    }
}

/// A freshly generated key pair.
#[derive(Debug, Clone)]
pub struct GeneratedKeyPair {
    /// The public key, to publish and to ship beside the bundle.
    pub public_key: PublicKey,
    /// The secret key file text as it should be stored: protected by the password if one was
    /// given, plain otherwise. Open it with [`SecretKey::from_text`] to sign.
    pub secret_key_text: String,
}

/// Generates a key pair. With `None` the stored secret key has no password, which suits
/// automated release builds whose key lives in a protected secret store.
pub fn generate_key_pair(password: Option<&str>) -> Result<GeneratedKeyPair, Error> {
    let failed = |error: minisign::PError| Error::KeyGeneration {
        reason: error.to_string(),
    };
    let pair = match password {
        Some(password) => minisign::KeyPair::generate_encrypted_keypair(Some(password.to_owned()))
            .map_err(failed)?,
        None => minisign::KeyPair::generate_unencrypted_keypair().map_err(failed)?,
    };
    let secret_key_text = pair
        .sk
        .to_box(Some("minisign secret key for JIM releases"))
        .map_err(failed)?
        .into_string();
    Ok(GeneratedKeyPair {
        public_key: PublicKey { inner: pair.pk },
        secret_key_text,
    })
}

/// Signs `data` (the manifest bytes) and returns the `.minisig` file text. The trusted
/// comment is covered by the signature; it must be a single line. `None` writes the time of
/// signing, as `minisign` does.
pub fn sign(key: &SecretKey, data: &[u8], trusted_comment: Option<&str>) -> Result<String, Error> {
    if let Some(comment) = trusted_comment
        && comment.contains(['\n', '\r'])
    {
        return Err(Error::Signing {
            reason: format!("the trusted comment `{comment}` spans several lines"),
        });
    }
    let public_key = key.public_key()?;
    let signature = minisign::sign(
        Some(&public_key.inner),
        &key.inner,
        data,
        trusted_comment,
        Some(UNTRUSTED_COMMENT),
    )
    .map_err(|error| Error::Signing {
        reason: error.to_string(),
    })?;
    Ok(signature.into_string())
}

/// Checks a `.minisig` text against `data` and a public key. On success, gives back the
/// signature's trusted comment.
pub fn verify(key: &PublicKey, data: &[u8], signature_text: &str) -> Result<String, Error> {
    let signature = minisign::SignatureBox::from_string(signature_text).map_err(|error| {
        Error::InvalidSignature {
            reason: error.to_string(),
        }
    })?;
    let mismatch = |error: minisign::PError| Error::SignatureMismatch {
        reason: error.to_string(),
    };
    let trusted_comment = signature.trusted_comment().map_err(mismatch)?;

    // Quiet, no copy of the data to stdout, and no legacy (non-prehashed) signatures.
    minisign::verify(
        &key.inner,
        &signature,
        Cursor::new(data),
        true,
        false,
        false,
    )
    .map_err(mismatch)?;
    Ok(trusted_comment)
}

/// Formats a key number the way `minisign` prints key ids.
fn key_id_of(keynum: &[u8]) -> String {
    let mut bytes = [0u8; 8];
    let count = keynum.len().min(8);
    bytes[..count].copy_from_slice(&keynum[..count]);
    format!("{:016X}", u64::from_le_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATA: &[u8] = b"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  a\n";

    fn open(pair: &GeneratedKeyPair) -> SecretKey {
        SecretKey::from_text(&pair.secret_key_text, None).unwrap()
    }

    #[test]
    fn signs_and_verifies_with_a_plain_key() {
        let pair = generate_key_pair(None).unwrap();
        let signature = sign(&open(&pair), DATA, Some("jim 0.1.0")).unwrap();
        assert!(signature.starts_with("untrusted comment: "));
        assert_eq!(
            verify(&pair.public_key, DATA, &signature).unwrap(),
            "jim 0.1.0"
        );
    }

    #[test]
    fn a_changed_byte_fails_verification() {
        let pair = generate_key_pair(None).unwrap();
        let signature = sign(&open(&pair), DATA, None).unwrap();
        let mut changed = DATA.to_vec();
        changed[0] = b'c';
        let error = verify(&pair.public_key, &changed, &signature).unwrap_err();
        assert!(matches!(error, Error::SignatureMismatch { .. }), "{error}");
    }

    #[test]
    fn another_key_fails_verification() {
        let signer = generate_key_pair(None).unwrap();
        let other = generate_key_pair(None).unwrap();
        let signature = sign(&open(&signer), DATA, None).unwrap();
        assert!(verify(&other.public_key, DATA, &signature).is_err());
    }

    #[test]
    fn keys_round_trip_through_their_texts() {
        let pair = generate_key_pair(None).unwrap();
        let public = PublicKey::from_text(&pair.public_key.to_text()).unwrap();
        assert_eq!(public, pair.public_key);
        let bare_line = pair.public_key.to_text().lines().nth(1).unwrap().to_owned();
        assert_eq!(PublicKey::from_text(&bare_line).unwrap(), pair.public_key);

        let secret = SecretKey::from_text(&pair.secret_key_text, None).unwrap();
        assert_eq!(secret.key_id(), pair.public_key.key_id());
        assert_eq!(secret.public_key().unwrap(), pair.public_key);
    }

    // Opening a protected key runs scrypt, which is slow in a debug build: this test keeps
    // to the two derivations that matter (a wrong and a right password).
    #[test]
    fn a_password_protected_key_needs_its_password() {
        let pair = generate_key_pair(Some("correct horse")).unwrap();
        let text = &pair.secret_key_text;
        assert!(SecretKey::from_text(text, None).is_err());
        assert!(SecretKey::from_text(text, Some("wrong")).is_err());
        let secret = SecretKey::from_text(text, Some("correct horse")).unwrap();
        let signature = sign(&secret, DATA, None).unwrap();
        verify(&pair.public_key, DATA, &signature).unwrap();
    }

    #[test]
    fn multi_line_trusted_comments_are_refused() {
        let pair = generate_key_pair(None).unwrap();
        assert!(sign(&open(&pair), DATA, Some("a\nb")).is_err());
    }

    #[test]
    fn garbage_is_not_a_key_or_signature() {
        assert!(PublicKey::from_text("not a key").is_err());
        assert!(SecretKey::from_text("not\na key", None).is_err());
        let pair = generate_key_pair(None).unwrap();
        let error = verify(&pair.public_key, DATA, "nonsense").unwrap_err();
        assert!(matches!(error, Error::InvalidSignature { .. }), "{error}");
    }
}
