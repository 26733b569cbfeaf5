//! A release server on 127.0.0.1 for the connected-path tests: GitHub's releases API shape
//! under `/api` and the assets under `/download/TAG/NAME`, over plain HTTP or TLS, with faults
//! on request (a status with headers, or a connection cut part-way once). It records every
//! request, and stops when dropped.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::site::{jim_bundle, release_binaries, run, text, workspace};

/// The only repository the server knows; any other answers 404 like GitHub.
pub const REPOSITORY: &str = "test/jim";

/// Something the server does instead of answering normally, for one path.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer this status, with these headers and an empty body.
    Status(u16, Vec<(&'static str, String)>),
    /// Send the headers of the whole answer, then only `bytes` of the body, then close; once.
    CutOnce { bytes: usize },
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub range: Option<String>,
    pub authorization: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Default)]
struct Shared {
    latest: Option<String>,
    releases: Vec<Value>,
    files: HashMap<String, Bytes>,
    faults: HashMap<String, Fault>,
    seen: Vec<Seen>,
    origin: String,
}

/// A running server.
pub struct ReleaseServer {
    pub port: u16,
    pub scheme: &'static str,
    shared: Arc<Mutex<Shared>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl ReleaseServer {
    /// Starts a plain HTTP server.
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// Starts a TLS server with this certificate chain and key (PEM).
    pub fn start_tls(certificate_pem: &str, key_pem: &str) -> Self {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let chain = CertificateDer::pem_slice_iter(certificate_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Self::start_with(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))))
    }

    fn start_with(tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let shared = Arc::new(Mutex::new(Shared {
            origin: format!("{scheme}://127.0.0.1:{port}"),
            ..Shared::default()
        }));
        let router = axum::Router::new()
            .fallback(answer)
            .with_state(shared.clone());
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let router = router.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let service = hyper_util::service::TowerToHyperService::new(router);
                    let http = hyper::server::conn::http1::Builder::new();
                    match tls {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                let io = hyper_util::rt::TokioIo::new(stream);
                                let _ = http.serve_connection(io, service).await;
                            }
                        }
                        None => {
                            let io = hyper_util::rt::TokioIo::new(stream);
                            let _ = http.serve_connection(io, service).await;
                        }
                    }
                });
            }
        });
        Self {
            port,
            scheme,
            shared,
            runtime: Some(runtime),
        }
    }

    /// The API base to pass as `--release-url`.
    pub fn api_url(&self) -> String {
        format!("{}://127.0.0.1:{}/api", self.scheme, self.port)
    }

    /// Publishes every file of `assets` as release `tag`; the latest release is the last
    /// stable one published. With `rename_env`, `.env.example` is served as
    /// `default.env.example`, as GitHub does.
    pub fn publish(&self, assets: &Path, tag: &str, prerelease: bool, rename_env: bool) {
        let mut shared = self.shared.lock().unwrap();
        let mut list = Vec::new();
        let mut names: Vec<PathBuf> = std::fs::read_dir(assets)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.is_file())
            .collect();
        names.sort();
        for path in names {
            let mut name = path.file_name().unwrap().to_string_lossy().to_string();
            if rename_env && name == ".env.example" {
                name = "default.env.example".into();
            }
            let bytes = Bytes::from(std::fs::read(&path).unwrap());
            let url_path = format!("/download/{tag}/{name}");
            list.push(json!({
                "name": name,
                "size": bytes.len(),
                "browser_download_url": format!("{}{url_path}", shared.origin),
            }));
            shared.files.insert(url_path, bytes);
        }
        shared.releases.retain(|release| release["tag_name"] != tag);
        shared.releases.insert(
            0,
            json!({"tag_name": tag, "prerelease": prerelease, "draft": false, "assets": list}),
        );
        if !prerelease {
            shared.latest = Some(tag.to_string());
        }
    }

    /// Takes an asset out of release `tag`.
    pub fn withdraw(&self, tag: &str, name: &str) {
        let mut shared = self.shared.lock().unwrap();
        for release in shared.releases.iter_mut() {
            if release["tag_name"] == tag
                && let Some(assets) = release["assets"].as_array_mut()
            {
                assets.retain(|asset| asset["name"] != name);
            }
        }
    }

    /// Serves other bytes for an asset than those it was published with.
    pub fn replace(&self, tag: &str, name: &str, bytes: Vec<u8>) {
        let path = format!("/download/{tag}/{name}");
        let mut shared = self.shared.lock().unwrap();
        shared.files.insert(path, Bytes::from(bytes));
    }

    /// Makes `path` (such as `/api/repos/test/jim/releases/latest`) misbehave.
    pub fn fault(&self, path: &str, fault: Fault) {
        self.shared
            .lock()
            .unwrap()
            .faults
            .insert(path.to_string(), fault);
    }

    /// Forgets which release is the latest, as when only pre-releases exist.
    pub fn no_latest(&self) {
        self.shared.lock().unwrap().latest = None;
    }

    /// The requests so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.lock().unwrap().seen.clone()
    }
}

