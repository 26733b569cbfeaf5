//! The one definition of what a release bundle looks like: its folder and file names, and the
//! `bundle.json` manifest inside it. The bundler writes bundles with it; the installer reads
//! them with it, so neither guesses a name the other chose.
//!
//! ```text
//! jim-release-X.Y.Z/
//! ├── checksums.sha256            sha256sum format, over every other file
//! ├── checksums.sha256.minisig    minisign signature of checksums.sha256 (signed bundles)
//! ├── bundle.json                 BundleManifest: version, images, compose files
//! ├── VERSION
//! ├── README.txt
//! ├── jim-install                 static installer binary
//! ├── docker-images/{jim-web,jim-worker,jim-scheduler}.tar and the database image
//! ├── compose/{docker-compose.yml, docker-compose.production.yml,
//! │            docker-compose.override.yml, .env.example}
//! ├── powershell/JIM/
//! └── docs/{README.md, CHANGELOG.md, INSTALL.md, CONFIGURATION.md, UPGRADING.md, API.md,
//!          KNOWN-LIMITATIONS.md}
//! ```
//!
//! This module needs only `serde`, `serde_json` and the checksum crate's file names. Build the
//! crate with `default-features = false` to get it without the bundle-building machinery.
//! Paths inside a bundle are written as `/`-separated strings relative to the bundle root,
//! which is also how `checksums.sha256` names them.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;

mod manifest;
mod release;

pub use manifest::{BundleManifest, ComposeEntry, ImageEntry, ImageRole, SignatureEntry};
pub use release::{
    RELEASE_CHECKSUMS_ASSET, RENAMED_ENV_TEMPLATE_ASSET, asset_aliases, connected_setup_assets,
};

/// The start of the bundle folder and archive names: `jim-release-X.Y.Z`.
pub const RELEASE_NAME_PREFIX: &str = "jim-release-";
/// The checksum manifest at the bundle root.
pub const CHECKSUMS_FILE: &str = jim_checksums::MANIFEST_FILE_NAME;
/// The minisign signature of the checksum manifest, at the bundle root.
pub const SIGNATURE_FILE: &str = jim_checksums::SIGNATURE_FILE_NAME;
/// The bundle manifest at the bundle root.
pub const BUNDLE_MANIFEST_FILE: &str = "bundle.json";
/// The installer binary at the bundle root.
pub const INSTALLER_FILE: &str = "jim-install";
/// A text file holding the release version and a newline.
pub const VERSION_FILE: &str = "VERSION";
/// The short quick start at the bundle root.
pub const README_FILE: &str = "README.txt";
/// The folder of image tars.
pub const IMAGES_FOLDER: &str = "docker-images";
/// The folder of compose files.
pub const COMPOSE_FOLDER: &str = "compose";
/// The PowerShell module folder.
pub const POWERSHELL_MODULE_FOLDER: &str = "powershell/JIM";
/// The manifest of the PowerShell module, whose `ModuleVersion` is the release version.
pub const POWERSHELL_MODULE_MANIFEST: &str = "JIM.psd1";
/// The documentation folder.
pub const DOCS_FOLDER: &str = "docs";
/// The installation guide, written by the bundler for the air-gapped administrator.
pub const INSTALL_GUIDE_FILE: &str = "INSTALL.md";
/// The database image's file name unless another is chosen.
pub const DEFAULT_DATABASE_IMAGE_FILE: &str = "postgres-18.tar";
/// The extension of the release archive.
pub const ARCHIVE_EXTENSION: &str = ".tar.gz";
/// The extension of the archive's checksum file, beside the archive.
pub const ARCHIVE_CHECKSUM_EXTENSION: &str = ".tar.gz.sha256";

/// The compose files shipped in `compose/`, in the order they are passed with `-f`. The
/// development file is never shipped.
pub const COMPOSE_FILES: [&str; 3] = [
    "docker-compose.yml",
    "docker-compose.production.yml",
    "docker-compose.override.yml",
];
/// The environment template in `compose/`, which becomes `.env`.
pub const ENV_TEMPLATE_FILE: &str = ".env.example";
/// The compose profile that starts the bundled database.
pub const DATABASE_PROFILE: &str = "with-db";
/// The documents copied as they are from the source tree's `docs/` into the bundle's; the
/// bundler writes `README.md` and `INSTALL.md` beside them.
pub const COPIED_DOCS: [&str; 5] = [
    "CHANGELOG.md",
    "CONFIGURATION.md",
    "UPGRADING.md",
    "API.md",
    "KNOWN-LIMITATIONS.md",
];

