//! The fixture shared by the installer's Docker tests: a bundle built by `jim-bundle` from the
//! release binaries, an install folder, a compose project and image tags of the test's own,
//! all removed when the `Site` is dropped.

#![allow(dead_code)]

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};


pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

pub fn release_binaries() -> PathBuf {
    let folder = workspace().join("target/x86_64-unknown-linux-gnu/release");
    for name in ["jim-web", "jim-worker", "jim-scheduler", "jim-install"] {
        assert!(
            folder.join(name).exists(),
            "`{}` is missing; build it first: cargo build --workspace --bins --release \
             (make test does)",
            folder.join(name).display()
        );
    }
    folder
}

pub fn jim_bundle() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join("jim-bundle");
    assert!(
        path.exists(),
        "`{}` is missing: cargo build --workspace --bins",
        path.display()
    );
    path
}

pub fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"))
}

pub fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub fn free_port() -> u16 {
    TcpListener::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{:x}", nanos ^ u128::from(std::process::id()))
}

/// Everything one test created, removed when dropped, whatever happened.
pub struct Site {
    pub folder: tempfile::TempDir,
    pub version: String,
    pub project: String,
    pub database_tag: String,
    pub extra_containers: Vec<String>,
    pub extra_networks: Vec<String>,
}

impl Site {
    pub fn new() -> Self {
        let id = unique();
        Self {
            folder: tempfile::tempdir().unwrap(),
            version: format!("0.1.0-e2e.{id}"),
            project: format!("jim-e2e-{id}"),
            database_tag: format!("jim-postgres-e2e:{id}"),
            extra_containers: Vec::new(),
            extra_networks: Vec::new(),
        }
    }

    pub fn install_dir(&self) -> PathBuf {
        self.folder.path().join("jim")
    }

    /// Builds the PostgreSQL image and the bundle; returns the archive.
    pub fn build_bundle(&self) -> PathBuf {
        let database = self.folder.path().join("postgres.tar");
        let output = run(Command::new(jim_bundle())
            .current_dir(workspace())
            .args(["postgres-image", "--out"])
            .arg(&database)
            .args(["--tag", &self.database_tag]));
        assert!(output.status.success(), "postgres-image: {}", text(&output));

        let out = self.folder.path().join("dist");
        let output = run(Command::new(jim_bundle())
            .current_dir(workspace())
            .env("JIM_NO_PROGRESS", "1")
            .args(["build", "--version", &self.version, "--out"])
            .arg(&out)
            .arg("--binaries")
            .arg(release_binaries())
            .arg("--image-tar")
            .arg(format!("postgres-18.tar={}", database.display())));
        assert!(output.status.success(), "build: {}", text(&output));
        let archive = out.join(format!("jim-release-{}.tar.gz", self.version));
        assert!(archive.exists(), "no archive: {}", text(&output));
        archive
    }

    pub fn answers(&self, database: &str, port: u16) -> PathBuf {
        let path = self.folder.path().join("answers.yml");
        fs::write(
            &path,
            format!(
                "{database}\
                 sso:\n  authority: https://idp.example.org/realms/jim\n  clientId: jim-web\n  \
                 secret: not-a-real-secret\n  apiScope: jim-api\n  \
                 initialAdmin: 00000000-0000-0000-0000-000000000001\n\
                 web:\n  port: {port}\nlog:\n  level: Information\n"
            ),
        )
        .unwrap();
        path
    }

    pub fn installer(&self, arguments: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_jim-install"));
        command
            .args(arguments)
            .arg("--dir")
            .arg(self.install_dir())
            .arg("--project")
            .arg(&self.project)
            .env("JIM_NO_PROGRESS", "1");
        command
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let compose_dir = self.install_dir().join("compose");
        if compose_dir.join(".env").exists() {
            let _ = Command::new("docker")
                .current_dir(&compose_dir)
                .args([
                    "compose",
                    "--project-name",
                    &self.project,
                    "--profile",
                    "with-db",
                ])
                .args([
                    "-f",
                    "docker-compose.yml",
                    "-f",
                    "docker-compose.production.yml",
                ])
                .args([
                    "-f",
                    "docker-compose.override.yml",
                    "down",
                    "--volumes",
                    "--remove-orphans",
                ])
                .output();
        }
        for container in &self.extra_containers {
            let _ = Command::new("docker")
                .args(["rm", "-f", "-v", container])
                .output();
        }
        for network in &self.extra_networks {
            let _ = Command::new("docker")
                .args(["network", "rm", network])
                .output();
        }
        for image in ["jim-web", "jim-worker", "jim-scheduler"] {
            let reference = format!("{image}:{}", self.version);
            let _ = Command::new("docker").args(["rmi", &reference]).output();
        }
        let _ = Command::new("docker")
            .args(["rmi", &self.database_tag])
            .output();
    }
}

pub fn env_lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

pub fn ready(port: u16) -> bool {
    let output = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "5",
        ])
        .arg(format!("http://127.0.0.1:{port}/api/v1/health/ready"))
        .output()
        .expect("curl");
    String::from_utf8_lossy(&output.stdout) == "200"
}

