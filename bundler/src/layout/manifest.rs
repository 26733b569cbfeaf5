//! `bundle.json`: the manifest inside every bundle that tells the installer what it holds,
//! so that nothing is guessed from file names.

use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{
    BUNDLE_FORMAT, BUNDLE_MANIFEST_FILE, COMPOSE_FILES, COMPOSE_FOLDER, DATABASE_PROFILE,
    ENV_TEMPLATE_FILE, IMAGES_FOLDER, INSTALLER_FILE, ReleaseVersion, Service,
    validate_image_file_name,
};
use crate::Error;

/// What an image in the bundle is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImageRole {
    /// A JIM service image, written by the bundler.
    Service(Service),
    /// The bundled PostgreSQL (compose profile `with-db`).
    Database,
    /// Any other image included on request.
    Extra,
}

/// One image tar of the bundle, as `bundle.json` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageEntry {
    /// The bundle path of the tar, such as `docker-images/jim-web.tar`.
    pub file: String,
    /// The reference the image carries after `docker load`, such as `jim-web:0.1.0`.
    pub reference: String,
    /// The image id (`sha256:` and the config digest), as `docker image inspect` shows it.
    pub image_id: String,
    /// The tar's size in bytes.
    pub size: u64,
    /// What the image is for.
    pub role: ImageRole,
}

/// The compose files of the bundle, as `bundle.json` lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComposeEntry {
    /// The folder holding them, relative to the bundle root.
    pub folder: String,
    /// The compose files, in the order they are passed with `-f`.
    pub files: Vec<String>,
    /// The environment template that becomes `.env`.
    pub env_template: String,
    /// The profile that starts the bundled database.
    pub database_profile: String,
}

impl Default for ComposeEntry {
    fn default() -> Self {
        Self {
            folder: COMPOSE_FOLDER.to_owned(),
            files: COMPOSE_FILES.map(String::from).to_vec(),
            env_template: ENV_TEMPLATE_FILE.to_owned(),
            database_profile: DATABASE_PROFILE.to_owned(),
        }
    }
}

/// The signature of a signed bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureEntry {
    /// The signature file, relative to the bundle root.
    pub file: String,
    /// The minisign key id of the signing key (16 uppercase hexadecimal digits).
    pub key_id: String,
}

/// `bundle.json`: what the bundle holds, so the installer loads and configures without
/// guessing. It is listed in `checksums.sha256` like every other file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleManifest {
    /// The format of this file; see [`BUNDLE_FORMAT`].
    pub format: u32,
    /// The release version.
    pub version: ReleaseVersion,
    /// The source revision the release was built from.
    pub revision: String,
    /// The creation time of the images and files, RFC 3339.
    pub created: String,
    /// The prefix of the JIM image names (the compose files' `DOCKER_REGISTRY`); usually empty.
    pub registry_prefix: String,
    /// The installer binary, relative to the bundle root.
    pub installer: String,
    /// Every image tar, services first, then the database, then the others.
    pub images: Vec<ImageEntry>,
    /// Whether a database image is included. When false, the stack needs a PostgreSQL of the
    /// site's own and must be started without the `with-db` profile.
    pub includes_database_image: bool,
    /// The compose files.
    pub compose: ComposeEntry,
    /// The signature, when the bundle is signed.
    pub signature: Option<SignatureEntry>,
}

impl BundleManifest {
    /// The entry of the database image, when there is one.
    pub fn database_image(&self) -> Option<&ImageEntry> {
        self.images
            .iter()
            .find(|image| image.role == ImageRole::Database)
    }

    /// The entry of a service's image.
    pub fn service_image(&self, service: Service) -> Option<&ImageEntry> {
        self.images
            .iter()
            .find(|image| image.role == ImageRole::Service(service))
    }

    /// The manifest as written to `bundle.json`: pretty JSON with a final newline.
    pub fn to_json(&self) -> Result<String, Error> {
        let mut text = serde_json::to_string_pretty(self).map_err(|source| Error::Serialize {
            document: "bundle manifest",
            source,
        })?;
        text.push('\n');
        Ok(text)
    }

