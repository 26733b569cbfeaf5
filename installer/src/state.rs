//! The install folder and what the installer records in it.
//!
//! ```text
//! /opt/jim/                       the install folder (`--dir`)
//!   install-state.json            what is installed: version, release folder, project
//!   compose/                      the compose files, `.env.example` and `.env`
//!   releases/jim-release-X.Y.Z/   each verified, extracted bundle
//! ```

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The file that records the installation.
pub const STATE_FILE: &str = "install-state.json";
/// The folder holding the extracted bundles.
pub const RELEASES_FOLDER: &str = "releases";
/// The compose project name unless `--project` says otherwise.
pub const DEFAULT_PROJECT: &str = "jim";

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{path}` is damaged: {source}\nhint: restore it from a backup, or reinstall")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot write `{path}`: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "nothing is installed in `{dir}` (no {STATE_FILE})\n\
         hint: run `jim-install install BUNDLE --dir {dir}` first, or pass the right --dir"
    )]
    NotInstalled { dir: PathBuf },
}

/// What is installed in an install folder.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct InstallState {
    pub version: String,
    /// Relative to the install folder, such as `releases/jim-release-0.1.0`.
    pub release_folder: String,
    pub project: String,
    pub installed_at: String,
    /// The SHA-256 of each compose file as installed, by file name, so that an upgrade can
    /// tell a file edited by hand. Empty for installations made before it was recorded.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub compose_checksums: std::collections::BTreeMap<String, String>,
}

/// The default install folder: `/opt/jim` for root, `./jim` for anyone else.
pub fn default_dir() -> PathBuf {
    if running_as_root() {
        PathBuf::from("/opt/jim")
    } else {
        PathBuf::from("jim")
    }
}

/// True for user id 0, read from `/proc/self/status` (no unsafe system call needed).
pub fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("Uid:"))
                .and_then(|line| line.split_whitespace().nth(1).map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}

/// The paths of one install folder.
#[derive(Debug, Clone)]
pub struct InstallDir {
    pub root: PathBuf,
}

impl InstallDir {
    /// The install folder at `root`, made absolute: compose runs inside `compose/`, so a
    /// relative path would point elsewhere from there.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        Self {
            root: std::path::absolute(&root).unwrap_or(root),
        }
    }

    pub fn compose_dir(&self) -> PathBuf {
        self.root.join("compose")
    }

    pub fn env_file(&self) -> PathBuf {
        self.compose_dir().join(".env")
    }

    pub fn releases_dir(&self) -> PathBuf {
        self.root.join(RELEASES_FOLDER)
    }

    pub fn state_file(&self) -> PathBuf {
        self.root.join(STATE_FILE)
    }

    /// The recorded state, or `None` when nothing is installed yet.
    pub fn read_state(&self) -> Result<Option<InstallState>, StateError> {
        let path = self.state_file();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| StateError::Parse { path, source }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StateError::Read { path, source }),
        }
    }

    /// The recorded state, or an error saying nothing is installed.
    pub fn require_state(&self) -> Result<InstallState, StateError> {
        self.read_state()?.ok_or_else(|| StateError::NotInstalled {
            dir: self.root.clone(),
        })
    }

    /// Records the state atomically (temporary file, then rename).
    pub fn write_state(&self, state: &InstallState) -> Result<(), StateError> {
        let path = self.state_file();
        let temporary = self.root.join(format!(".{STATE_FILE}.tmp"));
        let mut text = serde_json::to_string_pretty(state).map_err(|source| StateError::Parse {
            path: path.clone(),
            source,
        })?;
        text.push('\n');
        std::fs::write(&temporary, text)
            .and_then(|()| std::fs::rename(&temporary, &path))
            .map_err(|source| StateError::Write { path, source })
    }

    /// The extracted release folder a state points at.
    pub fn release_dir(&self, state: &InstallState) -> PathBuf {
        self.root.join(&state.release_folder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips() {
        let folder = tempfile::tempdir().unwrap();
        let dir = InstallDir::new(folder.path());
        assert_eq!(dir.read_state().unwrap(), None);
        assert!(
            dir.require_state()
                .unwrap_err()
                .to_string()
                .contains("nothing is installed")
        );
        let state = InstallState {
            version: "1.2.3".into(),
            release_folder: "releases/jim-release-1.2.3".into(),
            project: "jim".into(),
            installed_at: "2026-12-03T00:00:00Z".into(),
            ..Default::default()
        };
        dir.write_state(&state).unwrap();
        assert_eq!(dir.read_state().unwrap(), Some(state));
    }

    #[test]
    fn a_relative_install_folder_is_made_absolute() {
        let dir = InstallDir::new("jim");
        assert!(dir.root.is_absolute());
        assert!(dir.env_file().ends_with("jim/compose/.env"));
    }
}