impl Drop for ReleaseServer {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn answer(State(shared): State<Arc<Mutex<Shared>>>, request: Request<Body>) -> Response {
    let path = request.uri().path().to_string();
    let header_text = |name: header::HeaderName| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(String::from)
    };
    let range = header_text(header::RANGE);
    let mut shared = shared.lock().unwrap();
    shared.seen.push(Seen {
        path: path.clone(),
        range: range.clone(),
        authorization: header_text(header::AUTHORIZATION),
        user_agent: header_text(header::USER_AGENT),
    });

    let mut cut = None;
    match shared.faults.get(&path).cloned() {
        Some(Fault::Status(status, headers)) => {
            let mut response = StatusCode::from_u16(status).unwrap().into_response();
            for (name, value) in headers {
                response.headers_mut().insert(name, value.parse().unwrap());
            }
            return response;
        }
        Some(Fault::CutOnce { bytes }) => {
            shared.faults.remove(&path);
            cut = Some(bytes);
        }
        None => {}
    }

    let api = format!("/api/repos/{REPOSITORY}/releases");
    if path == format!("{api}/latest") {
        let latest = shared.latest.clone();
        return match shared.releases.iter().find(|release| {
            Some(release["tag_name"].as_str().unwrap_or_default()) == latest.as_deref()
        }) {
            Some(release) => axum::Json(release.clone()).into_response(),
            None => not_found(),
        };
    }
    if path == api {
        return axum::Json(Value::Array(shared.releases.clone())).into_response();
    }
    if let Some(tag) = path.strip_prefix(&format!("{api}/tags/")) {
        return match shared
            .releases
            .iter()
            .find(|release| release["tag_name"] == tag)
        {
            Some(release) => axum::Json(release.clone()).into_response(),
            None => not_found(),
        };
    }
    match shared.files.get(&path) {
        Some(bytes) => file(bytes.clone(), range.as_deref(), cut),
        None => not_found(),
    }
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"message": "Not Found"})),
    )
        .into_response()
}

/// A file, from the start of a `bytes=N-` range when asked, cut after `cut` bytes when asked.
fn file(bytes: Bytes, range: Option<&str>, cut: Option<usize>) -> Response {
    let start = range
        .and_then(|range| range.strip_prefix("bytes="))
        .and_then(|range| range.strip_suffix('-'))
        .and_then(|start| start.parse::<usize>().ok());
    let mut headers = HeaderMap::new();
    headers.insert(header::ACCEPT_RANGES, "bytes".parse().unwrap());
    let (status, body) = match start {
        Some(start) if start >= bytes.len() => {
            return (StatusCode::RANGE_NOT_SATISFIABLE, headers).into_response();
        }
        Some(start) => {
            headers.insert(
                header::CONTENT_RANGE,
                format!("bytes {start}-{}/{}", bytes.len() - 1, bytes.len())
                    .parse()
                    .unwrap(),
            );
            (StatusCode::PARTIAL_CONTENT, bytes.slice(start..))
        }
        None => (StatusCode::OK, bytes),
    };
    headers.insert(header::CONTENT_LENGTH, body.len().into());
    let body = match cut {
        Some(cut) => {
            let first = body.slice(..cut.min(body.len()));
            let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
                Ok(first),
                Err(std::io::Error::other("the test server cuts the connection")),
            ];
            Body::from_stream(futures_util::stream::iter(chunks))
        }
        None => Body::from(body),
    };
    (status, headers, body).into_response()
}

/// The release assets of a bundle that `jim-bundle` built from the release binaries (without a
/// database image, to keep it small), built once per test binary.
pub fn release_assets(version: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let folder = Path::new(env!("CARGO_TARGET_TMPDIR")).join("release-server");
            let _ = std::fs::remove_dir_all(&folder);
            let dist = folder.join("dist");
            let output = run(Command::new(jim_bundle())
                .current_dir(workspace())
                .env("JIM_NO_PROGRESS", "1")
                .args([
                    "build",
                    "--no-database-image",
                    "--version",
                    version,
                    "--out",
                ])
                .arg(&dist)
                .arg("--binaries")
                .arg(release_binaries()));
            assert!(output.status.success(), "build: {}", text(&output));
            let assets = folder.join("assets");
            let output = run(Command::new(jim_bundle())
                .args(["release-assets", "--version", version, "--from"])
                .arg(&dist)
                .arg("--out")
                .arg(&assets));
            assert!(output.status.success(), "release-assets: {}", text(&output));
            let _ = std::fs::remove_dir_all(&dist);
            assets
        })
        .clone()
}
