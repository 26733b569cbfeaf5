//! The HTTP client of the release commands: rustls only (no OpenSSL), trusting the built-in
//! web roots, the host's CA bundle and an optional extra CA file (for TLS inspection); proxies
//! from `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY`; a user agent naming this version; and the
//! `GITHUB_TOKEN`, sent to the release server's own host only.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, RANGE, RETRY_AFTER};
use reqwest::{Response, StatusCode};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use url::Url;

use super::ReleaseError;

/// The user agent: `jim-install/<version>`.
pub const USER_AGENT: &str = concat!("jim-install/", env!("CARGO_PKG_VERSION"));

/// Where the host's CA bundle usually is, after `SSL_CERT_FILE`.
const HOST_CA_BUNDLES: [&str; 2] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
];

/// How the client is set up.
#[derive(Debug, Clone, Default)]
pub struct ClientSettings {
    /// An extra PEM file of CA certificates to trust.
    pub ca_file: Option<PathBuf>,
    /// A token for the release server (`GITHUB_TOKEN`).
    pub token: Option<String>,
}

/// A client for one release server.
#[derive(Debug, Clone)]
pub struct ReleaseClient {
    http: reqwest::Client,
    token: Option<String>,
    /// The host (and port) that gets the token.
    token_origin: Option<String>,
}

impl ReleaseClient {
    /// Builds the client; `server` is the release server, whose host alone gets the token.
    pub fn new(settings: &ClientSettings, server: &Url) -> Result<Self, ReleaseError> {
        let tls = tls_config(settings.ca_file.as_deref())?;
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .tls_backend_preconfigured(tls)
            .connect_timeout(Duration::from_secs(20))
            // A stalled transfer counts as cut after this long without a byte.
            .read_timeout(Duration::from_secs(60))
            .build()
            .map_err(|error| ReleaseError::Client {
                reason: error_text(&error),
            })?;
        Ok(Self {
            http,
            token: settings.token.clone().filter(|token| !token.is_empty()),
            token_origin: origin(server),
        })
    }

    /// Whether requests to the release server carry a token.
    pub fn sends_token(&self) -> bool {
        self.token.is_some()
    }

    /// GETs `url` (from byte `from` onwards when given) and turns every answer that is not a
    /// success into its [`ReleaseError`]. `attempts` is only for the message of a server error.
    pub async fn get(
        &self,
        url: &str,
        json: bool,
        from: Option<u64>,
        attempts: u32,
    ) -> Result<Response, ReleaseError> {
        let mut request = self.http.get(url);
        if json {
            request = request
                .header(ACCEPT, "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28");
        }
        if let Some(from) = from {
            request = request.header(RANGE, format!("bytes={from}-"));
        }
        if let Some(token) = &self.token
            && Url::parse(url).ok().as_ref().and_then(origin) == self.token_origin
        {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let response = request
            .send()
            .await
            .map_err(|error| send_error(url, &error))?;
        check_status(url, response, self.sends_token(), attempts)
    }
}

/// The error of a request that got no answer.
pub(crate) fn send_error(url: &str, error: &reqwest::Error) -> ReleaseError {
    let reason = error_text(error);
    if reason.contains("certificate") || reason.contains("UnknownIssuer") {
        ReleaseError::Untrusted {
            url: url.to_string(),
            reason,
        }
    } else {
        ReleaseError::Connect {
            url: url.to_string(),
            reason,
        }
    }
}

/// An error with its causes, on one line: reqwest's own text alone says too little.
pub(crate) fn error_text(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(reason) = cause {
        let next = reason.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = reason.source();
    }
    text
}

fn check_status(
    url: &str,
    response: Response,
    token_sent: bool,
    attempts: u32,
) -> Result<Response, ReleaseError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let url = url.to_string();
    let code = status.as_u16();
    let headers = response.headers();
    if status == StatusCode::TOO_MANY_REQUESTS
        || (status == StatusCode::FORBIDDEN && is_rate_limit(headers))
    {
        return Err(ReleaseError::RateLimited {
            url,
            status: code,
            wait: rate_limit_wait(headers, now_seconds()),
            token_sent,
        });
    }
    if status == StatusCode::NOT_FOUND {
        return Err(ReleaseError::NotFound { url, version: None });
    }
    if status.is_server_error() {
        return Err(ReleaseError::Server {
            url,
            status: code,
            attempts,
        });
    }
    Err(ReleaseError::Refused { url, status: code })
}

