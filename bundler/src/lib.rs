//! Plans and builds the JIM release bundle: image tars written without a daemon, the release
//! tree, its checksums and the reproducible archive.
//!
//! [`layout`] is the one definition of the bundle's names and of `bundle.json`; it is all that
//! remains with `default-features = false`, which is how the installer depends on this crate.
//! The default `build` feature adds the rest: [`image`] writes a container image as the hybrid
//! OCI layout plus Docker `manifest.json` that `docker save` produces, [`plan`] turns the
//! command line into typed steps, [`execute`] runs them into a staging folder and renames the
//! result into place, and [`postgres`] assembles a PostgreSQL image from the host's Debian
//! packages for tests and demos.

mod error;
pub mod layout;

#[cfg(feature = "build")]
mod archive;
#[cfg(feature = "build")]
pub mod compose;
#[cfg(feature = "build")]
pub mod documents;
#[cfg(feature = "build")]
pub mod engine;
#[cfg(feature = "build")]
pub mod execute;
#[cfg(feature = "build")]
pub mod image;
#[cfg(feature = "build")]
pub mod image_archive;
#[cfg(feature = "build")]
pub mod plan;
#[cfg(feature = "build")]
pub mod postgres;
#[cfg(feature = "build")]
pub mod progress;
#[cfg(feature = "build")]
pub mod release_assets;
#[cfg(feature = "build")]
pub mod services;
#[cfg(feature = "build")]
pub mod source;
#[cfg(feature = "build")]
pub mod templates;

pub use error::Error;
