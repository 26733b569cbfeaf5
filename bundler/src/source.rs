//! Facts about the source tree a release is built from: its creation time (for reproducible
//! bytes) and its revision (for the image labels), taken from the environment or from git.

use std::path::Path;
use std::process::Command;

use crate::Error;
use crate::image::SourceDateEpoch;

/// The revision recorded when neither `--revision` nor git gives one.
pub const UNKNOWN_REVISION: &str = "unknown";

/// The creation time of the release: `SOURCE_DATE_EPOCH` when set, else the commit time of
/// the newest commit of the git checkout at `source`. Never the clock, which would make two
/// builds of the same source differ.
pub fn resolve_created(source: &Path) -> Result<SourceDateEpoch, Error> {
    if let Some(created) = SourceDateEpoch::from_environment()? {
        return Ok(created);
    }
    let seconds = git(source, &["log", "-1", "--format=%ct"])
        .map_err(|reason| Error::NoSourceDateEpoch { reason })?;
    SourceDateEpoch::parse(&seconds)
}

/// The revision to record: the one given, else the git commit of `source`, else
/// [`UNKNOWN_REVISION`].
pub fn resolve_revision(source: &Path, given: Option<&str>) -> String {
    match given {
        Some(revision) => revision.to_owned(),
        None => git(source, &["rev-parse", "HEAD"]).unwrap_or_else(|_| UNKNOWN_REVISION.to_owned()),
    }
}

/// Runs git in `folder` and returns its trimmed output, or why it gave none.
fn git(folder: &Path, arguments: &[&str]) -> Result<String, String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(folder)
        .args(arguments)
        .output()
        .map_err(|error| format!("git could not be started ({error})"))?;
    if !output.status.success() {
        let message = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "`git {}` in `{}` failed: {}",
            arguments.join(" "),
            folder.display(),
            message.trim()
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if text.is_empty() {
        return Err(format!("`git {}` printed nothing", arguments.join(" ")));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_without_git_gives_the_unknown_revision_and_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(resolve_revision(dir.path(), None), UNKNOWN_REVISION);
        assert_eq!(resolve_revision(dir.path(), Some("abc")), "abc");
        let reason = git(dir.path(), &["log", "-1"]).unwrap_err();
        assert!(reason.contains("git"), "{reason}");
    }
}
