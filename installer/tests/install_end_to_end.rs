//! The whole air-gap path against the real Docker Engine and Compose v2: `jim-bundle` builds a
//! bundle from the release binaries and a PostgreSQL image made from Debian's packages, then
//! `jim-install install` takes the `.tar.gz` to a ready JIM, `status` reports it, a second
//! `install` changes nothing, and `down` stops it. Each test uses its own version tag and
//! compose project, and removes its containers, networks, volumes and images.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn release_binaries() -> PathBuf {
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

fn jim_bundle() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join("jim-bundle");
    assert!(
        path.exists(),
        "`{}` is missing: cargo build --workspace --bins",
        path.display()
    );
    path
}

fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"))
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn free_port() -> u16 {
    TcpListener::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{:x}", nanos ^ u128::from(std::process::id()))
}

/// Everything one test created, removed when dropped, whatever happened.
struct Site {
    folder: tempfile::TempDir,
    version: String,
    project: String,
    database_tag: String,
    extra_containers: Vec<String>,
    extra_networks: Vec<String>,
}

impl Site {
    fn new() -> Self {
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

    fn install_dir(&self) -> PathBuf {
        self.folder.path().join("jim")
    }

    /// Builds the PostgreSQL image and the bundle; returns the archive.
    fn build_bundle(&self) -> PathBuf {
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

    fn answers(&self, database: &str, port: u16) -> PathBuf {
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

    fn installer(&self, arguments: &[&str]) -> Command {
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

fn env_lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn ready(port: u16) -> bool {
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

#[test]
fn install_from_the_archive_with_the_bundled_database_then_again_then_down() {
    let site = Site::new();
    let archive = site.build_bundle();
    let port = free_port();
    let answers = site.answers("database:\n  mode: bundled\n", port);

    let started = Instant::now();
    let output = run(site
        .installer(&["install"])
        .arg(&archive)
        .arg("--answers")
        .arg(&answers)
        .args(["--timeout", "420", "--ignore-preflight"]));
    assert!(output.status.success(), "install: {}", text(&output));
    eprintln!("install took {} s", started.elapsed().as_secs());
    assert!(ready(port), "not ready on the published port after install");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains(&format!("http://localhost:{port}/")),
        "{}",
        text(&output)
    );

    // Every container of the project is running and healthy.
    let output = run(&mut site.installer(&["status", "--json"]));
    assert!(output.status.success(), "status: {}", text(&output));
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(status["ready"], true);
    let containers = status["containers"].as_array().unwrap();
    let services: Vec<&str> = containers
        .iter()
        .map(|container| container["service"].as_str().unwrap())
        .collect();
    assert_eq!(
        services,
        ["jim.database", "jim.scheduler", "jim.web", "jim.worker"]
    );
    for container in containers {
        assert_eq!(container["state"], "running", "{container}");
        assert_eq!(container["health"], "healthy", "{container}");
    }

    // The .env holds the loaded image tags and a generated database password, mode 0600.
    let env_path = site.install_dir().join("compose/.env");
    let first = env_lines(&env_path);
    assert!(
        first.contains(&format!("JIM_VERSION={}", site.version)),
        "{first:?}"
    );
    assert!(
        first.contains(&format!("JIM_DB_IMAGE={}", site.database_tag)),
        "{first:?}"
    );
    let password = first
        .iter()
        .find(|line| line.starts_with("JIM_DB_PASSWORD="))
        .unwrap()
        .clone();
    assert_eq!(password.len(), "JIM_DB_PASSWORD=".len() + 32, "{password}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        fs::metadata(&env_path).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // A second install changes nothing it should not: same .env, no image loaded twice.
    let output = run(site
        .installer(&["install"])
        .arg(&archive)
        .arg("--answers")
        .arg(&answers)
        .args(["--timeout", "300", "--ignore-preflight"]));
    assert!(output.status.success(), "second install: {}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("loaded   "),
        "an image was loaded twice: {}",
        text(&output)
    );
    assert_eq!(
        stderr.matches("(same ID; skipped)").count(),
        4,
        "{}",
        text(&output)
    );
    assert_eq!(env_lines(&env_path), first);

    // Down stops every container and keeps the volumes.
    let output = run(&mut site.installer(&["down"]));
    assert!(output.status.success(), "down: {}", text(&output));
    let output = run(Command::new("docker").args([
        "ps",
        "-q",
        "--filter",
        &format!("label=com.docker.compose.project={}", site.project),
    ]));
    assert!(
        String::from_utf8_lossy(&output.stdout).trim().is_empty(),
        "containers remain"
    );
    let output = run(Command::new("docker").args(["volume", "ls", "-q"]));
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .contains(&format!("{}_jim-db-volume", site.project)),
        "down removed the database volume"
    );
}

#[test]
fn install_with_an_external_database_the_profile_does_not_manage() {
    let site = Site::new();
    let archive = site.build_bundle();
    let port = free_port();

    // The site's own PostgreSQL: a container outside the compose project, on a network of
    // its own, that JIM reaches by name once it joins the stack's network.
    let database = format!("{}-external-db", site.project);
    let answers = site.answers(
        &format!(
            "database:\n  mode: external\n  host: {database}:5432\n  name: identity\n  \
             username: jimapp\n  password: external-secret-123\n  testConnection: false\n"
        ),
        port,
    );
    let mut site = site;
    site.extra_containers.push(database.clone());

    // Compose creates the stack's network at `up`; the database joins it as soon as it exists.
    // Start-up order does not matter: the services retry the database meanwhile.
    let network = format!("{}_jim-network", site.project);
    let mut install = site
        .installer(&["install"])
        .arg(&archive)
        .arg("--answers")
        .arg(&answers)
        .args(["--timeout", "420", "--ignore-preflight"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let inspect = run(Command::new("docker").args(["network", "inspect", &network]));
        if inspect.status.success() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the stack's network never appeared"
        );
        if let Some(status) = install.try_wait().unwrap() {
            let output = install.wait_with_output().unwrap();
            panic!("install ended before up ({status}): {}", text(&output));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let output = run(Command::new("docker").args([
        "run",
        "-d",
        "--name",
        &database,
        "--network",
        &network,
        "-e",
        "POSTGRES_DB=identity",
        "-e",
        "POSTGRES_USER=jimapp",
        "-e",
        "POSTGRES_PASSWORD=external-secret-123",
        &site.database_tag,
    ]));
    assert!(
        output.status.success(),
        "external database: {}",
        text(&output)
    );

    let output = install.wait_with_output().unwrap();
    assert!(output.status.success(), "install: {}", text(&output));
    assert!(ready(port));

    // The bundled database was not started: the profile stayed off.
    let output = run(&mut site.installer(&["status", "--json"]));
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let services: Vec<&str> = status["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|container| container["service"].as_str().unwrap())
        .collect();
    assert_eq!(
        services,
        ["jim.scheduler", "jim.web", "jim.worker"],
        "{status}"
    );
    let env = env_lines(&site.install_dir().join("compose/.env"));
    assert!(
        env.contains(&format!("JIM_DB_HOSTNAME={database}:5432")),
        "{env:?}"
    );

    // The site's database leaves the stack's network first, so that `down` can remove it.
    let _ = run(Command::new("docker").args(["network", "disconnect", "-f", &network, &database]));
    let output = run(&mut site.installer(&["down"]));
    assert!(output.status.success(), "down: {}", text(&output));
}

#[test]
fn no_docker_engine_gives_the_documented_exit_code_and_a_hint() {
    let site = Site::new();
    let output = run(site
        .installer(&["status"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock"));
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot reach the Docker Engine"),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
}
