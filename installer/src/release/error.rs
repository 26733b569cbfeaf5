//! What can go wrong talking to a release server. Every message ends with a `hint:` line that
//! says what to do next.

use std::path::PathBuf;

/// A failure of the release lookup or of a download.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error(
        "invalid release server URL `{value}`: {reason}\nhint: give the API base such as \
         https://api.github.com, or an internal mirror's http(s)://host[:port][/path]"
    )]
    InvalidUrl { value: String, reason: String },

    #[error(
        "invalid repository `{value}`: expected OWNER/NAME\nhint: pass --repository OWNER/NAME \
         (or set JIM_RELEASE_REPOSITORY)"
    )]
    InvalidRepository { value: String },

    #[error(
        "cannot use the CA file `{path}`: {reason}\nhint: give a PEM file holding the \
         certificate of the CA that signs the server's (or the TLS inspection proxy's) certificate"
    )]
    CaFile { path: PathBuf, reason: String },

    #[error("cannot set up the HTTP client: {reason}\nhint: report this as a bug")]
    Client { reason: String },

    #[error(
        "the TLS certificate of `{url}` is not trusted: {reason}\nhint: if your network inspects \
         TLS, pass the inspection CA with --ca-file FILE (PEM)"
    )]
    Untrusted { url: String, reason: String },

    #[error(
        "cannot connect to `{url}`: {reason}\nhint: check the network and the URL; behind a proxy \
         set HTTPS_PROXY (and NO_PROXY for internal hosts)"
    )]
    Connect { url: String, reason: String },

    #[error(
        "the connection to `{url}` was cut after {received} of {expected} bytes\nhint: run the \
         same command again: the download resumes from `{part}`"
    )]
    Cut {
        url: String,
        received: u64,
        expected: String,
        part: PathBuf,
    },

    #[error(
        "`{url}` was not found (404)\nhint: check --release-url and --repository{}",
        if version.is_some() { " and --version" } else { "" }
    )]
    NotFound {
        url: String,
        version: Option<String>,
    },

    #[error(
        "release {version} does not exist in `{repository}`\nhint: leave out --version for the \
         latest release, or pick one of those listed at {releases_url}"
    )]
    NoSuchVersion {
        version: String,
        repository: String,
        releases_url: String,
    },

    #[error(
        "no stable release found in `{repository}`{}\nhint: pass --version X.Y.Z-PRE to set up a \
         pre-release on purpose",
        if prereleases.is_empty() { String::new() }
        else { format!(" (only pre-releases: {})", prereleases.join(", ")) }
    )]
    NoStableRelease {
        repository: String,
        prereleases: Vec<String>,
    },

    #[error(
        "the release server refused `{url}` ({status}): rate limit reached{}\nhint: {}",
        wait.as_ref().map(|wait| format!("; it resets {wait}")).unwrap_or_default(),
        if *token_sent { "wait until the limit resets, then run the same command again" }
        else { "wait until the limit resets, or set GITHUB_TOKEN for a higher limit" }
    )]
    RateLimited {
        url: String,
        status: u16,
        wait: Option<String>,
        token_sent: bool,
    },

    #[error(
        "the release server failed on `{url}` ({status}) after {attempts} attempt(s)\nhint: the \
         server has a problem, not this host: try again later, or use a mirror with --release-url"
    )]
    Server {
        url: String,
        status: u16,
        attempts: u32,
    },

    #[error(
        "the release server refused `{url}` ({status})\nhint: {}",
        if *status == 401 || *status == 403 {
            "check GITHUB_TOKEN (a token with read access to the repository), or unset it"
        } else {
            "check --release-url, --repository and --version"
        }
    )]
    Refused { url: String, status: u16 },

    #[error(
        "`{url}` did not answer release JSON: {reason}\nhint: --release-url must point at an API \
         with GitHub's releases shape (such as https://api.github.com)"
    )]
    InvalidJson { url: String, reason: String },

    #[error(
        "release {version} has no asset `{asset}` (it has: {available})\nhint: publish the release \
         with every file `jim-bundle release-assets` writes, or pick another --version"
    )]
    MissingAsset {
        version: String,
        asset: String,
        available: String,
    },

    #[error(
        "`{asset}` of release {version} is not listed in its `{checksums}`\nhint: the release is \
         incomplete: republish it with `jim-bundle release-assets`"
    )]
    NotListed {
        version: String,
        asset: String,
        checksums: String,
    },

    #[error(
        "the checksums `{asset}` cannot be read: {reason}\nhint: the release or the mirror is \
         damaged: republish it, or try another mirror"
    )]
    InvalidChecksums { asset: String, reason: String },

    #[error(
        "checksum mismatch for `{asset}`\n  expected {expected}\n  computed {computed}\nnothing \
         was kept under its name\nhint: download again; if it fails again the release or the \
         mirror is damaged, or something between rewrites downloads"
    )]
    ChecksumMismatch {
        asset: String,
        expected: String,
        computed: String,
    },

    #[error(
        "cannot write `{path}`: {source}\nhint: check that the folder exists, is writable and has \
         free space"
    )]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl ReleaseError {
    /// Whether trying again may help: a cut connection, a failed connect, a server failure.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Connect { .. } | Self::Cut { .. } | Self::Server { .. }
        )
    }

    /// Whether the error means that a download did not match what the release published.
    pub fn is_verification(&self) -> bool {
        matches!(
            self,
            Self::ChecksumMismatch { .. } | Self::NotListed { .. } | Self::InvalidChecksums { .. }
        )
    }

    /// Whether the error is in what the user gave (a URL, a file), not in the server.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::InvalidUrl { .. } | Self::InvalidRepository { .. } | Self::CaFile { .. }
        )
    }
}
