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
    /// Other release versions whose images a test loaded (upgrades), removed on drop.
    pub extra_versions: std::cell::RefCell<Vec<String>>,
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
            extra_versions: std::cell::RefCell::new(Vec::new()),
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
        let versions = std::iter::once(self.version.clone())
            .chain(self.extra_versions.borrow().iter().cloned())
            .collect::<Vec<_>>();
        for version in versions {
            for image in ["jim-web", "jim-worker", "jim-scheduler"] {
                let reference = format!("{image}:{version}");
                let _ = Command::new("docker").args(["rmi", &reference]).output();
            }
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

impl Site {
    /// Builds a bundle of `version` from `binaries` (the PostgreSQL image is built once and
    /// shared); its images are removed on drop.
    pub fn build_bundle_as(&self, version: &str, binaries: &Path) -> PathBuf {
        let database = self.folder.path().join("postgres.tar");
        if !database.exists() {
            let output = run(Command::new(jim_bundle())
                .current_dir(workspace())
                .args(["postgres-image", "--out"])
                .arg(&database)
                .args(["--tag", &self.database_tag]));
            assert!(output.status.success(), "postgres-image: {}", text(&output));
        }
        self.extra_versions.borrow_mut().push(version.to_string());
        let out = self.folder.path().join(format!("dist-{version}"));
        let output = run(Command::new(jim_bundle())
            .current_dir(workspace())
            .env("JIM_NO_PROGRESS", "1")
            .args(["build", "--version", version, "--out"])
            .arg(&out)
            .arg("--binaries")
            .arg(binaries)
            .arg("--image-tar")
            .arg(format!("postgres-18.tar={}", database.display())));
        assert!(output.status.success(), "build: {}", text(&output));
        out.join(format!("jim-release-{version}.tar.gz"))
    }

    /// A folder of the release binaries with `worker` (a binary of the upgrade fixture, such
    /// as `jim-worker-next`) as `jim-worker`.
    pub fn binaries_with_worker(&self, worker: &str) -> PathBuf {
        let release = release_binaries();
        let folder = self.folder.path().join(format!("binaries-{worker}"));
        fs::create_dir_all(&folder).unwrap();
        for name in ["jim-web", "jim-scheduler", "jim-install"] {
            fs::copy(release.join(name), folder.join(name)).unwrap();
        }
        let fixture = release.join(worker);
        assert!(
            fixture.exists(),
            "`{}` is missing; build it first: cargo build --workspace --bins --release",
            fixture.display()
        );
        fs::copy(fixture, folder.join("jim-worker")).unwrap();
        folder
    }

    /// The ID of the running container of a compose service of this site.
    pub fn container(&self, service: &str) -> String {
        let output = run(Command::new("docker").args([
            "ps",
            "-q",
            "--filter",
            &format!("label=com.docker.compose.project={}", self.project),
            "--filter",
            &format!("label=com.docker.compose.service={service}"),
        ]));
        let id = String::from_utf8_lossy(&output.stdout).trim().to_string();
        assert!(!id.is_empty(), "no running {service} container");
        id
    }

    /// Runs SQL with psql in the bundled database container; returns the unaligned output.
    pub fn psql(&self, sql: &str) -> String {
        let output = run(Command::new("docker")
            .args(["exec", &self.container("jim.database")])
            .args([
                "psql",
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-U",
                "jim",
                "-d",
                "jim",
            ])
            .args(["-c", sql]));
        assert!(output.status.success(), "psql {sql}: {}", text(&output));
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// A connected system with 500 connector space objects, and three schedules of the
    /// site's own: two enabled, one disabled.
    pub fn insert_sample_data(&self) {
        self.psql(
            "INSERT INTO connected_systems (id, name, file_path, key_attribute) VALUES              ('11111111-1111-4111-8111-111111111111', 'HR', 'hr.csv', 'employeeId');              INSERT INTO connector_space_objects                (id, connected_system_id, object_type, external_id, attributes)              SELECT gen_random_uuid(), '11111111-1111-4111-8111-111111111111', 'person',                'E' || n, jsonb_build_object('displayName', 'Person ' || n,                'department', 'D' || (n % 7)) FROM generate_series(1, 500) AS n;              INSERT INTO schedules (id, name, trigger_kind, interval_seconds, cron_expression,                task_kind, enabled, next_run_at) VALUES              ('22222222-2222-4222-8222-000000000001', 'Hourly HR import', 'Interval', 3600,                NULL, 'Noop', true, now() + interval '1 day'),              ('22222222-2222-4222-8222-000000000002', 'Nightly export', 'Cron', NULL,                '0 1 * * *', 'Noop', true, now() + interval '1 day'),              ('22222222-2222-4222-8222-000000000003', 'Paused import', 'Interval', 600,                NULL, 'Noop', false, now() + interval '1 day');",
        );
    }

    /// The sample data as one comparable line: systems, objects (count and digest) and every
    /// schedule with whether it is enabled.
    pub fn sample_data(&self) -> String {
        self.psql(
            "SELECT (SELECT string_agg(name, ',' ORDER BY name) FROM connected_systems)              || ' | ' || (SELECT count(*) FROM connector_space_objects)              || ' | ' || (SELECT md5(string_agg(external_id || attributes::text, ','                           ORDER BY external_id)) FROM connector_space_objects)              || ' | ' || (SELECT string_agg(name || '=' || enabled, ',' ORDER BY name)                           FROM schedules)",
        )
    }

    /// Whether the upgrade fixture's marker table exists.
    pub fn has_marker_table(&self) -> bool {
        self.psql("SELECT to_regclass('upgrade_fixture_marker') IS NOT NULL") == "t"
    }
}
