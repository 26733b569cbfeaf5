//! What the caller asks for: the options of `jim-bundle build`, parsed into checked values.

use std::path::PathBuf;

use crate::Error;
use crate::image_archive::split_tagged_reference;
use crate::layout::{ReleaseVersion, validate_image_file_name};

/// What the caller asks for: the command line of `jim-bundle build`, validated.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// The release version.
    pub version: ReleaseVersion,
    /// The repository root holding `compose-templates/`, `powershell/` and `docs/`.
    pub source: PathBuf,
    /// The folder holding the static service binaries and `jim-install`.
    pub binaries: PathBuf,
    /// The folder the bundle folder, the archive and its checksum file are written to.
    pub out: PathBuf,
    /// Prepended to the JIM image names; empty or ending in `/`.
    pub registry_prefix: String,
    /// The key to sign the checksums with, if any.
    pub signing: Option<Signing>,
    /// Images to export from the local Docker Engine.
    pub included_images: Vec<IncludedImage>,
    /// Image tars to copy.
    pub image_tars: Vec<ImageTar>,
    /// The database image's file name under `docker-images/`.
    pub database_image_file: String,
    /// Ship without a database image.
    pub no_database_image: bool,
    /// The source revision; from git when not given.
    pub revision: Option<String>,
}

/// A minisign secret key, and the file holding its password if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signing {
    /// The secret key file.
    pub secret_key: PathBuf,
    /// A file whose first line is the key's password.
    pub password_file: Option<PathBuf>,
}

/// `--include-image REF[=FILE_NAME]`: an image exported from the Docker Engine by its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncludedImage {
    /// The tagged reference, such as `postgres:18`.
    pub reference: String,
    /// The file name under `docker-images/`.
    pub file_name: String,
}

impl IncludedImage {
    /// Parses `REF` or `REF=FILE_NAME`. Without a file name, the last name component and the
    /// tag make one: `postgres:18` becomes `postgres-18.tar`.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidArgument {
            option: "--include-image",
            value: text.to_owned(),
            reason: reason.to_owned(),
        };
        let (reference, file_name) = match text.split_once('=') {
            Some((reference, file_name)) => (reference, Some(file_name)),
            None => (text, None),
        };
        let (name, tag) = split_tagged_reference(reference).map_err(invalid)?;
        let file_name = match file_name {
            Some(file_name) => with_tar_extension(file_name),
            None => {
                let last = name.rsplit('/').next().unwrap_or(name);
                format!("{last}-{tag}.tar")
            }
        };
        validate_image_file_name(&file_name).map_err(invalid)?;
        Ok(Self {
            reference: reference.to_owned(),
            file_name,
        })
    }
}

/// `--image-tar NAME=FILE`: an existing image tar copied into `docker-images/NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageTar {
    /// The file name under `docker-images/`.
    pub file_name: String,
    /// The tar to copy.
    pub source: PathBuf,
}

impl ImageTar {
    /// Parses `NAME=FILE`.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidArgument {
            option: "--image-tar",
            value: text.to_owned(),
            reason: reason.to_owned(),
        };
        let (name, file) = text
            .split_once('=')
            .filter(|(name, file)| !name.is_empty() && !file.is_empty())
            .ok_or_else(|| invalid("expected NAME=FILE, such as postgres-18.tar=./postgres.tar"))?;
        let file_name = with_tar_extension(name);
        validate_image_file_name(&file_name).map_err(invalid)?;
        Ok(Self {
            file_name,
            source: PathBuf::from(file),
        })
    }
}

/// Adds `.tar` to a file name that lacks it.
fn with_tar_extension(name: &str) -> String {
    if name.ends_with(".tar") {
        name.to_owned()
    } else {
        format!("{name}.tar")
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn included_images_get_a_file_name_from_their_tag() {
        let image = IncludedImage::parse("postgres:18").unwrap();
        assert_eq!(image.file_name, "postgres-18.tar");
        let image = IncludedImage::parse("registry.local:5000/jim/pg:15-debian=db").unwrap();
        assert_eq!(image.reference, "registry.local:5000/jim/pg:15-debian");
        assert_eq!(image.file_name, "db.tar");
        for bad in ["postgres", "postgres@sha256:00", "postgres:18=../x.tar"] {
            let error = IncludedImage::parse(bad).unwrap_err();
            assert!(error.to_string().contains("--include-image"), "{error}");
        }
    }

    #[test]
    fn image_tars_need_a_name_and_a_file() {
        let tar = ImageTar::parse("postgres-18=/tmp/pg.tar").unwrap();
        assert_eq!(tar.file_name, "postgres-18.tar");
        assert_eq!(tar.source, Path::new("/tmp/pg.tar"));
        assert!(ImageTar::parse("/tmp/pg.tar").is_err());
        assert!(ImageTar::parse("=x").is_err());
    }
}
