//! Backups of an installation: the database (`pg_dump -Fc`) and the key volume, written
//! together as one tar archive with a manifest, and read back only after every part matches
//! the manifest's SHA-256.
//!
//! ```text
//! jim-backup-X.Y.Z-20261203T101500Z.tar
//!   manifest.json     BackupManifest: JIM version, time, schema version, parts with SHA-256
//!   database.dump     pg_dump custom format
//!   keys.tar          the key volume, as the Engine API's archive endpoint returns it
//! ```
//!
//! The archive is written to a temporary name and renamed when complete. The Docker side
//! (the helper container that runs the PostgreSQL client programs) is in [`engine`].

pub mod engine;

use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The format of `manifest.json` this code writes and reads.
pub const BACKUP_FORMAT: u32 = 1;
/// The manifest entry, first in the archive.
pub const MANIFEST_ENTRY: &str = "manifest.json";
/// The database dump entry.
pub const DATABASE_ENTRY: &str = "database.dump";
/// The key volume entry.
pub const KEYS_ENTRY: &str = "keys.tar";
/// The default folder for backups inside the install folder.
pub const BACKUPS_FOLDER: &str = "backups";
/// The largest key volume the installer restores; keys are a few kilobytes.
const KEYS_SIZE_LIMIT: u64 = 64 << 20;
/// The largest manifest read.
const MANIFEST_SIZE_LIMIT: u64 = 1 << 20;

/// Why a backup could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("cannot read or write `{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "`{path}` is not a JIM backup archive: {reason}\n\
         hint: give an archive written by `jim-install backup`, copied whole"
    )]
    NotAnArchive { path: PathBuf, reason: String },
    #[error(
        "`{part}` in `{path}` does not match the backup's manifest\n  expected sha256 {expected} \
         ({expected_bytes} bytes)\n  computed sha256 {computed} ({computed_bytes} bytes)\n\
         hint: the archive was damaged or changed after it was written; use another copy"
    )]
    Mismatch {
        path: PathBuf,
        part: String,
        expected: String,
        computed: String,
        expected_bytes: u64,
        computed_bytes: u64,
    },
    #[error("the Docker Engine answered with an error: {0}")]
    Docker(#[from] bollard::errors::Error),
    #[error("`{command}` failed in the helper container (exit {code}): {stderr}")]
    Command {
        command: String,
        code: i64,
        stderr: String,
    },
    #[error("{0}")]
    Other(String),
}

/// One part of the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupPart {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

/// `manifest.json`: what the archive holds and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupManifest {
    pub format: u32,
    /// The JIM version that was running.
    pub jim_version: String,
    /// When the backup was taken, RFC 3339.
    pub created_at: String,
    /// The newest migration the database had applied, if any.
    pub schema_version: Option<i64>,
    /// The compose project it was taken from.
    pub project: String,
    /// The database image whose client programs wrote the dump.
    pub database_image: String,
    pub parts: Vec<BackupPart>,
}

impl BackupManifest {
    /// The part named `name`.
    pub fn part(&self, name: &str) -> Option<&BackupPart> {
        self.parts.iter().find(|part| part.name == name)
    }
}

/// The archive's file name: `jim-backup-X.Y.Z-20261203T101500Z.tar`.
pub fn archive_name(version: &str, time: chrono::DateTime<chrono::Utc>) -> String {
    format!("jim-backup-{version}-{}.tar", time.format("%Y%m%dT%H%M%SZ"))
}

