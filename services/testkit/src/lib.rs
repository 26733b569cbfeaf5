//! Test support for the JIM services: a fresh PostgreSQL database per test on the local server
//! (`.ci/start-postgres` prepares it), and the real service binaries started as processes.
//!
//! The server is found through `JIM_TEST_DB_HOST` (default `127.0.0.1:5432`),
//! `JIM_TEST_DB_USERNAME` and `JIM_TEST_DB_PASSWORD` (default `jim_test` for both). When it
//! cannot be reached the test fails with a hint; it never skips.

pub mod browser;
pub mod csv_people;

use std::fs::File;
use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};

fn setting(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// The test server's host and port.
pub fn server_address() -> (String, u16) {
    let address = setting("JIM_TEST_DB_HOST", "127.0.0.1:5432");
    match address.rsplit_once(':') {
        Some((host, port)) => (host.to_string(), port.parse().unwrap_or(5432)),
        None => (address, 5432),
    }
}

fn server_options(database: &str) -> PgConnectOptions {
    let (host, port) = server_address();
    PgConnectOptions::new()
        .host(&host)
        .port(port)
        .username(&setting("JIM_TEST_DB_USERNAME", "jim_test"))
        .password(&setting("JIM_TEST_DB_PASSWORD", "jim_test"))
        .database(database)
}

/// A database of its own for one test, dropped when the value is dropped.
pub struct TestDatabase {
    pub name: String,
}

impl TestDatabase {
    /// Creates an empty database named `jim_test_<random>`.
    pub async fn create() -> Self {
        let name = format!("jim_test_{}", uuid::Uuid::new_v4().simple());
        let mut connection = server_options("postgres")
            .connect()
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "cannot reach the test PostgreSQL at {:?} as `jim_test`: {error}\n\
                 hint: run `bash .ci/start-postgres` (it installs nothing; `.ci/run` installs \
                 PostgreSQL first when it is missing)",
                    server_address()
                )
            });
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut connection)
            .await
            .expect("CREATE DATABASE");
        let _ = connection.close().await;
        Self { name }
    }

    /// The `JIM_DB_*` variables that point a service at this database.
    pub fn service_env(&self) -> Vec<(String, String)> {
        let (host, port) = server_address();
        vec![
            ("JIM_DB_HOSTNAME".into(), format!("{host}:{port}")),
            ("JIM_DB_NAME".into(), self.name.clone()),
            (
                "JIM_DB_USERNAME".into(),
                setting("JIM_TEST_DB_USERNAME", "jim_test"),
            ),
            (
                "JIM_DB_PASSWORD".into(),
                setting("JIM_TEST_DB_PASSWORD", "jim_test"),
            ),
        ]
    }

    /// A pool on this database for the test's own queries.
    pub async fn pool(&self) -> PgPool {
        PgPoolOptions::new()
            .max_connections(5)
            .connect_with(server_options(&self.name))
            .await
            .expect("connect to the test database")
    }

    /// One connection on this database, for holding locks.
    pub async fn connection(&self) -> sqlx::PgConnection {
        server_options(&self.name)
            .connect()
            .await
            .expect("connect to the test database")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs outside any runtime guarantee, so the clean-up gets a thread of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async {
                    // A service process that is still stopping may connect again between
                    // FORCE's termination and the drop; a few more tries outlast it.
                    let mut result = drop_database(&name).await;
                    for _ in 1..5 {
                        if result.is_ok() {
                            return;
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                        result = drop_database(&name).await;
                    }
                    if let Err(error) = result {
                        eprintln!("testkit: could not drop the test database {name}: {error}");
                    }
                });
            }
        })
        .join();
    }
}

/// Drops a test database, ending the sessions still on it.
async fn drop_database(name: &str) -> Result<(), sqlx::Error> {
    let mut connection = server_options("postgres").connect().await?;
    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut connection)
        .await?;
    Ok(())
}

