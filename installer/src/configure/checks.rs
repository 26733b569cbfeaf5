//! Checks against the host before `.env` is written: is the web port free, and does an external
//! database accept the answers.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::path::Path;
use std::time::Duration;

use super::settings::WebPort;

/// The compose service of the web container, and the labels compose puts on its containers.
const WEB_SERVICE: &str = "jim.web";
const SERVICE_LABEL: &str = "com.docker.compose.service";
const WORKING_DIR_LABEL: &str = "com.docker.compose.project.working_dir";

/// How long the Docker Engine may take to say who holds a port.
const DOCKER_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a database connection test may take.
pub const DATABASE_TEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What listens on the web port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortStatus {
    /// Nothing: the port can be published.
    Free,
    /// This install's own `jim.web` container, which a restart will publish again.
    UsedByThisInstall,
    /// Another program.
    InUse,
}

/// Finds out whether `web_port` can be published, by binding it for a moment (on its address, or
/// on every address). A port held by this install's running `jim.web` counts as free to reuse.
/// `compose_folder` is the folder of this install's compose files.
pub fn check_port(web_port: WebPort, compose_folder: &Path) -> PortStatus {
    let address = web_port.address.unwrap_or(Ipv4Addr::UNSPECIFIED);
    match TcpListener::bind(SocketAddrV4::new(address, web_port.port)) {
        Ok(_listener) => PortStatus::Free,
        Err(error) if error.kind() == io::ErrorKind::AddrInUse => {
            if published_by_this_install(web_port.port, compose_folder) {
                PortStatus::UsedByThisInstall
            } else {
                PortStatus::InUse
            }
        }
        // Binding a low port needs root here, but the Docker Engine publishes it as root; other
        // failures (an address not on this host) show up when the stack starts, with a message
        // from Docker.
        Err(_) => PortStatus::Free,
    }
}

/// Whether this install's `jim.web` container is running and publishes `port`. Containers are
/// named after the compose project, so the container is found by its compose labels: the
/// service `jim.web` and the working folder of this install's compose files. Any failure to ask
/// Docker counts as "no".
fn published_by_this_install(port: u16, compose_folder: &Path) -> bool {
    let Ok(folder) = compose_folder.canonicalize() else {
        return false;
    };
    let filters = std::collections::HashMap::from([(
        "label".to_string(),
        vec![
            format!("{SERVICE_LABEL}={WEB_SERVICE}"),
            format!("{WORKING_DIR_LABEL}={}", folder.display()),
        ],
    )]);
    let listed = block_on_own_thread(|| async {
        let docker = bollard::Docker::connect_with_local_defaults()
            .ok()?
            .with_timeout(DOCKER_TIMEOUT);
        let options = bollard::query_parameters::ListContainersOptionsBuilder::new()
            .filters(&filters)
            .build();
        tokio::time::timeout(DOCKER_TIMEOUT, docker.list_containers(Some(options)))
            .await
            .ok()?
            .ok()
    });
    let Some(Some(containers)) = listed else {
        return false;
    };
    // Listing without `all` returns running containers only.
    containers.iter().any(|container| {
        container
            .ports
            .iter()
            .flatten()
            .any(|binding| binding.public_port == Some(port))
    })
}

/// Runs a future to completion on a thread of its own with its own runtime, so that callers
/// may be inside an async runtime or not. `None` when the runtime cannot start.
fn block_on_own_thread<F, T>(make_future: impl FnOnce() -> F + Send) -> Option<T>
where
    F: Future<Output = T>,
    T: Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                Some(runtime.block_on(make_future()))
            })
            .join()
            .ok()
            .flatten()
    })
}

/// What an external database connection test needs.
#[derive(Debug, Clone)]
pub struct DatabaseTarget<'a> {
    /// `JIM_DB_HOSTNAME`: host, or host:port.
    pub host: &'a str,
    /// `JIM_DB_NAME`.
    pub name: &'a str,
    /// `JIM_DB_USERNAME`.
    pub username: &'a str,
    /// `JIM_DB_PASSWORD`.
    pub password: &'a str,
}

/// Connects to the database and signs in as JIM would (TCP, then PostgreSQL's start-up and
/// authentication), then disconnects. Returns the reason on failure; the reason never holds the
/// password.
pub fn test_database_connection(target: &DatabaseTarget<'_>) -> Result<(), String> {
    use sqlx::{ConnectOptions, Connection};

    let (host, port) = match target.host.rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse::<u16>().map_err(|_| "bad port".to_string())?,
        ),
        None => (target.host, 5432),
    };
    let options = sqlx::postgres::PgConnectOptions::new_without_pgpass()
        .host(host)
        .port(port)
        .username(target.username)
        .password(target.password)
        .database(target.name)
        .application_name("jim-install");

    let outcome = block_on_own_thread(|| async {
        match tokio::time::timeout(DATABASE_TEST_TIMEOUT, options.connect()).await {
            Err(_) => Err(format!(
                "no answer within {} seconds",
                DATABASE_TEST_TIMEOUT.as_secs()
            )),
            Ok(Err(error)) => Err(error.to_string()),
            Ok(Ok(connection)) => {
                // A failed goodbye does not make the sign-in any less successful.
                let _ = connection.close().await;
                Ok(())
            }
        }
    });
    outcome.unwrap_or_else(|| Err("cannot start the connection test".to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listening_port_is_in_use_and_a_released_one_is_free() {
        let listener = TcpListener::bind("0.0.0.0:0").expect("bind a free port");
        let port = listener.local_addr().expect("address").port();
        let folder = tempfile::tempdir().expect("a temporary folder");
        let web_port = WebPort {
            address: None,
            port,
        };
        assert_eq!(check_port(web_port, folder.path()), PortStatus::InUse);
        drop(listener);
        assert_eq!(check_port(web_port, folder.path()), PortStatus::Free);
    }

    #[test]
    fn checks_also_work_from_inside_an_async_runtime() {
        // `jim-install install` runs inside a Tokio runtime; a nested runtime would panic.
        let listener = TcpListener::bind("0.0.0.0:0").expect("bind a free port");
        let port = listener.local_addr().expect("address").port();
        let folder = tempfile::tempdir().expect("a temporary folder");
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        runtime.block_on(async {
            let web_port = WebPort {
                address: None,
                port,
            };
            assert_eq!(check_port(web_port, folder.path()), PortStatus::InUse);
            let closed = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
            let host = closed.local_addr().expect("address").to_string();
            drop(closed);
            let target = DatabaseTarget {
                host: &host,
                name: "jim",
                username: "jim",
                password: "x",
            };
            assert!(test_database_connection(&target).is_err());
        });
    }

    #[test]
    fn a_closed_port_fails_the_database_test_with_a_reason() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let port = listener.local_addr().expect("address").port();
        drop(listener);
        let host = format!("127.0.0.1:{port}");
        let reason = test_database_connection(&DatabaseTarget {
            host: &host,
            name: "jim",
            username: "jim",
            password: "not-shown-anywhere",
        })
        .expect_err("nothing listens");
        assert!(!reason.contains("not-shown-anywhere"), "{reason}");
    }
}