/// GitHub answers 403 (not 429) when the hourly limit is used up, with these headers.
fn is_rate_limit(headers: &HeaderMap) -> bool {
    header_text(headers, "x-ratelimit-remaining").as_deref() == Some("0")
        || headers.contains_key(RETRY_AFTER)
}

/// When the limit resets, in words: from `retry-after` (seconds) or `x-ratelimit-reset`
/// (seconds since 1970, UTC).
pub(crate) fn rate_limit_wait(headers: &HeaderMap, now: u64) -> Option<String> {
    if let Some(seconds) =
        header_text(headers, RETRY_AFTER.as_str()).and_then(|text| text.trim().parse::<u64>().ok())
    {
        return Some(format!("in {seconds} s"));
    }
    let reset = header_text(headers, "x-ratelimit-reset")?
        .trim()
        .parse::<i64>()
        .ok()?;
    let at = chrono::DateTime::from_timestamp(reset, 0)?;
    let seconds = u64::try_from(reset).ok()?.saturating_sub(now);
    Some(format!(
        "at {} UTC, in {} min",
        at.format("%H:%M:%S"),
        seconds.div_ceil(60)
    ))
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(String::from)
}

fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|duration| duration.as_secs())
        .unwrap_or(0)
}

/// `host:port` of a URL, to compare where a request goes.
fn origin(url: &Url) -> Option<String> {
    Some(format!(
        "{}:{}",
        url.host_str()?,
        url.port_or_known_default()?
    ))
}

/// The TLS set-up: rustls with aws-lc-rs, the built-in roots, the host's bundle if there is
/// one (a minimal host or an image may have none), and the extra CA file.
fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, ReleaseError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());

    let host_bundle = std::env::var_os("SSL_CERT_FILE")
        .map(PathBuf::from)
        .into_iter()
        .chain(HOST_CA_BUNDLES.iter().map(PathBuf::from))
        .find(|path| path.is_file());
    if let Some(path) = host_bundle
        && let Ok(certificates) = read_certificates(&path)
    {
        roots.add_parsable_certificates(certificates);
    }

    if let Some(path) = ca_file {
        let ca_error = |reason: String| ReleaseError::CaFile {
            path: path.to_path_buf(),
            reason,
        };
        let certificates = read_certificates(path).map_err(ca_error)?;
        if certificates.is_empty() {
            return Err(ca_error("it holds no PEM certificate".into()));
        }
        for certificate in certificates {
            roots
                .add(certificate)
                .map_err(|error| ca_error(error.to_string()))?;
        }
    }

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| ReleaseError::Client {
            reason: error.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = std::fs::read(path).map_err(|error| error.to_string())?;
    CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| format!("not PEM: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn the_wait_comes_from_retry_after_or_the_reset_time() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-reset", HeaderValue::from_static("1000"));
        assert_eq!(
            rate_limit_wait(&headers, 700).as_deref(),
            Some("at 00:16:40 UTC, in 5 min")
        );
        headers.insert(RETRY_AFTER, HeaderValue::from_static("30"));
        assert_eq!(rate_limit_wait(&headers, 700).as_deref(), Some("in 30 s"));
        assert_eq!(rate_limit_wait(&HeaderMap::new(), 0), None);
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let error = tls_config(Some(&path)).unwrap_err();
        assert!(error.to_string().contains("no PEM certificate"), "{error}");
        assert!(tls_config(None).is_ok());
    }
}