/// The path of a workspace binary such as `jim-worker`, next to the test's own executable.
pub fn binary(name: &str) -> PathBuf {
    let test_executable = std::env::current_exe().expect("the test's own path");
    // target/<triple>/debug/deps/<test> → target/<triple>/debug/<name>
    let folder = test_executable
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from target/.../deps");
    let path = folder.join(name);
    assert!(
        path.exists(),
        "`{}` is missing; build the service binaries first: `cargo build --workspace --bins`",
        path.display()
    );
    path
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// A service binary running as a child process, its output in a file; killed when dropped.
pub struct ServiceProcess {
    child: Child,
    pub output: PathBuf,
    pub folder: tempfile_folder::Folder,
}

/// A temporary folder removed on drop, without another dependency.
pub mod tempfile_folder {
    use std::path::{Path, PathBuf};

    pub struct Folder(PathBuf);

    impl Folder {
        pub fn new(label: &str) -> Self {
            let path =
                std::env::temp_dir().join(format!("jim-{label}-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&path).expect("create a temporary folder");
            Self(path)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Folder {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl ServiceProcess {
    /// Starts `binary` with `env` on top of a clean environment: a log folder and a heartbeat
    /// file inside a temporary folder, `Debug` logs, and nothing inherited but `PATH`.
    pub fn start(binary_name: &str, env: &[(String, String)]) -> Self {
        let folder = tempfile_folder::Folder::new(binary_name);
        let output = folder.path().join("output.log");
        let file = File::create(&output).expect("create the output file");
        let mut command = Command::new(binary(binary_name));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("JIM_LOG_LEVEL", "Debug")
            .env("JIM_LOG_PATH", folder.path().join("logs"))
            .env("JIM_HEARTBEAT_PATH", folder.path().join("healthcheck"))
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("clone the output file"))
            .stderr(file);
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {binary_name}: {error}"));
        Self {
            child,
            output,
            folder,
        }
    }

    /// Everything the process printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.output).unwrap_or_default()
    }

    /// The heartbeat file this process writes.
    pub fn heartbeat_path(&self) -> PathBuf {
        self.folder.path().join("healthcheck")
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process has exited, and how.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("query the child process")
    }

    /// Kills the process at once (SIGKILL), as a crash or an OOM kill would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM, as `docker stop` does, and waits up to `timeout` for the exit.
    pub fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Some(status) = self.try_status() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `condition` every 100 ms until it is true or `timeout` passes; returns whether it held.
pub async fn eventually<F, Fut>(timeout: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if condition().await {
            return true;
        }
        if started.elapsed() > timeout {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An HTTP client for tests (plain HTTP on loopback).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()
        .expect("build the test HTTP client")
}

impl TestDatabase {
    /// Applies the migrations and leaves maintenance mode, as a worker's start-up does, for
    /// tests of the web service that do not need a worker running.
    pub async fn migrate_and_open(&self) -> PgPool {
        let pool = self.pool().await;
        jim_common::database::migrate(&pool)
            .await
            .expect("apply the migrations");
        jim_common::database::set_maintenance(&pool, false)
            .await
            .expect("leave maintenance");
        pool
    }
}

/// Starts `jim-web` on a free loopback port and waits until it is live (it serves before the
/// database is reachable); returns the process and its base URL.
pub async fn start_web(env: &[(String, String)]) -> (ServiceProcess, String) {
    let port = free_port();
    let mut env = env.to_vec();
    env.push(("JIM_LISTEN_ADDRESS".into(), format!("127.0.0.1:{port}")));
    let web = ServiceProcess::start("jim-web", &env);
    let base = format!("http://127.0.0.1:{port}");
    wait_for_status(
        &web,
        &base,
        "/api/v1/health/live",
        200,
        Duration::from_secs(20),
    )
    .await;
    (web, base)
}

/// Waits until `GET {base}{path}` answers `status`; panics with the service output if not.
pub async fn wait_for_status(
    process: &ServiceProcess,
    base: &str,
    path: &str,
    status: u16,
    timeout: Duration,
) {
    let client = http_client();
    let url = format!("{base}{path}");
    let reached = eventually(timeout, || {
        let request = client.get(&url).send();
        async move { matches!(request.await, Ok(response) if response.status().as_u16() == status) }
    })
    .await;
    assert!(
        reached,
        "{url} never answered {status}; the service printed:\n{}",
        process.output()
    );
}

impl TestDatabase {
    /// The `JIM_DB_*` variables for a database that may not exist yet.
    pub fn env_for(name: &str) -> Vec<(String, String)> {
        TestDatabase {
            name: name.to_string(),
        }
        .service_env_without_drop()
    }

    fn service_env_without_drop(self) -> Vec<(String, String)> {
        let env = self.service_env();
        std::mem::forget(self);
        env
    }

    /// Creates the database `name` (for a test that chose the name before it existed).
    pub async fn create_named(name: &str) -> Self {
        let mut connection = server_options("postgres")
            .connect()
            .await
            .expect("reach the test server");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut connection)
            .await
            .expect("CREATE DATABASE");
        Self {
            name: name.to_string(),
        }
    }
}
