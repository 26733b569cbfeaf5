//! The error type of this crate.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while building bundle parts. Each variant names the path or
/// value it is about.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or folder could not be read.
    #[error("cannot read `{path}`")]
    Read {
        /// The file or folder that failed.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },

    /// A file could not be written.
    #[error("cannot write `{path}`")]
    Write {
        /// The file that failed.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },

    /// A value in an image specification is not acceptable.
    #[error("invalid image {field} `{value}`: {reason}")]
    InvalidImageSpec {
        /// Which field of the specification.
        field: &'static str,
        /// The value given.
        value: String,
        /// Why it is refused.
        reason: String,
    },

    /// `SOURCE_DATE_EPOCH` (or another creation time) is not a usable Unix time.
    #[error("invalid creation time `{value}`: expected whole seconds since 1970-01-01 UTC")]
    InvalidCreatedTime {
        /// The value given.
        value: String,
    },

    /// Two inputs want the same path in an image, or one needs a folder where a file is.
    #[error("conflicting image path `{path}`: {reason}")]
    ConflictingImagePath {
        /// The path inside the image.
        path: String,
        /// What collides.
        reason: &'static str,
    },

    /// A root filesystem folder holds something a layer cannot carry (a socket, a device).
    #[error("`{path}` is a socket, device or pipe, which an image layer cannot carry")]
    UnsupportedFileType {
        /// The offending entry.
        path: PathBuf,
    },

    /// A file name is not valid UTF-8.
    #[error("the name of `{path}` is not valid UTF-8")]
    NonUtf8Path {
        /// The offending path, shown lossily.
        path: PathBuf,
    },

    /// A source file changed size while it was being copied into a layer.
    #[error(
        "`{path}` changed while it was being written into the image (expected {expected} bytes)"
    )]
    SourceChanged {
        /// The source file.
        path: PathBuf,
        /// The size it had when the copy started.
        expected: u64,
    },

    /// A document of the image could not be serialised.
    #[error("cannot serialise the image {document}")]
    Serialize {
        /// Which document (config, manifest, index).
        document: &'static str,
        /// The serialiser's reason.
        #[source]
        source: serde_json::Error,
    },

    /// A release version is not `MAJOR.MINOR.PATCH` with an optional pre-release.
    #[error("invalid release version `{value}`: {reason}")]
    InvalidVersion {
        /// The value given.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },

    /// A `bundle.json` cannot be parsed.
    #[error("`{path}` is not a valid bundle manifest")]
    InvalidBundleManifest {
        /// The manifest file.
        path: PathBuf,
        /// The parser's reason.
        #[source]
        source: serde_json::Error,
    },

    /// A `bundle.json` was written by a newer bundler than this code understands.
    #[error("`{path}` has bundle format {found}, but only format {supported} is understood")]
    UnsupportedBundleFormat {
        /// The manifest file.
        path: PathBuf,
        /// The format number found.
        found: u32,
        /// The format number this code reads.
        supported: u32,
    },

    /// A `bundle.json` names something outside the layout (a path that escapes the bundle, a
    /// second database image).
    #[error("`{path}` names `{value}`, which the bundle layout does not allow: {reason}")]
    InvalidBundleEntry {
        /// The manifest file.
        path: PathBuf,
        /// The offending value.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },

    /// A command-line value has the wrong shape.
    #[error("invalid value `{value}` for `{option}`: {reason}")]
    InvalidArgument {
        /// The option, such as `--image-tar`.
        option: &'static str,
        /// The value given.
        value: String,
        /// Why it is refused.
        reason: String,
    },

    /// A file the bundle needs from the build is not there.
    #[error("missing {what} `{path}`")]
    MissingInput {
        /// What the file is, such as "service binary" or "compose file".
        what: &'static str,
        /// Where it was looked for.
        path: PathBuf,
        /// The next action for the user.
        hint: String,
    },

    /// No creation time could be found for a reproducible build.
    #[error("no creation time for the images: `SOURCE_DATE_EPOCH` is unset and {reason}")]
    NoSourceDateEpoch {
        /// Why the git commit time could not be used either.
        reason: String,
    },

    /// An external program failed or could not be started.
    #[error("`{command}` failed: {reason}")]
    CommandFailed {
        /// The command line, shortened to the program and its main arguments.
        command: String,
        /// Its exit status and error output, or why it did not start.
        reason: String,
    },

    /// The Docker Engine does not answer.
    #[error("cannot reach the Docker Engine at `{endpoint}`")]
    EngineUnreachable {
        /// `DOCKER_HOST`, or the default socket.
        endpoint: String,
        /// The client's reason.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The Docker Engine could not export an image.
    #[error("cannot export image `{reference}` from the Docker Engine")]
    EngineExport {
        /// The image reference asked for.
        reference: String,
        /// The engine's or the client's reason.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// An image tar is not one that `docker load` can tag.
    #[error("`{path}` is not a tagged image archive: {reason}")]
    InvalidImageArchive {
        /// The tar file.
        path: PathBuf,
        /// What is missing or wrong.
        reason: String,
    },

    /// Two images would be written to the same file of the bundle.
    #[error("two images would be written to `{file}`")]
    DuplicateImageFile {
        /// The file name under `docker-images/`.
        file: String,
    },

    /// The bundle has no database image and `--no-database-image` was not given.
    #[error("no database image: nothing is written to `docker-images/{file}`")]
    NoDatabaseImage {
        /// The database image file name expected.
        file: String,
    },

    /// Images that the compose files name are not in the bundle.
    #[error("the compose files name images that the bundle does not contain: {}", missing.join(", "))]
    ComposeImagesMissing {
        /// The missing references, with the variables substituted.
        missing: Vec<String>,
        /// What the bundle does contain.
        present: Vec<String>,
    },

    /// A compose file cannot be read as YAML or has an unexpected shape.
    #[error("cannot read the images of compose file `{path}`: {reason}")]
    InvalidComposeFile {
        /// The compose file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// A template file lacks the line the bundler must rewrite.
    #[error("`{path}` has no line starting with `{prefix}` to set to the release value")]
    TemplateLineMissing {
        /// The template file.
        path: PathBuf,
        /// The start of the line looked for.
        prefix: &'static str,
    },

    /// The host has no PostgreSQL installation to build the database image from.
    #[error("PostgreSQL {major} is not installed at `{path}`")]
    PostgresNotInstalled {
        /// The major version asked for.
        major: u32,
        /// Where its binaries were looked for.
        path: PathBuf,
    },

    /// Hashing, manifest or signature work of the checksum crate failed.
    #[error(transparent)]
    Checksums(#[from] jim_checksums::Error),
}

impl Error {
    /// The next action that fixes the error, when there is a useful one. Printed after the
    /// error as `hint: ...`.
    pub fn hint(&self) -> Option<String> {
        let text = match self {
            Error::InvalidVersion { .. } => {
                "give the version as MAJOR.MINOR.PATCH, optionally with a pre-release such as \
                 `1.2.0-rc.1`"
                    .to_owned()
            }
            Error::UnsupportedBundleFormat { .. } => {
                "use the installer that came in the same bundle".to_owned()
            }
            Error::InvalidBundleManifest { .. } | Error::InvalidBundleEntry { .. } => {
                "copy the bundle again from the source media and verify its checksums".to_owned()
            }
            Error::MissingInput { hint, .. } => hint.clone(),
            Error::NoSourceDateEpoch { .. } => {
                "set SOURCE_DATE_EPOCH to the release's time in seconds, for example \
                 `SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)`, or build from a git checkout"
                    .to_owned()
            }
            Error::EngineUnreachable { .. } => {
                "start the Docker Engine or point DOCKER_HOST at it; or save the image on a \
                 machine that has it (`docker save -o FILE REF`) and pass `--image-tar NAME=FILE`"
                    .to_owned()
            }
            Error::EngineExport { reference, .. } => format!(
                "check that the engine holds the image by that tag: `docker image ls {reference}`"
            ),
            Error::InvalidImageArchive { .. } => {
                "write the archive with `docker save -o FILE NAME:TAG`, naming the image by its \
                 tag (an image saved by digest or by id loads without a name)"
                    .to_owned()
            }
            Error::DuplicateImageFile { .. } => {
                "give each image its own file name with `REF=FILE_NAME` or `NAME=FILE`".to_owned()
            }
            Error::NoDatabaseImage { file } => format!(
                "add the database image with `--include-image postgres:18={file}` or \
                 `--image-tar {file}=FILE`, or pass `--no-database-image` to ship without one"
            ),
            Error::ComposeImagesMissing { present, .. } => format!(
                "add the missing images with `--include-image` or `--image-tar`; the bundle \
                 holds: {}",
                present.join(", ")
            ),
            Error::Checksums(jim_checksums::Error::InvalidSecretKey { .. }) => {
                "check that the file is a minisign secret key (`jim-bundle keygen` writes one); \
                 a key protected by a password needs `--password-file FILE`"
                    .to_owned()
            }
            Error::PostgresNotInstalled { major, .. } => {
                format!(
                    "install Debian's PostgreSQL packages: `apt-get install postgresql-{major}`"
                )
            }
            _ => return None,
        };
        Some(text)
    }

    /// Whether the error comes from how the command was called or from the machine it runs on
    /// (a missing input, an unreachable engine), rather than from the build itself failing.
    pub fn is_usage_or_environment(&self) -> bool {
        matches!(
            self,
            Error::InvalidVersion { .. }
                | Error::InvalidArgument { .. }
                | Error::MissingInput { .. }
                | Error::NoSourceDateEpoch { .. }
                | Error::EngineUnreachable { .. }
                | Error::NoDatabaseImage { .. }
                | Error::DuplicateImageFile { .. }
                | Error::PostgresNotInstalled { .. }
                | Error::Checksums(jim_checksums::Error::InvalidSecretKey { .. })
        )
    }
}