/// A writer that counts and hashes what passes through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// The bytes written and their SHA-256 in hexadecimal.
    pub fn finish(mut self) -> io::Result<(u64, String)> {
        self.inner.flush()?;
        Ok((self.bytes, hex::encode(self.hasher.finalize())))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buffer)?;
        self.hasher.update(&buffer[..written]);
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes the archive `folder/name` from the manifest and the two part files, through a
/// temporary name; returns its path.
pub fn write_archive(
    folder: &Path,
    name: &str,
    manifest: &BackupManifest,
    database: &Path,
    keys: &Path,
) -> Result<PathBuf, BackupError> {
    let io_error = |path: &Path| {
        let path = path.to_owned();
        move |source| BackupError::Io { path, source }
    };
    let target = folder.join(name);
    let temporary = folder.join(format!(".{name}.partial"));
    let file = File::create(&temporary).map_err(io_error(&temporary))?;
    let mut builder = tar::Builder::new(file);
    let mut text = serde_json::to_vec_pretty(manifest)
        .map_err(|error| BackupError::Other(error.to_string()))?;
    text.push(b'\n');
    append(&mut builder, MANIFEST_ENTRY, &text[..], text.len() as u64)
        .map_err(io_error(&temporary))?;
    for (entry, path) in [(DATABASE_ENTRY, database), (KEYS_ENTRY, keys)] {
        let file = File::open(path).map_err(io_error(path))?;
        let size = file.metadata().map_err(io_error(path))?.len();
        append(&mut builder, entry, file, size).map_err(io_error(&temporary))?;
    }
    let file = builder.into_inner().map_err(io_error(&temporary))?;
    file.sync_all().map_err(io_error(&temporary))?;
    fs::rename(&temporary, &target).map_err(io_error(&target))?;
    Ok(target)
}

fn append(
    builder: &mut tar::Builder<File>,
    name: &str,
    data: impl Read,
    size: u64,
) -> io::Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_uid(999);
    header.set_gid(999);
    header.set_mtime(chrono::Utc::now().timestamp().max(0) as u64);
    header.set_entry_type(tar::EntryType::Regular);
    builder.append_data(&mut header, name, data)
}

/// A backup archive whose every part matched its manifest.
#[derive(Debug, Clone)]
pub struct VerifiedBackup {
    pub path: PathBuf,
    pub manifest: BackupManifest,
    /// The key volume's tar, small enough to hold in memory.
    pub keys: Vec<u8>,
}

