//! `jim-bundle keygen`: writes a minisign key pair for signing releases.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{Context, Result, bail};
use jim_checksums::signature::generate_key_pair;

use crate::cli::KeygenArguments;

/// The public key file name; the same name INSTALL.md tells administrators to use.
const PUBLIC_KEY_FILE: &str = jim_bundle::documents::PUBLIC_KEY_FILE;
/// The secret key file name.
const SECRET_KEY_FILE: &str = "jim-release.key";

/// Generates the pair and writes both files, the secret one readable by its owner only.
pub fn run(arguments: &KeygenArguments) -> Result<()> {
    let folder = &arguments.out_dir;
    let public_path = folder.join(PUBLIC_KEY_FILE);
    let secret_path = folder.join(SECRET_KEY_FILE);
    if !arguments.force {
        for path in [&public_path, &secret_path] {
            if path.exists() {
                bail!(
                    "`{}` already exists\nhint: pass --force to replace the key pair, after \
                     making sure nothing still needs the old one",
                    path.display()
                );
            }
        }
    }

    let password = match &arguments.password_file {
        Some(path) => Some(
            fs::read_to_string(path)
                .with_context(|| format!("cannot read the password file `{}`", path.display()))?
                .lines()
                .next()
                .unwrap_or("")
                .to_owned(),
        ),
        None => None,
    };
    let pair = generate_key_pair(password.as_deref())?;

    fs::create_dir_all(folder).with_context(|| format!("cannot create `{}`", folder.display()))?;
    write_file(&secret_path, pair.secret_key_text.as_bytes(), 0o600)?;
    write_file(&public_path, pair.public_key.to_text().as_bytes(), 0o644)?;

    eprintln!(
        "wrote the key pair {}: keep `{}` secret, publish `{}`",
        pair.public_key.key_id(),
        secret_path.display(),
        public_path.display()
    );
    println!("{}", public_path.display());
    println!("{}", secret_path.display());
    Ok(())
}

/// Writes a file that has the given mode from the moment it exists.
fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    // Removing first makes the mode apply even when --force replaces an older file.
    let _ = fs::remove_file(path);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    file.write_all(contents)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(())
}
