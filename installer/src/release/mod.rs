//! Connected hosts: find a release on a release server with GitHub's releases API shape (or an
//! internal mirror of it), download its assets and check them against the checksums the
//! release publishes.
//!
//! [`client`] builds the HTTP client (rustls, proxies from the environment, an extra CA, the
//! token), [`api`] finds the release and its assets, [`download`] fetches them: small files
//! into memory, the bundle resumably into a `.part` file.

pub mod api;
pub mod client;
pub mod download;
mod error;

pub use api::{
    Asset, DEFAULT_RELEASE_URL, DEFAULT_REPOSITORY, Release, ReleaseSource, find_release,
};
pub use client::{ClientSettings, ReleaseClient, USER_AGENT};
pub use download::{ReleaseChecksums, RetryPolicy};
pub use error::ReleaseError;
