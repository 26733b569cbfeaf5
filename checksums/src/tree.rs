//! Building a manifest from a directory, and checking a directory against a manifest.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::manifest::{MANIFEST_FILE_NAME, SIGNATURE_FILE_NAME};
use crate::{ChecksumManifest, Error, Sha256Digest, sha256_file};

/// A listed file whose contents differ from the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The path relative to the bundle root.
    pub path: String,
    /// The digest the manifest lists.
    pub expected: Sha256Digest,
    /// The digest of the file on disk.
    pub computed: Sha256Digest,
}

/// The outcome of checking a directory against a manifest. Every list is sorted by path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeReport {
    /// Listed files whose contents match.
    pub verified: Vec<String>,
    /// Listed files whose contents differ.
    pub mismatched: Vec<Mismatch>,
    /// Listed files that are not in the directory (or not reachable without following a
    /// symbolic link).
    pub missing: Vec<String>,
    /// Regular files in the directory that the manifest does not list.
    pub unlisted: Vec<String>,
    /// Symbolic links and special files found in the directory; a bundle holds none.
    pub not_regular: Vec<String>,
}

impl TreeReport {
    /// Whether the directory is exactly what the manifest describes.
    pub fn is_clean(&self) -> bool {
        self.mismatched.is_empty()
            && self.missing.is_empty()
            && self.unlisted.is_empty()
            && self.not_regular.is_empty()
    }
}

/// Hashes every regular file under `root` into a manifest, skipping the manifest and its
/// signature at the root. Symbolic links and special files are refused, because
/// `sha256sum -c` would follow a link and so check something outside the bundle.
pub fn manifest_for_tree(root: &Path) -> Result<ChecksumManifest, Error> {
    let listing = list_tree(root)?;
    if let Some(path) = listing.not_regular.first() {
        return Err(Error::NotRegularFile {
            path: root.join(path),
        });
    }

    let mut manifest = ChecksumManifest::new();
    for path in &listing.files {
        let digest = sha256_file(&root.join(path))?;
        manifest.insert(path, digest)?;
    }
    Ok(manifest)
}

/// Checks every file under `root` against `manifest`, reporting mismatched, missing,
/// unlisted and non-regular files separately. Only failures to read are errors; differences
/// are findings in the report.
pub fn verify_tree(root: &Path, manifest: &ChecksumManifest) -> Result<TreeReport, Error> {
    let listing = list_tree(root)?;
    let mut report = TreeReport {
        not_regular: listing.not_regular.clone(),
        ..TreeReport::default()
    };

    for (path, expected) in manifest.iter() {
        if !listing.files.contains(path) {
            report.missing.push(path.to_owned());
            continue;
        }
        let computed = sha256_file(&root.join(path))?;
        if computed == *expected {
            report.verified.push(path.to_owned());
        } else {
            report.mismatched.push(Mismatch {
                path: path.to_owned(),
                expected: *expected,
                computed,
            });
        }
    }

    report.unlisted = listing
        .files
        .iter()
        .filter(|path| manifest.get(path).is_none())
        .cloned()
        .collect();
    Ok(report)
}

/// What a walk of a directory found, as `/`-separated paths relative to its root.
#[derive(Debug, Default)]
struct TreeListing {
    /// Regular files, without the manifest and signature at the root.
    files: BTreeSet<String>,
    /// Symbolic links, sockets, devices and pipes.
    not_regular: Vec<String>,
}

/// Walks `root` without following symbolic links.
fn list_tree(root: &Path) -> Result<TreeListing, Error> {
    let mut listing = TreeListing::default();
    walk(root, root, &mut listing)?;
    listing.not_regular.sort();
    Ok(listing)
}