/// The version of the `bundle.json` format this code writes and reads.
pub const BUNDLE_FORMAT: u32 = 1;

/// The JIM services, each shipped as an image built from its binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Service {
    /// `jim.web`: the UI and the REST API.
    Web,
    /// `jim.worker`: imports, synchronisation and exports; migrates the database.
    Worker,
    /// `jim.scheduler`: starts runs on their schedules.
    Scheduler,
}

impl Service {
    /// Every service, in the order the bundle lists them.
    pub const ALL: [Service; 3] = [Service::Web, Service::Worker, Service::Scheduler];

    /// The binary and image name, such as `jim-web`.
    pub fn name(self) -> &'static str {
        match self {
            Service::Web => "jim-web",
            Service::Worker => "jim-worker",
            Service::Scheduler => "jim-scheduler",
        }
    }

    /// The compose service name, such as `jim.web`.
    pub fn compose_service(self) -> &'static str {
        match self {
            Service::Web => "jim.web",
            Service::Worker => "jim.worker",
            Service::Scheduler => "jim.scheduler",
        }
    }

    /// The image tar's file name under `docker-images/`, such as `jim-web.tar`.
    pub fn image_file(self) -> String {
        format!("{}.tar", self.name())
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A release version: `MAJOR.MINOR.PATCH`, optionally followed by `-` and a pre-release of
/// letters, digits, `.` and `-`. It is also the tag of the service images, so it stays within
/// what an image tag allows (no `+build` part).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReleaseVersion(String);

impl ReleaseVersion {
    /// Checks and wraps a version text.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let invalid = |reason| Error::InvalidVersion {
            value: text.to_owned(),
            reason,
        };
        let (core, pre_release) = match text.split_once('-') {
            Some((core, pre_release)) => (core, Some(pre_release)),
            None => (text, None),
        };
        let numbers: Vec<&str> = core.split('.').collect();
        if numbers.len() != 3 {
            return Err(invalid("expected three numbers separated by dots"));
        }
        for number in numbers {
            if number.is_empty() || !number.bytes().all(|byte| byte.is_ascii_digit()) {
                return Err(invalid("each of MAJOR, MINOR and PATCH must be a number"));
            }
            if number.len() > 1 && number.starts_with('0') {
                return Err(invalid("numbers must not have leading zeros"));
            }
        }
        if let Some(pre_release) = pre_release {
            let allowed = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'.' || byte == b'-';
            if pre_release.is_empty() || !pre_release.bytes().all(allowed) {
                return Err(invalid(
                    "the pre-release after `-` may hold only letters, digits, `.` and `-`",
                ));
            }
        }
        // An image tag is at most 128 characters.
        if text.len() > 128 {
            return Err(invalid(
                "longer than the 128 characters an image tag allows",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// The version text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReleaseVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ReleaseVersion {
    type Error = Error;

    fn try_from(text: String) -> Result<Self, Error> {
        Self::parse(&text)
    }
}

impl From<ReleaseVersion> for String {
    fn from(version: ReleaseVersion) -> String {
        version.0
    }
}

/// The names of one release's bundle: everything that depends on the version or on the
/// chosen database image file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleLayout {
    version: ReleaseVersion,
    database_image_file: String,
}

impl BundleLayout {
    /// The layout of a release with the default database image file name.
    pub fn new(version: ReleaseVersion) -> Self {
        Self {
            version,
            database_image_file: DEFAULT_DATABASE_IMAGE_FILE.to_owned(),
        }
    }

    /// The same layout with another database image file name, such as `postgres-17.tar`.
    pub fn with_database_image_file(mut self, file: &str) -> Result<Self, Error> {
        validate_image_file_name(file).map_err(|reason| Error::InvalidArgument {
            option: "--database-image-name",
            value: file.to_owned(),
            reason: reason.to_owned(),
        })?;
        self.database_image_file = file.to_owned();
        Ok(self)
    }

    /// The release version.
    pub fn version(&self) -> &ReleaseVersion {
        &self.version
    }

    /// The bundle folder's name, which is also the archive's single top folder:
    /// `jim-release-X.Y.Z`.
    pub fn folder_name(&self) -> String {
        format!("{RELEASE_NAME_PREFIX}{}", self.version)
    }

    /// The archive's file name: `jim-release-X.Y.Z.tar.gz`.
    pub fn archive_name(&self) -> String {
        format!("{}{ARCHIVE_EXTENSION}", self.folder_name())
    }

    /// The archive's checksum file name: `jim-release-X.Y.Z.tar.gz.sha256`.
    pub fn archive_checksum_name(&self) -> String {
        format!("{}{ARCHIVE_CHECKSUM_EXTENSION}", self.folder_name())
    }

    /// The database image's file name under `docker-images/`.
    pub fn database_image_file(&self) -> &str {
        &self.database_image_file
    }

    /// The bundle path of an image file: `docker-images/<file>`.
    pub fn image_path(file: &str) -> String {
        format!("{IMAGES_FOLDER}/{file}")
    }

    /// The bundle path of a service's image tar.
    pub fn service_image_path(service: Service) -> String {
        Self::image_path(&service.image_file())
    }

    /// The bundle path of the database image tar.
    pub fn database_image_path(&self) -> String {
        Self::image_path(&self.database_image_file)
    }

    /// The bundle path of a compose file or of the environment template.
    pub fn compose_path(file: &str) -> String {
        format!("{COMPOSE_FOLDER}/{file}")
    }

    /// The bundle path of a document.
    pub fn docs_path(file: &str) -> String {
        format!("{DOCS_FOLDER}/{file}")
    }

    /// A bundle path as a path on disk under `root`.
    pub fn resolve(root: &Path, bundle_path: &str) -> PathBuf {
        bundle_path
            .split('/')
            .fold(root.to_path_buf(), |path, part| path.join(part))
    }
}

/// Checks a file name for `docker-images/`: one plain name ending in `.tar`.
pub fn validate_image_file_name(file: &str) -> Result<(), &'static str> {
    let stem = file
        .strip_suffix(".tar")
        .ok_or("an image file name must end with `.tar`")?;
    let allowed = |byte: u8| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b'_');
    if stem.is_empty() || stem.starts_with('.') || !stem.bytes().all(allowed) {
        return Err(
            "an image file name may hold only letters, digits, `.`, `-` and `_`, \
                    and must not start with `.`",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_follow_the_release_scheme() {
        for good in ["0.1.0", "10.20.30", "1.2.0-rc.1", "1.0.0-test-1"] {
            assert_eq!(ReleaseVersion::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "1.2",
            "1.2.3.4",
            "v1.2.3",
            "01.2.3",
            "1.2.3-",
            "1.2.3+build",
            "1.2.x",
            "",
        ] {
            let error = ReleaseVersion::parse(bad).unwrap_err();
            assert!(error.to_string().contains(&format!("`{bad}`")), "{error}");
        }
    }

    #[test]
    fn names_follow_the_version() {
        let layout = BundleLayout::new(ReleaseVersion::parse("0.3.1").unwrap());
        assert_eq!(layout.folder_name(), "jim-release-0.3.1");
        assert_eq!(layout.archive_name(), "jim-release-0.3.1.tar.gz");
        assert_eq!(
            layout.archive_checksum_name(),
            "jim-release-0.3.1.tar.gz.sha256"
        );
        assert_eq!(
            layout.database_image_path(),
            "docker-images/postgres-18.tar"
        );
        assert_eq!(
            BundleLayout::service_image_path(Service::Scheduler),
            "docker-images/jim-scheduler.tar"
        );
        let layout = layout.with_database_image_file("db.tar").unwrap();
        assert_eq!(layout.database_image_path(), "docker-images/db.tar");
        assert!(
            layout
                .clone()
                .with_database_image_file("../db.tar")
                .is_err()
        );
        assert!(layout.with_database_image_file("db.tgz").is_err());
        assert_eq!(
            BundleLayout::resolve(Path::new("/b"), "compose/.env.example"),
            Path::new("/b/compose/.env.example")
        );
    }
}
