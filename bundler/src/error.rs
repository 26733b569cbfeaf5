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
}