    /// Reads `bundle.json` from a bundle folder and checks that every path it names stays in
    /// the layout.
    pub fn read(bundle_root: &Path) -> Result<Self, Error> {
        let path = bundle_root.join(BUNDLE_MANIFEST_FILE);
        let text = fs::read(&path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        Self::parse(&text, &path)
    }

    /// Parses `bundle.json` text; `path` names it in errors.
    pub fn parse(text: &[u8], path: &Path) -> Result<Self, Error> {
        // The format number is read first, so that a newer format is reported as such rather
        // than as a field this code does not know.
        #[derive(Deserialize)]
        struct FormatOnly {
            format: u32,
        }
        let invalid = |source| Error::InvalidBundleManifest {
            path: path.to_owned(),
            source,
        };
        let format: FormatOnly = serde_json::from_slice(text).map_err(invalid)?;
        if format.format != BUNDLE_FORMAT {
            return Err(Error::UnsupportedBundleFormat {
                path: path.to_owned(),
                found: format.format,
                supported: BUNDLE_FORMAT,
            });
        }
        let manifest: Self = serde_json::from_slice(text).map_err(invalid)?;
        manifest.validate(path)?;
        Ok(manifest)
    }

    /// Checks that the images live in `docker-images/`, that there is at most one database
    /// image and that `includes_database_image` agrees.
    fn validate(&self, path: &Path) -> Result<(), Error> {
        let refuse = |value: &str, reason| Error::InvalidBundleEntry {
            path: path.to_owned(),
            value: value.to_owned(),
            reason,
        };
        for image in &self.images {
            let file = image
                .file
                .strip_prefix(&format!("{IMAGES_FOLDER}/"))
                .ok_or_else(|| refuse(&image.file, "images live in `docker-images/`"))?;
            validate_image_file_name(file).map_err(|reason| refuse(&image.file, reason))?;
        }
        let databases = self
            .images
            .iter()
            .filter(|image| image.role == ImageRole::Database)
            .count();
        if databases > 1 || (databases == 1) != self.includes_database_image {
            return Err(refuse(
                "includes_database_image",
                "it must be true with exactly one database image and false with none",
            ));
        }
        if self.installer != INSTALLER_FILE {
            return Err(refuse(
                &self.installer,
                "the installer is `jim-install` at the root",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> BundleManifest {
        BundleManifest {
            format: BUNDLE_FORMAT,
            version: ReleaseVersion::parse("1.2.3").unwrap(),
            revision: "abc".into(),
            created: "2026-01-01T00:00:00Z".into(),
            registry_prefix: String::new(),
            installer: INSTALLER_FILE.into(),
            images: vec![
                ImageEntry {
                    file: "docker-images/jim-web.tar".into(),
                    reference: "jim-web:1.2.3".into(),
                    image_id: "sha256:00".into(),
                    size: 10,
                    role: ImageRole::Service(Service::Web),
                },
                ImageEntry {
                    file: "docker-images/postgres-18.tar".into(),
                    reference: "postgres:18".into(),
                    image_id: "sha256:11".into(),
                    size: 20,
                    role: ImageRole::Database,
                },
            ],
            includes_database_image: true,
            compose: ComposeEntry::default(),
            signature: None,
        }
    }

    #[test]
    fn manifest_round_trips_through_json() {
        let manifest = manifest();
        let text = manifest.to_json().unwrap();
        assert!(text.contains("\"role\": \"database\""), "{text}");
        assert!(
            text.contains("\"role\": {\n        \"service\": \"web\""),
            "{text}"
        );
        let parsed = BundleManifest::parse(text.as_bytes(), Path::new("bundle.json")).unwrap();
        assert_eq!(parsed, manifest);
        assert_eq!(parsed.database_image().unwrap().reference, "postgres:18");
        assert_eq!(parsed.service_image(Service::Web).unwrap().size, 10);
        assert!(parsed.service_image(Service::Worker).is_none());
    }

    #[test]
    fn manifest_refuses_paths_outside_the_layout_and_newer_formats() {
        let mut escaping = manifest();
        escaping.images[0].file = "docker-images/../../etc/passwd.tar".into();
        let mut disagreeing = manifest();
        disagreeing.includes_database_image = false;
        for manifest in [escaping, disagreeing] {
            let text = manifest.to_json().unwrap();
            let error = BundleManifest::parse(text.as_bytes(), Path::new("b.json")).unwrap_err();
            assert!(matches!(error, Error::InvalidBundleEntry { .. }), "{error}");
        }

        let mut newer = manifest();
        newer.format = BUNDLE_FORMAT + 1;
        let text = newer.to_json().unwrap();
        let error = BundleManifest::parse(text.as_bytes(), Path::new("b.json")).unwrap_err();
        assert!(
            matches!(error, Error::UnsupportedBundleFormat { found: 2, .. }),
            "{error}"
        );
    }
}