fn walk(root: &Path, folder: &Path, listing: &mut TreeListing) -> Result<(), Error> {
    let read_error = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Read { path, source }
    };

    let entries = fs::read_dir(folder).map_err(read_error(folder))?;
    for entry in entries {
        let entry = entry.map_err(read_error(folder))?;
        let path = entry.path();
        let file_type = entry.file_type().map_err(read_error(&path))?;
        if file_type.is_dir() {
            walk(root, &path, listing)?;
            continue;
        }

        let relative = relative_name(root, &path)?;
        if file_type.is_file() {
            if relative != MANIFEST_FILE_NAME && relative != SIGNATURE_FILE_NAME {
                listing.files.insert(relative);
            }
        } else {
            listing.not_regular.push(relative);
        }
    }
    Ok(())
}

/// The `/`-separated UTF-8 form of `path` relative to `root`.
fn relative_name(root: &Path, path: &Path) -> Result<String, Error> {
    let non_utf8 = || Error::NonUtf8Path {
        path: PathBuf::from(path.to_string_lossy().into_owned()),
    };
    let relative = path.strip_prefix(root).unwrap_or(path);
    let mut parts = Vec::new();
    for component in relative.components() {
        parts.push(component.as_os_str().to_str().ok_or_else(non_utf8)?);
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, relative: &str, contents: &str) {
        let path = root.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }

    #[test]
    fn manifest_lists_nested_files_and_skips_itself() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.txt", "a");
        write(dir.path(), "docs/INSTALL.md", "install");
        write(dir.path(), MANIFEST_FILE_NAME, "old");
        write(dir.path(), SIGNATURE_FILE_NAME, "old");
        fs::create_dir(dir.path().join("empty-folder")).unwrap();

        let manifest = manifest_for_tree(dir.path()).unwrap();
        let paths: Vec<&str> = manifest.iter().map(|(path, _)| path).collect();
        assert_eq!(paths, ["a.txt", "docs/INSTALL.md"]);
        assert_eq!(manifest.get("a.txt"), Some(&Sha256Digest::of_bytes(b"a")));
    }

    #[test]
    fn manifest_refuses_symbolic_links() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.txt", "a");
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("link")).unwrap();
        let error = manifest_for_tree(dir.path()).unwrap_err();
        assert!(matches!(error, Error::NotRegularFile { ref path } if path.ends_with("link")));
    }

    #[test]
    fn verify_reports_each_kind_of_difference_separately() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "same.txt", "same");
        write(dir.path(), "changed.txt", "before");
        write(dir.path(), "removed.txt", "gone soon");
        let manifest = manifest_for_tree(dir.path()).unwrap();
        assert!(verify_tree(dir.path(), &manifest).unwrap().is_clean());

        write(dir.path(), "changed.txt", "after");
        fs::remove_file(dir.path().join("removed.txt")).unwrap();
        write(dir.path(), "extra/new.txt", "new");
        std::os::unix::fs::symlink("same.txt", dir.path().join("alias")).unwrap();

        let report = verify_tree(dir.path(), &manifest).unwrap();
        assert!(!report.is_clean());
        assert_eq!(report.verified, ["same.txt"]);
        assert_eq!(
            report.mismatched,
            [Mismatch {
                path: "changed.txt".into(),
                expected: Sha256Digest::of_bytes(b"before"),
                computed: Sha256Digest::of_bytes(b"after"),
            }]
        );
        assert_eq!(report.missing, ["removed.txt"]);
        assert_eq!(report.unlisted, ["extra/new.txt"]);
        assert_eq!(report.not_regular, ["alias"]);
    }

    #[test]
    fn a_listed_file_behind_a_symbolic_link_counts_as_missing() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "docs/a.md", "a");
        let manifest = manifest_for_tree(dir.path()).unwrap();

        let elsewhere = tempfile::tempdir().unwrap();
        write(elsewhere.path(), "a.md", "a");
        fs::remove_dir_all(dir.path().join("docs")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("docs")).unwrap();

        let report = verify_tree(dir.path(), &manifest).unwrap();
        assert_eq!(report.missing, ["docs/a.md"]);
        assert_eq!(report.not_regular, ["docs"]);
    }
}
