//! Helpers shared by the CLI and end-to-end tests: running the real `jim-bundle` binary, the
//! release binaries it bundles, the standard tools the tests check with, and Docker.
//!
//! Every missing tool or binary fails the test with a message saying how to get it; nothing
//! is skipped.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

/// The creation time every test build uses, so that builds can be compared byte for byte.
pub const SOURCE_DATE_EPOCH: &str = "1767225600";

/// The `jim-bundle` binary under test.
pub fn jim_bundle() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jim-bundle"));
    command.env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH);
    command.env_remove("NO_COLOR");
    command
}

/// The repository root, which holds the compose templates, docs and PowerShell module.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the bundler crate lives one folder below the repository root")
        .to_path_buf()
}

/// The folder of the release binaries: `JIM_RELEASE_BINARIES` when set, else the `release`
/// folder beside the profile folder this test binary was built into.
pub fn release_binaries() -> PathBuf {
    let folder = match std::env::var_os("JIM_RELEASE_BINARIES") {
        Some(folder) => PathBuf::from(folder),
        None => Path::new(env!("CARGO_BIN_EXE_jim-bundle"))
            .parent()
            .and_then(Path::parent)
            .expect("the jim-bundle binary lives in <target>/<profile>/")
            .join("release"),
    };
    for name in ["jim-web", "jim-worker", "jim-scheduler", "jim-install"] {
        assert!(
            folder.join(name).is_file(),
            "the release binary `{}` is missing; build it first with `cargo build --release \
             -p jim-web -p jim-worker -p jim-scheduler -p jim-install`",
            folder.join(name).display()
        );
    }
    folder
}

/// A name no other test run uses, for images, containers and networks.
pub fn unique_name(purpose: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .subsec_nanos();
    format!("jim-test-{purpose}-{}-{nanos:x}", std::process::id())
}

/// An empty folder `name` in Cargo's folder for test files, emptied first of what an earlier
/// run left. For data shared by all the tests of a file, which lives as long as the process.
pub fn fresh_test_folder(name: &str) -> PathBuf {
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    if folder.exists() {
        std::fs::remove_dir_all(&folder).unwrap_or_else(|error| {
            panic!("cannot empty `{}` for the test: {error}", folder.display())
        });
    }
    std::fs::create_dir_all(&folder).unwrap();
    folder
}

/// Runs a command and returns its output, failing the test when it cannot start.
pub fn run(command: &mut Command) -> Output {
    let program = command.get_program().to_string_lossy().into_owned();
    command
        .output()
        .unwrap_or_else(|error| panic!("`{program}` could not be started ({error}); install it"))
}

/// Runs a command that must succeed and returns its stdout.
pub fn run_ok(command: &mut Command) -> String {
    let description = format!("{command:?}");
    let output = run(command);
    assert!(
        output.status.success(),
        "{description} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Fails the test when a standard tool is missing.
pub fn require_tool(program: &str, package: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|output| output.status.success());
    assert!(
        found,
        "`{program}` is needed by this test: apt-get install {package}"
    );
}

/// Fails the test when the Docker Engine does not answer.
pub fn require_docker() {
    let output = run(Command::new("docker").args(["version", "--format", "{{.Server.Version}}"]));
    assert!(
        output.status.success(),
        "the Docker Engine is not reachable; these tests need it running:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs the docker CLI, which must succeed, and returns its stdout.
pub fn docker_ok(arguments: &[&str]) -> String {
    run_ok(Command::new("docker").args(arguments))
}

/// Writes the PostgreSQL image from the host's Debian packages with `jim-bundle
/// postgres-image`, tagged `reference`, into `output`.
pub fn write_postgres_image(reference: &str, output: &Path) {
    run_ok(
        jim_bundle()
            .args(["postgres-image", "--tag", reference])
            .arg("--out")
            .arg(output),
    );
}

/// Writes a key pair into `folder` with `jim-bundle keygen`; returns (public, secret).
pub fn write_key_pair(folder: &Path) -> (PathBuf, PathBuf) {
    run_ok(jim_bundle().arg("keygen").arg("--out-dir").arg(folder));
    (
        folder.join("jim-release.pub"),
        folder.join("jim-release.key"),
    )
}

/// Removes what a test created in the engine when it ends, even by a panic.
#[derive(Default)]
pub struct DockerCleanup {
    pub containers: Vec<String>,
    pub networks: Vec<String>,
    pub images: Vec<String>,
}

impl Drop for DockerCleanup {
    fn drop(&mut self) {
        for container in &self.containers {
            let _ = Command::new("docker")
                .args(["rm", "--force", "--volumes", container])
                .output();
        }
        for network in &self.networks {
            let _ = Command::new("docker")
                .args(["network", "rm", network])
                .output();
        }
        for image in &self.images {
            let _ = Command::new("docker")
                .args(["image", "rm", "--force", image])
                .output();
        }
    }
}