/// Reads the archive once: exactly the manifest first, then the two parts, each a regular
/// file whose size and SHA-256 match the manifest. Anything else is refused.
pub fn verify_archive(path: &Path) -> Result<VerifiedBackup, BackupError> {
    let refuse = |reason: String| BackupError::NotAnArchive {
        path: path.to_owned(),
        reason,
    };
    let io_error = |source| BackupError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io_error)?;
    let mut archive = tar::Archive::new(BufReader::with_capacity(1 << 20, file));
    let mut manifest: Option<BackupManifest> = None;
    let mut seen = Vec::new();
    let mut keys = Vec::new();
    for entry in archive.entries().map_err(io_error)? {
        let mut entry = entry.map_err(io_error)?;
        let name = entry
            .path()
            .map_err(io_error)?
            .to_string_lossy()
            .to_string();
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(refuse(format!("`{name}` is not a regular file")));
        }
        if seen.contains(&name) {
            return Err(refuse(format!("`{name}` appears twice")));
        }
        seen.push(name.clone());
        if name == MANIFEST_ENTRY {
            if manifest.is_some() || seen.len() != 1 {
                return Err(refuse("the manifest is not the first entry".into()));
            }
            let mut text = Vec::new();
            (&mut entry)
                .take(MANIFEST_SIZE_LIMIT)
                .read_to_end(&mut text)
                .map_err(io_error)?;
            let parsed: BackupManifest = serde_json::from_slice(&text)
                .map_err(|error| refuse(format!("`{MANIFEST_ENTRY}` is unreadable: {error}")))?;
            if parsed.format != BACKUP_FORMAT {
                return Err(refuse(format!(
                    "format {} is not the format {BACKUP_FORMAT} this installer reads",
                    parsed.format
                )));
            }
            manifest = Some(parsed);
            continue;
        }
        let Some(current) = &manifest else {
            return Err(refuse("the manifest is not the first entry".into()));
        };
        let Some(expected) = current.part(&name).cloned() else {
            return Err(refuse(format!("`{name}` is not listed in the manifest")));
        };
        if name == KEYS_ENTRY && expected.bytes > KEYS_SIZE_LIMIT {
            return Err(refuse(format!(
                "`{name}` is larger than a key volume can be"
            )));
        }
        let (bytes, sha256) = if name == KEYS_ENTRY {
            let mut writer = HashingWriter::new(&mut keys);
            io::copy(&mut (&mut entry).take(KEYS_SIZE_LIMIT + 1), &mut writer).map_err(io_error)?;
            writer.finish().map_err(io_error)?
        } else {
            let mut writer = HashingWriter::new(io::sink());
            io::copy(&mut entry, &mut writer).map_err(io_error)?;
            writer.finish().map_err(io_error)?
        };
        if bytes != expected.bytes || sha256 != expected.sha256 {
            return Err(BackupError::Mismatch {
                path: path.to_owned(),
                part: name,
                expected: expected.sha256,
                computed: sha256,
                expected_bytes: expected.bytes,
                computed_bytes: bytes,
            });
        }
    }
    let Some(manifest) = manifest else {
        return Err(refuse("it holds no manifest".into()));
    };
    for part in [DATABASE_ENTRY, KEYS_ENTRY] {
        if manifest.part(part).is_none() || !seen.iter().any(|name| name == part) {
            return Err(refuse(format!("the part `{part}` is missing")));
        }
    }
    Ok(VerifiedBackup {
        path: path.to_owned(),
        manifest,
        keys,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part_file(folder: &Path, name: &str, contents: &[u8]) -> (PathBuf, BackupPart) {
        let path = folder.join(name);
        fs::write(&path, contents).unwrap();
        let part = BackupPart {
            name: name.into(),
            bytes: contents.len() as u64,
            sha256: hex::encode(Sha256::digest(contents)),
        };
        (path, part)
    }

    fn archive(folder: &Path) -> PathBuf {
        let (database, database_part) = part_file(folder, "db", b"PGDMP and some rows");
        let (keys, keys_part) = part_file(folder, "keys", b"keys/key-1.xml");
        let manifest = BackupManifest {
            format: BACKUP_FORMAT,
            jim_version: "1.2.3".into(),
            created_at: "2026-12-03T10:15:00Z".into(),
            schema_version: Some(20261203000001),
            project: "jim".into(),
            database_image: "postgres:18".into(),
            parts: vec![
                BackupPart {
                    name: DATABASE_ENTRY.into(),
                    ..database_part
                },
                BackupPart {
                    name: KEYS_ENTRY.into(),
                    ..keys_part
                },
            ],
        };
        write_archive(folder, "backup.tar", &manifest, &database, &keys).unwrap()
    }

    #[test]
    fn an_archive_round_trips() {
        let folder = tempfile::tempdir().unwrap();
        let path = archive(folder.path());
        assert!(!folder.path().join(".backup.tar.partial").exists());
        let verified = verify_archive(&path).unwrap();
        assert_eq!(verified.manifest.jim_version, "1.2.3");
        assert_eq!(verified.keys, b"keys/key-1.xml");
    }

    #[test]
    fn a_changed_byte_is_refused() {
        let folder = tempfile::tempdir().unwrap();
        let path = archive(folder.path());
        let mut bytes = fs::read(&path).unwrap();
        let at = bytes
            .windows(5)
            .position(|window| window == b"PGDMP")
            .unwrap();
        bytes[at + 1] = b'X';
        fs::write(&path, bytes).unwrap();
        let error = verify_archive(&path).unwrap_err();
        assert!(
            matches!(&error, BackupError::Mismatch { part, .. } if part == DATABASE_ENTRY),
            "{error}"
        );
    }

    #[test]
    fn names_carry_version_and_time() {
        let time = chrono::DateTime::parse_from_rfc3339("2026-12-03T10:15:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(
            archive_name("0.2.0", time),
            "jim-backup-0.2.0-20261203T101500Z.tar"
        );
    }
}
