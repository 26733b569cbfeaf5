//! `jim-install setup --download-only` and `jim-install download` against a release server on
//! 127.0.0.1 that serves GitHub's releases API shape and the real assets of a release that
//! `jim-bundle` built: the latest release found, the renamed `.env` template, a missing asset, a
//! checksum mismatch, a connection cut half-way and resumed, 404, 500, rate limits, and an extra
//! CA for TLS inspection.

mod support;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use support::release_server::{Fault, REPOSITORY, ReleaseServer, release_assets};
use support::site::{run, text};

const VERSION: &str = "1.0.0";
const ARCHIVE: &str = "jim-release-1.0.0.tar.gz";

fn installer(server: &ReleaseServer, arguments: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jim-install"));
    // The subcommand, the server, then the test's own arguments, which may end with a flag
    // whose value the caller appends.
    command
        .arg(arguments[0])
        .args([
            "--release-url",
            &server.api_url(),
            "--repository",
            REPOSITORY,
        ])
        .args(&arguments[1..])
        .env("JIM_NO_PROGRESS", "1")
        .env_remove("GITHUB_TOKEN")
        .env_remove("HTTPS_PROXY")
        .env_remove("HTTP_PROXY");
    command
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

/// A server with release 1.0.0, GitHub's renaming of `.env.example` included.
fn published() -> ReleaseServer {
    let server = ReleaseServer::start();
    server.publish(&release_assets(VERSION), "v1.0.0", false, true);
    server
}

fn download(server: &ReleaseServer, out: &Path, extra: &[&str]) -> Output {
    run(installer(server, &["download", "--out"])
        .arg(out)
        .args(extra))
}

#[test]
fn setup_finds_the_latest_stable_release_and_writes_its_verified_files() {
    let server = published();
    // A newer pre-release is never the latest.
    server.publish(&release_assets(VERSION), "v1.1.0-rc.1", true, true);
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path().join("jim");

    let output = run(installer(&server, &["setup", "--download-only", "--dir"])
        .arg(&dir)
        .env("GITHUB_TOKEN", "test-token"));
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        stderr(&output).contains("found JIM 1.0.0 (v1.0.0)"),
        "{}",
        text(&output)
    );

    // The template came as `default.env.example` and is installed under its own name, equal to
    // the bundle's copy; so are the compose files.
    let compose = dir.join("compose");
    let assets = release_assets(VERSION);
    for file in [
        "docker-compose.yml",
        "docker-compose.production.yml",
        "docker-compose.override.yml",
        ".env.example",
    ] {
        assert_eq!(
            fs::read(compose.join(file)).unwrap(),
            fs::read(assets.join(file)).unwrap(),
            "{file}"
        );
    }
    assert!(!compose.join(".env").exists(), "--download-only configured");
    assert!(
        dir.join("releases/jim-release-1.0.0/checksums.sha256")
            .exists()
    );

    // Every request named this version; the API requests carried the token.
    let seen = server.seen();
    assert!(
        seen.iter()
            .any(|request| request.path.ends_with("/default.env.example")),
        "{seen:?}"
    );
    for request in &seen {
        let agent = request.user_agent.as_deref().unwrap_or_default();
        assert!(agent.starts_with("jim-install/"), "{request:?}");
        assert_eq!(request.authorization.as_deref(), Some("Bearer test-token"));
    }

    // The pre-release is taken only when asked for by version.
    let output = run(installer(
        &server,
        &["setup", "--download-only", "--version", "1.1.0-rc.1"],
    )
    .arg("--dir")
    .arg(folder.path().join("rc")));
    assert!(output.status.success(), "{}", text(&output));
    assert!(stderr(&output).contains("found JIM 1.1.0-rc.1 (v1.1.0-rc.1, pre-release)"));
}

#[test]
fn only_pre_releases_are_reported_as_no_stable_release() {
    let server = ReleaseServer::start();
    server.publish(&release_assets(VERSION), "v1.1.0-rc.1", true, true);
    server.no_latest();
    let folder = tempfile::tempdir().unwrap();
    let output = download(&server, folder.path(), &[]);
    assert_eq!(output.status.code(), Some(10), "{}", text(&output));
    let message = stderr(&output);
    assert!(
        message.contains("no stable release found in `test/jim` (only pre-releases: v1.1.0-rc.1)"),
        "{message}"
    );
    assert!(message.contains("hint: pass --version"), "{message}");
}

#[test]
fn a_missing_asset_is_named_with_what_the_release_has() {
    let server = published();
    server.withdraw("v1.0.0", "docker-compose.production.yml");
    let folder = tempfile::tempdir().unwrap();
    let output =
        run(installer(&server, &["setup", "--download-only", "--dir"])
            .arg(folder.path().join("jim")));
    assert_eq!(output.status.code(), Some(10), "{}", text(&output));
    let message = stderr(&output);
    assert!(
        message.contains("release 1.0.0 has no asset `docker-compose.production.yml`"),
        "{message}"
    );
    assert!(message.contains("hint: publish the release"), "{message}");
    assert!(
        !folder.path().join("jim/compose").exists(),
        "files written: {message}"
    );
}

