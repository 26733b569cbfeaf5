//! Heartbeats: a file whose age the `healthcheck` subcommand reads, and a row per service
//! instance in the database that the web page and the API show.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::{Service, VERSION};

/// How often the heartbeat file and row are written.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(2);

/// The state a service reports in its heartbeat row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceState {
    Starting,
    WaitingForDatabase,
    Migrating,
    WaitingForReadiness,
    Ready,
    Busy,
    Stopping,
}

impl ServiceState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "Starting",
            Self::WaitingForDatabase => "WaitingForDatabase",
            Self::Migrating => "Migrating",
            Self::WaitingForReadiness => "WaitingForReadiness",
            Self::Ready => "Ready",
            Self::Busy => "Busy",
            Self::Stopping => "Stopping",
        }
    }
}

#[derive(Debug)]
struct Status {
    state: ServiceState,
    current_work: Option<String>,
}

/// What a service is doing now; shared between its main loop and its heartbeat task.
#[derive(Debug, Clone)]
pub struct StatusBoard {
    service: Service,
    instance: String,
    host: String,
    started_at: DateTime<Utc>,
    status: Arc<Mutex<Status>>,
}

impl StatusBoard {
    pub fn new(service: Service) -> Self {
        let host = host_name();
        Self {
            service,
            instance: format!("{host}/{}", std::process::id()),
            host,
            started_at: Utc::now(),
            status: Arc::new(Mutex::new(Status {
                state: ServiceState::Starting,
                current_work: None,
            })),
        }
    }

    /// The identity of this process among all instances of all services: host and process id.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    pub fn set(&self, state: ServiceState, current_work: Option<String>) {
        // A poisoned lock only means another thread panicked mid-update; the data is plain.
        let mut status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        status.state = state;
        status.current_work = current_work;
    }

    fn snapshot(&self) -> (ServiceState, Option<String>) {
        let status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        (status.state, status.current_work.clone())
    }

    /// Records this instance's heartbeat row.
    pub async fn record(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let (state, current_work) = self.snapshot();
        sqlx::query(
            "INSERT INTO service_heartbeats \
               (service, instance, host, version, state, current_work, started_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, now()) \
             ON CONFLICT (service, instance) DO UPDATE SET \
               version = excluded.version, state = excluded.state, \
               current_work = excluded.current_work, last_seen_at = now()",
        )
        .bind(self.service.key())
        .bind(&self.instance)
        .bind(&self.host)
        .bind(VERSION)
        .bind(state.as_str())
        .bind(current_work)
        .bind(self.started_at)
        .execute(pool)
        .await?;
        Ok(())
    }
}

/// Writes the heartbeat file now and then every [`HEARTBEAT_INTERVAL`], from a task of its own
/// so that long start-up work (waiting for the database, migrating) keeps the file fresh.
pub fn spawn_file_heartbeat(path: PathBuf) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut warned = false;
        loop {
            let stamp = format!("{}\n", Utc::now().to_rfc3339());
            match tokio::fs::write(&path, stamp).await {
                Ok(()) => warned = false,
                Err(error) if !warned => {
                    warned = true;
                    tracing::warn!(path = %path.display(), %error, "cannot write the heartbeat file");
                }
                Err(_) => {}
            }
            tokio::time::sleep(HEARTBEAT_INTERVAL).await;
        }
    })
}

/// Records the heartbeat row every [`HEARTBEAT_INTERVAL`] once the schema exists.
pub fn spawn_row_heartbeat(board: StatusBoard, pool: PgPool) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(error) = board.record(&pool).await {
                // Before the worker has created the table this fails; it is not worth a warning.
                tracing::debug!(%error, "cannot record the heartbeat row");
            }
            tokio::time::sleep(HEARTBEAT_INTERVAL).await;
        }
    })
}

/// The host name, as containers set it (`HOSTNAME`) or as the kernel reports it.
pub fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|name| !name.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|name| name.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}
