//! Extraction that verifies in the same pass: the archive is written into a private staging
//! folder beside the destination, and renamed into place only when every check has passed.
//!
//! The staging folder lives on the destination's filesystem, so the final step is a rename
//! that either happens whole or not at all. Every path written is a member path that
//! [`MemberJudge`](super::member::MemberJudge) found plain (no `/` prefix, no `..`, no links
//! anywhere in the archive), joined below the staging folder, and every file is created new:
//! nothing is ever written outside the staging folder, nor through something already there.

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use jim_bundle::layout::BundleLayout;

use crate::verify::{VerifyError, VerifyOptions, VerifyReport, archive};

/// Mode of extracted folders and executable files.
const EXECUTABLE_MODE: u32 = 0o755;
/// Mode of the other extracted files. No setuid, setgid or sticky bit is ever kept.
const FILE_MODE: u32 = 0o644;
/// Mode of a file while it is being written.
const PARTIAL_FILE_MODE: u32 = 0o600;
/// The suffix of the folder an existing destination is moved to when it is replaced.
const PREVIOUS_SUFFIX: &str = ".previous";

/// A bundle that was verified and is now in place.
#[derive(Debug, Clone)]
pub struct ExtractedBundle {
    /// The bundle root on disk: the destination that was asked for.
    pub root: PathBuf,
    /// What the verification found (everything matched).
    pub report: VerifyReport,
    /// Where the destination that was replaced now lives, if there was one.
    pub previous: Option<PathBuf>,
}

/// Verifies `archive` while extracting it, in one pass, and puts the bundle root (the
/// contents of its `jim-release-X.Y.Z/` folder) at `destination`.
///
/// The files go to `<destination>.staging-<random>` first, beside the destination. On any
/// failure the staging folder is removed and nothing appears at `destination`. When
/// `destination` exists it is an error, unless `options.replace_existing` is set: then it is
/// moved to `<destination>.previous`, replacing an older one of that name. Run it on a blocking
/// thread from async code.
pub fn extract_verified(
    archive: &Path,
    destination: &Path,
    options: &VerifyOptions,
) -> Result<ExtractedBundle, VerifyError> {
    // Refusing before the pass saves reading the media for nothing.
    if exists(destination) && !options.replace_existing {
        return Err(VerifyError::DestinationExists {
            path: destination.to_owned(),
        });
    }

    let staging = create_staging(destination)?;
    let writer = StagingWriter {
        root: staging.path().to_owned(),
    };
    let report =
        archive::stream(archive, options.trusted_key.as_ref(), Some(&writer))?.into_result()?;

    fs::set_permissions(staging.path(), Permissions::from_mode(EXECUTABLE_MODE)).map_err(
        |source| VerifyError::Write {
            path: staging.path().to_owned(),
            source,
        },
    )?;
    let previous = commit(staging.path(), destination, options.replace_existing)?;
    // The staging folder is now the destination, so dropping it must not remove anything; the
    // path it gives back no longer exists.
    let _moved = staging.keep();
    Ok(ExtractedBundle {
        root: destination.to_owned(),
        report,
        previous,
    })
}

/// Creates the private staging folder beside the destination; it is removed when dropped.
fn create_staging(destination: &Path) -> Result<tempfile::TempDir, VerifyError> {
    let failed = |source| VerifyError::CreateStaging {
        destination: destination.to_owned(),
        source,
    };
    let name = destination
        .file_name()
        .ok_or_else(|| {
            failed(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the destination must end in a folder name",
            ))
        })?
        .to_string_lossy();
    let parent = match destination.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    tempfile::Builder::new()
        .prefix(&format!("{name}.staging-"))
        .tempdir_in(parent)
        .map_err(failed)
}

/// Moves the staging folder to the destination, first moving an existing destination aside.
/// Gives the place the old destination went to.
fn commit(
    staging: &Path,
    destination: &Path,
    replace_existing: bool,
) -> Result<Option<PathBuf>, VerifyError> {
    let mut previous = None;
    if exists(destination) {
        if !replace_existing {
            return Err(VerifyError::DestinationExists {
                path: destination.to_owned(),
            });
        }
        let mut aside = destination.as_os_str().to_owned();
        aside.push(PREVIOUS_SUFFIX);
        let aside = PathBuf::from(aside);
        remove(&aside)?;
        fs::rename(destination, &aside).map_err(|source| VerifyError::Rename {
            from: destination.to_owned(),
            to: aside.clone(),
            source,
        })?;
        previous = Some(aside);
    }

    if let Err(source) = fs::rename(staging, destination) {
        // Put the old destination back, so that a failed replacement changes nothing.
        if let Some(aside) = &previous {
            let _ = fs::rename(aside, destination);
        }
        return Err(VerifyError::Rename {
            from: staging.to_owned(),
            to: destination.to_owned(),
            source,
        });
    }
    Ok(previous)
}