#[test]
fn a_checksum_mismatch_is_refused_and_nothing_is_left_under_the_final_name() {
    let server = published();
    let folder = tempfile::tempdir().unwrap();

    // A compose file changed on the way: setup writes none of the files.
    server.replace("v1.0.0", "docker-compose.yml", b"services: {}\n".to_vec());
    let output =
        run(installer(&server, &["setup", "--download-only", "--dir"])
            .arg(folder.path().join("jim")));
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(stderr(&output).contains("checksum mismatch for `docker-compose.yml`"));
    assert!(!folder.path().join("jim/compose").exists());

    // The bundle changed on the way: neither the archive nor its part file remains.
    let mut archive = fs::read(release_assets(VERSION).join(ARCHIVE)).unwrap();
    let middle = archive.len() / 2;
    archive[middle] ^= 0xff;
    server.replace("v1.0.0", ARCHIVE, archive);
    let out = folder.path().join("media");
    let output = download(&server, &out, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let message = stderr(&output);
    assert!(
        message.contains(&format!("checksum mismatch for `{ARCHIVE}`")),
        "{message}"
    );
    assert!(message.contains("hint:"), "{message}");
    assert!(!out.join(ARCHIVE).exists());
    assert!(!out.join(format!("{ARCHIVE}.part")).exists());
    assert!(!out.join(format!("{ARCHIVE}.sha256")).exists());
}

#[test]
fn a_connection_cut_half_way_is_resumed_and_the_bundle_verified() {
    let server = published();
    let assets = release_assets(VERSION);
    let size = fs::metadata(assets.join(ARCHIVE)).unwrap().len() as usize;
    let path = format!("/download/v1.0.0/{ARCHIVE}");
    let folder = tempfile::tempdir().unwrap();
    let out = folder.path();

    // Without retries the cut stops the download: only the part file holds what arrived. The
    // server stops after half the file, but the bytes still in its buffers when it drops the
    // connection never arrive, so the part holds at most that half.
    server.fault(&path, Fault::CutOnce { bytes: size / 2 });
    let output = download(&server, out, &["--retries", "0"]);
    assert_eq!(output.status.code(), Some(10), "{}", text(&output));
    let message = stderr(&output);
    assert!(message.contains("was cut after"), "{message}");
    assert!(
        message.contains("hint: run the same command again"),
        "{message}"
    );
    assert!(!out.join(ARCHIVE).exists());
    let part = out.join(format!("{ARCHIVE}.part"));
    let arrived = fs::metadata(&part).unwrap().len() as usize;
    assert!(
        arrived > 0 && arrived <= size / 2,
        "the part file holds {arrived} bytes of {size}"
    );
    assert!(
        message.contains(&format!("was cut after {arrived} ")),
        "{message}"
    );

    // Run again: it asks only for the rest.
    let output = download(&server, out, &[]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(stderr(&output).contains("resuming"), "{}", text(&output));
    let ranges: Vec<String> = server
        .seen()
        .iter()
        .filter(|request| request.path == path)
        .filter_map(|request| request.range.clone())
        .collect();
    assert_eq!(ranges, [format!("bytes={arrived}-")]);
    assert_eq!(
        fs::read(out.join(ARCHIVE)).unwrap(),
        fs::read(assets.join(ARCHIVE)).unwrap()
    );
    assert!(!part.exists());

    // The .sha256 beside it checks with sha256sum, as on the media.
    let check = run(Command::new("sha256sum")
        .current_dir(out)
        .args(["-c", &format!("{ARCHIVE}.sha256")]));
    assert!(check.status.success(), "{}", text(&check));

    // A cut during a run with retries is resumed within the run.
    fs::remove_file(out.join(ARCHIVE)).unwrap();
    server.fault(&path, Fault::CutOnce { bytes: size / 3 });
    let output = download(&server, out, &[]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        stderr(&output).contains("resuming in 1 s"),
        "{}",
        text(&output)
    );
    assert_eq!(
        fs::read(out.join(ARCHIVE)).unwrap(),
        fs::read(assets.join(ARCHIVE)).unwrap()
    );
}

#[test]
fn not_found_server_errors_and_rate_limits_each_say_what_to_do() {
    let server = published();
    let folder = tempfile::tempdir().unwrap();
    let latest = format!("/api/repos/{REPOSITORY}/releases/latest");

    // A repository the server does not have.
    let output = run(Command::new(env!("CARGO_BIN_EXE_jim-install"))
        .args(["download", "--repository", "nobody/none", "--release-url"])
        .arg(server.api_url())
        .arg("--out")
        .arg(folder.path()));
    assert_eq!(output.status.code(), Some(10), "{}", text(&output));
    let message = stderr(&output);
    assert!(message.contains("was not found (404)"), "{message}");
    assert!(
        message.contains("hint: check --release-url and --repository"),
        "{message}"
    );

    // A version that does not exist.
    let output = download(&server, folder.path(), &["--version", "9.9.9"]);
    assert!(stderr(&output).contains("release 9.9.9 does not exist in `test/jim`"));

    // A server failure, tried again once.
    server.fault(&latest, Fault::Status(500, vec![]));
    let output = download(&server, folder.path(), &["--retries", "1"]);
    assert_eq!(output.status.code(), Some(10), "{}", text(&output));
    let message = stderr(&output);
    assert!(message.contains("failed on"), "{message}");
    assert!(message.contains("(500)"), "{message}");
    assert!(
        message.contains("hint: the server has a problem"),
        "{message}"
    );

    // GitHub's hourly limit: 403 with the reset time.
    let reset = chrono::Utc::now().timestamp() + 600;
    server.fault(
        &latest,
        Fault::Status(
            403,
            vec![
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-reset", reset.to_string()),
            ],
        ),
    );
    let output = download(&server, folder.path(), &[]);
    assert_eq!(output.status.code(), Some(10), "{}", text(&output));
    let message = stderr(&output);
    assert!(
        message.contains("rate limit reached; it resets at"),
        "{message}"
    );
    assert!(message.contains("in 10 min"), "{message}");
    assert!(message.contains("or set GITHUB_TOKEN"), "{message}");

    // A mirror's 429 with retry-after.
    server.fault(
        &latest,
        Fault::Status(429, vec![("retry-after", "120".into())]),
    );
    let output = download(&server, folder.path(), &[]);
    let message = stderr(&output);
    assert!(
        message.contains("(429): rate limit reached; it resets in 120 s"),
        "{message}"
    );
    assert!(fs::read_dir(folder.path()).unwrap().next().is_none());
}

#[test]
fn an_extra_ca_file_makes_a_tls_inspection_certificate_trusted() {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "JIM test inspection CA");
    let ca_certificate = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let server_certificate = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();

    let server = ReleaseServer::start_tls(&server_certificate.pem(), &server_key.serialize_pem());
    server.publish(&release_assets(VERSION), "v1.0.0", false, true);
    let folder = tempfile::tempdir().unwrap();

    let output = run(installer(&server, &["setup", "--download-only", "--dir"])
        .arg(folder.path().join("untrusted")));
    assert_eq!(output.status.code(), Some(10), "{}", text(&output));
    let message = stderr(&output);
    assert!(message.contains("is not trusted"), "{message}");
    assert!(message.contains("--ca-file"), "{message}");

    let ca_file = folder.path().join("inspection-ca.pem");
    fs::write(&ca_file, ca_certificate.pem()).unwrap();
    let output = run(
        installer(&server, &["setup", "--download-only", "--ca-file"])
            .arg(&ca_file)
            .arg("--dir")
            .arg(folder.path().join("trusted")),
    );
    assert!(output.status.success(), "{}", text(&output));
    assert!(folder.path().join("trusted/compose/.env.example").exists());
}

#[test]
fn a_proxy_from_the_environment_carries_the_requests() {
    // The "proxy" is a second server that answers what it is asked; the release URL names a
    // port where nothing listens, so only the proxy can have answered.
    let proxy = published();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let folder = tempfile::tempdir().unwrap();
    let output = run(Command::new(env!("CARGO_BIN_EXE_jim-install"))
        .args(["setup", "--download-only", "--repository", REPOSITORY])
        .args([
            "--release-url",
            &format!("http://127.0.0.1:{port}/api"),
            "--dir",
        ])
        .arg(folder.path().join("jim"))
        .env("HTTP_PROXY", format!("http://127.0.0.1:{}", proxy.port))
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .env("JIM_NO_PROGRESS", "1"));
    assert!(output.status.success(), "{}", text(&output));
    assert!(!proxy.seen().is_empty());

    // NO_PROXY sends it straight to the closed port.
    let output = run(Command::new(env!("CARGO_BIN_EXE_jim-install"))
        .args(["download", "--repository", REPOSITORY, "--retries", "0"])
        .args([
            "--release-url",
            &format!("http://127.0.0.1:{port}/api"),
            "--out",
        ])
        .arg(folder.path().join("media"))
        .env("HTTP_PROXY", format!("http://127.0.0.1:{}", proxy.port))
        .env("NO_PROXY", "127.0.0.1"));
    assert_eq!(output.status.code(), Some(10), "{}", text(&output));
    assert!(
        stderr(&output).contains("cannot connect to"),
        "{}",
        text(&output)
    );
}
