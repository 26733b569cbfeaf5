//! Plans and builds the JIM release bundle: image tars written without a daemon, the release
//! tree, its checksums and the reproducible archive.
//!
//! Each module has one step of that path. [`image`] writes a container image as the hybrid
//! OCI layout plus Docker `manifest.json` that `docker save` produces, from a static binary
//! or from a whole root filesystem folder, byte for byte reproducibly.

mod error;
pub mod image;

pub use error::Error;
