//! Upgrades: which version is newer, whether the compose files were edited by hand, which
//! `.env` keys a new template adds, which schedules were switched off, and the upgrade record
//! that lets `rollback` (or a rerun after a crash) know where an upgrade stopped.

pub mod schedules;

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::configure::EnvFile;
use crate::state::{InstallDir, StateError};

/// The upgrade record, next to `install-state.json`.
pub const RECORD_FILE: &str = "upgrade-record.json";

/// How far an upgrade got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Checks passed; schedules are being switched off and activities drained.
    Draining,
    /// Schedules are off and the backup is taken.
    BackedUp,
    /// New images and files are being put in place and the stack brought up.
    Switching,
    /// The new version is ready.
    Completed,
    /// The previous version was put back (by the upgrade itself or by `rollback`).
    RolledBack,
}

impl Phase {
    /// True while an upgrade is in flight: a crash here leaves work for `rollback`.
    pub fn unfinished(self) -> bool {
        matches!(self, Phase::Draining | Phase::BackedUp | Phase::Switching)
    }
}

/// What the last upgrade did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeRecord {
    pub from_version: String,
    pub to_version: String,
    pub from_release_folder: String,
    pub to_release_folder: String,
    /// The backup taken before switching, relative to the install folder or absolute.
    pub backup: Option<String>,
    /// The schema version of the database before the upgrade.
    pub from_schema_version: Option<i64>,
    /// The schedules the upgrade switched off, to switch on again afterwards.
    pub disabled_schedules: Vec<String>,
    pub phase: Phase,
    pub started_at: String,
    pub updated_at: String,
    /// What happened last, in a sentence.
    pub message: Option<String>,
}

impl UpgradeRecord {
    /// Records the phase (and message) and writes the record.
    pub fn advance(
        &mut self,
        dir: &InstallDir,
        phase: Phase,
        message: Option<String>,
    ) -> Result<(), StateError> {
        self.phase = phase;
        self.message = message;
        self.updated_at = chrono::Utc::now().to_rfc3339();
        write_record(dir, self)
    }
}

fn record_path(dir: &InstallDir) -> PathBuf {
    dir.root.join(RECORD_FILE)
}

/// The upgrade record, if an upgrade ever ran here.
pub fn read_record(dir: &InstallDir) -> Result<Option<UpgradeRecord>, StateError> {
    let path = record_path(dir);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| StateError::Parse { path, source }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StateError::Read { path, source }),
    }
}

/// Writes the record atomically.
pub fn write_record(dir: &InstallDir, record: &UpgradeRecord) -> Result<(), StateError> {
    let path = record_path(dir);
    let temporary = dir.root.join(format!(".{RECORD_FILE}.tmp"));
    let mut text = serde_json::to_string_pretty(record).map_err(|source| StateError::Parse {
        path: path.clone(),
        source,
    })?;
    text.push('\n');
    fs::write(&temporary, text)
        .and_then(|()| fs::rename(&temporary, &path))
        .map_err(|source| StateError::Write { path, source })
}

/// Compares release versions the semantic-versioning way: numbers as numbers, a pre-release
/// before its release, pre-release parts numerically when both are numbers.
pub fn compare_versions(left: &str, right: &str) -> Ordering {
    fn split(version: &str) -> (Vec<u64>, Option<&str>) {
        let (core, pre) = match version.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (version, None),
        };
        (
            core.split('.')
                .map(|part| part.parse().unwrap_or(0))
                .collect(),
            pre,
        )
    }
    let (left_core, left_pre) = split(left);
    let (right_core, right_pre) = split(right);
    left_core
        .cmp(&right_core)
        .then_with(|| match (left_pre, right_pre) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(left), Some(right)) => {
                let mut left_parts = left.split('.');
                let mut right_parts = right.split('.');
                loop {
                    match (left_parts.next(), right_parts.next()) {
                        (None, None) => return Ordering::Equal,
                        (None, Some(_)) => return Ordering::Less,
                        (Some(_), None) => return Ordering::Greater,
                        (Some(a), Some(b)) => {
                            let order = match (a.parse::<u64>(), b.parse::<u64>()) {
                                (Ok(a), Ok(b)) => a.cmp(&b),
                                (Ok(_), Err(_)) => Ordering::Less,
                                (Err(_), Ok(_)) => Ordering::Greater,
                                (Err(_), Err(_)) => a.cmp(b),
                            };
                            if order != Ordering::Equal {
                                return order;
                            }
                        }
                    }
                }
            }
        })
}

