//! SHA-256 hashing of files and streams, and the `checksums.sha256` manifest in the exact
//! format GNU `sha256sum` writes and `sha256sum -c` reads.
//!
//! The crate has one job: saying whether a set of files is the set that was released. It hashes
//! streams as they pass ([`HashingReader`], [`HashingWriter`]), renders and parses the manifest
//! ([`ChecksumManifest`]), builds and checks it against a directory ([`manifest_for_tree`],
//! [`verify_tree`]), and signs it in the minisign format ([`signature`]).

mod error;
mod hash;
mod manifest;
pub mod signature;
mod tree;

pub use error::{Error, MalformedLine};
pub use hash::{HashingReader, HashingWriter, Sha256Digest, sha256_file, sha256_reader};
pub use manifest::{
    ChecksumManifest, MANIFEST_FILE_NAME, SIGNATURE_FILE_NAME, validate_entry_path,
};
pub use tree::{Mismatch, TreeReport, manifest_for_tree, verify_tree};