/// Whether anything, even a dangling link, is at `path`.
fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// Removes whatever is at `path`, if anything.
fn remove(path: &Path) -> Result<(), VerifyError> {
    let result = match fs::symlink_metadata(path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => Err(error),
        Ok(metadata) if metadata.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
    };
    result.map_err(|source| VerifyError::Write {
        path: path.to_owned(),
        source,
    })
}

/// Writes members below the staging folder.
#[derive(Debug)]
pub(crate) struct StagingWriter {
    root: PathBuf,
}

impl StagingWriter {
    /// Creates a folder (and its parents) for a member path.
    pub(crate) fn create_folder(&self, path: &str) -> Result<(), VerifyError> {
        let target = BundleLayout::resolve(&self.root, path);
        DirBuilder::new()
            .recursive(true)
            .mode(EXECUTABLE_MODE)
            .create(&target)
            .map_err(|source| VerifyError::Write {
                path: target,
                source,
            })
    }

    /// Creates a new file for a member path; it must not exist yet.
    pub(crate) fn create_file(&self, path: &str) -> Result<File, VerifyError> {
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.create_folder(parent)?;
        }
        let target = BundleLayout::resolve(&self.root, path);
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(PARTIAL_FILE_MODE)
            .open(&target)
            .map_err(|source| VerifyError::Write {
                path: target,
                source,
            })
    }

    /// Appends bytes to a member's file.
    pub(crate) fn write(
        &self,
        file: &mut File,
        path: &str,
        bytes: &[u8],
    ) -> Result<(), VerifyError> {
        file.write_all(bytes)
            .map_err(|source| self.write_error(path, source))
    }

    /// Gives a member's file its final mode and makes sure it is on disk.
    pub(crate) fn finish_file(
        &self,
        file: File,
        path: &str,
        executable: bool,
    ) -> Result<(), VerifyError> {
        let mode = if executable {
            EXECUTABLE_MODE
        } else {
            FILE_MODE
        };
        file.set_permissions(Permissions::from_mode(mode))
            .and_then(|()| file.sync_all())
            .map_err(|source| self.write_error(path, source))
    }

    fn write_error(&self, path: &str, source: io::Error) -> VerifyError {
        VerifyError::Write {
            path: BundleLayout::resolve(&self.root, path),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_get_fixed_modes_whatever_the_archive_says() {
        let folder = tempfile::tempdir().unwrap();
        let writer = StagingWriter {
            root: folder.path().to_owned(),
        };
        for (path, executable) in [("bin/tool", true), ("docs/a.md", false)] {
            let mut file = writer.create_file(path).unwrap();
            writer.write(&mut file, path, b"x").unwrap();
            writer.finish_file(file, path, executable).unwrap();
        }
        let mode = |path: &str| {
            let metadata = fs::metadata(folder.path().join(path)).unwrap();
            metadata.permissions().mode() & 0o7777
        };
        assert_eq!(mode("bin/tool"), 0o755);
        assert_eq!(mode("docs/a.md"), 0o644);
    }

    #[test]
    fn an_existing_file_is_never_written_through() {
        let folder = tempfile::tempdir().unwrap();
        let writer = StagingWriter {
            root: folder.path().to_owned(),
        };
        fs::write(folder.path().join("a"), "old").unwrap();
        let error = writer.create_file("a").unwrap_err();
        assert!(matches!(error, VerifyError::Write { .. }), "{error}");
        assert_eq!(fs::read_to_string(folder.path().join("a")).unwrap(), "old");
    }

    #[test]
    fn a_failed_commit_keeps_the_old_destination() {
        let parent = tempfile::tempdir().unwrap();
        let destination = parent.path().join("jim");
        fs::create_dir(&destination).unwrap();
        fs::write(destination.join("old"), "old").unwrap();
        let missing_staging = parent.path().join("jim.staging-gone");

        let error = commit(&missing_staging, &destination, true).unwrap_err();
        assert!(matches!(error, VerifyError::Rename { .. }), "{error}");
        assert!(destination.join("old").exists());
        assert!(!parent.path().join("jim.previous").exists());
    }
}