/// The SHA-256 of each compose file in `compose_dir`, by file name.
pub fn compose_checksums(compose_dir: &Path, files: &[&str]) -> BTreeMap<String, String> {
    files
        .iter()
        .filter_map(|file| {
            fs::read(compose_dir.join(file))
                .ok()
                .map(|bytes| (file.to_string(), hex::encode(Sha256::digest(bytes))))
        })
        .collect()
}

/// The compose files that differ from what was installed: from the checksums recorded at
/// install, or (for an installation that recorded none) from the installed release's copies.
pub fn edited_compose_files(
    compose_dir: &Path,
    files: &[&str],
    recorded: &BTreeMap<String, String>,
    release_compose_dir: &Path,
) -> Vec<String> {
    let now = compose_checksums(compose_dir, files);
    let expected = if recorded.is_empty() {
        compose_checksums(release_compose_dir, files)
    } else {
        recorded.clone()
    };
    files
        .iter()
        .filter(|file| match (now.get(**file), expected.get(**file)) {
            (Some(now), Some(expected)) => now != expected,
            (None, None) => false,
            _ => true,
        })
        .map(|file| file.to_string())
        .collect()
}

/// The keys the new `.env` template sets that the site's `.env` lacks.
pub fn missing_env_keys(template: &EnvFile, env: &EnvFile) -> Vec<String> {
    let present = env.keys();
    template
        .keys()
        .into_iter()
        .filter(|key| !present.contains(key))
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_as_releases() {
        assert_eq!(compare_versions("0.10.0", "0.9.1"), Ordering::Greater);
        assert_eq!(compare_versions("1.0.0", "1.0.0"), Ordering::Equal);
        assert_eq!(compare_versions("1.0.0-rc.1", "1.0.0"), Ordering::Less);
        assert_eq!(
            compare_versions("1.0.0-rc.10", "1.0.0-rc.9"),
            Ordering::Greater
        );
        assert_eq!(
            compare_versions("0.2.0-e2e.ab", "0.1.0-e2e.ab"),
            Ordering::Greater
        );
    }

    #[test]
    fn an_edited_compose_file_is_found() {
        let folder = tempfile::tempdir().unwrap();
        let installed = folder.path().join("compose");
        let release = folder.path().join("release");
        for dir in [&installed, &release] {
            fs::create_dir_all(dir).unwrap();
            fs::write(dir.join("a.yml"), "services: {}\n").unwrap();
            fs::write(dir.join("b.yml"), "services: {}\n").unwrap();
        }
        let files = ["a.yml", "b.yml"];
        let recorded = compose_checksums(&installed, &files);
        assert!(edited_compose_files(&installed, &files, &recorded, &release).is_empty());
        fs::write(installed.join("b.yml"), "services: {x: {}}\n").unwrap();
        assert_eq!(
            edited_compose_files(&installed, &files, &recorded, &release),
            ["b.yml"]
        );
        // Without recorded checksums, the release's copy is the reference.
        assert_eq!(
            edited_compose_files(&installed, &files, &BTreeMap::new(), &release),
            ["b.yml"]
        );
    }

    #[test]
    fn new_template_keys_are_listed() {
        let template = EnvFile::parse("A=1\nB=2\n# C=3\n");
        let env = EnvFile::parse("A=5\n");
        assert_eq!(missing_env_keys(&template, &env), ["B"]);
    }
}
