//! Writes the assets of a release (see [`crate::layout::RELEASE_CHECKSUMS_ASSET`] and
//! `layout/release.rs`) from what `jim-bundle build` left in its output folder: the archive and
//! its checksum file as they are, the compose files and `.env` template from the release
//! folder, and `checksums.sha256` over all of them, written last.

use std::fs;
use std::path::{Path, PathBuf};

use jim_checksums::ChecksumManifest;
use jim_checksums::sha256_file;

use crate::Error;
use crate::layout::{BundleLayout, COMPOSE_FOLDER, RELEASE_CHECKSUMS_ASSET};

/// What was written.
#[derive(Debug, Clone)]
pub struct ReleaseAssets {
    /// The folder holding the assets.
    pub folder: PathBuf,
    /// Every asset, the checksums asset last.
    pub files: Vec<PathBuf>,
}

/// Writes the release assets of `layout` from the build output folder `dist` into `out`.
pub fn write_release_assets(
    dist: &Path,
    layout: &BundleLayout,
    out: &Path,
) -> Result<ReleaseAssets, Error> {
    fs::create_dir_all(out).map_err(|source| Error::Write {
        path: out.to_path_buf(),
        source,
    })?;
    let release_folder = dist.join(layout.folder_name());
    let mut checksums = ChecksumManifest::new();
    let mut files = Vec::new();
    for asset in layout.release_assets() {
        let source = if asset.starts_with(&layout.folder_name()) {
            dist.join(&asset)
        } else {
            release_folder.join(COMPOSE_FOLDER).join(&asset)
        };
        if !source.is_file() {
            return Err(Error::MissingInput {
                what: "build output",
                path: source,
                hint: format!(
                    "run `jim-bundle build --version {} --out {}` first",
                    layout.version(),
                    dist.display()
                ),
            });
        }
        let target = out.join(&asset);
        place(&source, &target)?;
        checksums.insert(&asset, sha256_file(&target)?)?;
        files.push(target);
    }

    // The checksums asset is written last, through a temporary name, so that a folder with it
    // is complete.
    let target = out.join(RELEASE_CHECKSUMS_ASSET);
    let temporary = out.join(format!(".{RELEASE_CHECKSUMS_ASSET}.tmp"));
    checksums.write(&temporary)?;
    fs::rename(&temporary, &target).map_err(|source| Error::Write {
        path: target.clone(),
        source,
    })?;
    files.push(target);
    Ok(ReleaseAssets {
        folder: out.to_path_buf(),
        files,
    })
}

/// Hard-links `source` to `target` (the archive is large), or copies it across file systems.
fn place(source: &Path, target: &Path) -> Result<(), Error> {
    let write_error = |source| Error::Write {
        path: target.to_path_buf(),
        source,
    };
    match fs::remove_file(target) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(write_error(error)),
    }
    if fs::hard_link(source, target).is_ok() {
        return Ok(());
    }
    fs::copy(source, target).map(|_| ()).map_err(write_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::ReleaseVersion;

    #[test]
    fn every_asset_is_listed_in_the_checksums_asset() {
        let dist = tempfile::tempdir().unwrap();
        let layout = BundleLayout::new(ReleaseVersion::parse("2.0.0").unwrap());
        fs::write(dist.path().join(layout.archive_name()), b"archive").unwrap();
        fs::write(dist.path().join(layout.archive_checksum_name()), b"sum").unwrap();
        let compose = dist.path().join(layout.folder_name()).join(COMPOSE_FOLDER);
        fs::create_dir_all(&compose).unwrap();
        for file in crate::layout::connected_setup_assets() {
            fs::write(compose.join(file), file).unwrap();
        }
        let out = dist.path().join("assets");
        let assets = write_release_assets(dist.path(), &layout, &out).unwrap();
        assert_eq!(assets.files.len(), 7);
        let listed = ChecksumManifest::read(&out.join(RELEASE_CHECKSUMS_ASSET)).unwrap();
        assert_eq!(listed.len(), 6);
        assert_eq!(
            listed.get(".env.example"),
            Some(&jim_checksums::Sha256Digest::of_bytes(b".env.example"))
        );
    }

    #[test]
    fn a_missing_build_output_names_the_file_and_the_build_command() {
        let dist = tempfile::tempdir().unwrap();
        let layout = BundleLayout::new(ReleaseVersion::parse("2.0.0").unwrap());
        let error = write_release_assets(dist.path(), &layout, &dist.path().join("a")).unwrap_err();
        assert!(
            error.to_string().contains("jim-release-2.0.0.tar.gz"),
            "{error}"
        );
        assert!(error.hint().unwrap().contains("jim-bundle build"));
    }
}
