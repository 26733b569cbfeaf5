//! The error type of this crate.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while hashing, reading, checking or signing a manifest.
///
/// Each variant carries the path or value it is about, so a message can name it.
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

    /// A line of a manifest does not follow the `sha256sum` format.
    #[error("line {line} of the checksum manifest is malformed: {reason}")]
    MalformedLine {
        /// The 1-based line number.
        line: usize,
        /// What is wrong with the line.
        reason: MalformedLine,
    },

    /// A manifest file on disk does not follow the `sha256sum` format.
    #[error("`{path}` is not a valid checksum manifest: line {line}: {reason}")]
    InvalidManifestFile {
        /// The manifest file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What is wrong with the line.
        reason: MalformedLine,
    },

    /// A text that should be a SHA-256 digest is not one.
    #[error("`{value}` is not a SHA-256 digest (64 lowercase hexadecimal characters)")]
    InvalidDigest {
        /// The text that was given.
        value: String,
    },

    /// A path cannot be listed in a manifest.
    #[error("`{path}` cannot be listed in a checksum manifest: {reason}")]
    InvalidEntryPath {
        /// The path as given.
        path: String,
        /// Why it is refused.
        reason: &'static str,
    },

    /// The same path was added to a manifest twice.
    #[error("`{path}` is listed twice in the checksum manifest")]
    DuplicateEntry {
        /// The repeated path.
        path: String,
    },

    /// A directory walk met something that is neither a regular file nor a folder.
    #[error("`{path}` is a symbolic link or special file; a bundle holds only regular files")]
    NotRegularFile {
        /// The offending entry.
        path: PathBuf,
    },

    /// A file name is not valid UTF-8 and so cannot be written into a manifest.
    #[error("the name of `{path}` is not valid UTF-8")]
    NonUtf8Path {
        /// The offending path, shown lossily.
        path: PathBuf,
    },

    /// A key pair could not be generated.
    #[error("cannot generate a signing key pair: {reason}")]
    KeyGeneration {
        /// The signing library's reason.
        reason: String,
    },

    /// A public key text is not a minisign public key.
    #[error("invalid minisign public key: {reason}")]
    InvalidPublicKey {
        /// The signing library's reason.
        reason: String,
    },

    /// A secret key text is not a minisign secret key, or the password is wrong.
    #[error("cannot open the minisign secret key: {reason}")]
    InvalidSecretKey {
        /// The signing library's reason.
        reason: String,
    },

    /// Signing failed.
    #[error("cannot sign the checksum manifest: {reason}")]
    Signing {
        /// The signing library's reason.
        reason: String,
    },

    /// A signature text is not a minisign signature.
    #[error("invalid minisign signature: {reason}")]
    InvalidSignature {
        /// The signing library's reason.
        reason: String,
    },

    /// The signature does not match the data or the public key.
    #[error("the signature does not verify: {reason}")]
    SignatureMismatch {
        /// The signing library's reason.
        reason: String,
    },
}

/// Why one line of a manifest was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MalformedLine {
    /// The line is empty.
    #[error("empty line")]
    Empty,

    /// The line ends with a carriage return (a CRLF file); the format uses LF alone.
    #[error("carriage return at the end (CRLF line ending); the format uses LF")]
    CarriageReturn,

    /// The line is not valid UTF-8.
    #[error("not valid UTF-8")]
    NotUtf8,

    /// The line starts with `\`, the `sha256sum` marker for escaped file names.
    #[error("escaped file names (a line starting with `\\`) are not supported")]
    EscapedFileName,

    /// The line does not start with 64 lowercase hexadecimal characters.
    #[error("does not start with a SHA-256 digest of 64 lowercase hexadecimal characters")]
    InvalidDigest,

    /// The digest is not followed by two spaces or by a space and `*`.
    #[error("the digest must be followed by two spaces (or a space and `*`)")]
    InvalidSeparator,

    /// No path follows the separator.
    #[error("no file path after the digest")]
    MissingPath,

    /// The path is not a normal relative path inside the bundle.
    #[error("path `{path}`: {reason}")]
    InvalidPath {
        /// The path as written.
        path: String,
        /// Why it is refused.
        reason: &'static str,
    },

    /// The manifest lists itself or its signature.
    #[error("lists `{path}`, which the manifest must never list")]
    ListsManifest {
        /// The path as written.
        path: String,
    },

    /// The path was already listed on an earlier line.
    #[error("`{path}` is already listed on line {first_line}")]
    Duplicate {
        /// The repeated path.
        path: String,
        /// The line where it was first listed.
        first_line: usize,
    },
}
