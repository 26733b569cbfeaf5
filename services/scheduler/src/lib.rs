//! The JIM scheduler: once the application is ready, it enqueues a worker task for every due
//! run of every enabled schedule (cron expression or fixed interval). Each due run is enqueued
//! exactly once, also when several schedulers run side by side.

pub mod schedule;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use jim_common::config::{self, ProcessEnvironment};
use jim_common::heartbeat::{self, ServiceState, StatusBoard};
use jim_common::readiness::{self, Readiness};
use jim_common::shutdown::Shutdown;
use jim_common::{DatabaseConfig, LogConfig, Service, database};

/// How stale the heartbeat file may be before the scheduler is unhealthy.
pub const HEALTHCHECK_MAX_AGE: Duration = Duration::from_secs(120);

/// How often the scheduler asks whether the application is ready.
const READINESS_POLL: Duration = Duration::from_secs(2);

/// The scheduler's settings, from the `JIM_*` variables.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    pub database: DatabaseConfig,
    pub log: LogConfig,
    pub heartbeat_path: std::path::PathBuf,
    /// How often due schedules are looked for (`JIM_SCHEDULER_POLL_SECONDS`, 5).
    pub poll_interval: Duration,
}

impl SchedulerConfig {
    pub fn from_env(env: &dyn config::Environment) -> Result<Self, config::ConfigError> {
        let poll_interval = config::seconds(env, "JIM_SCHEDULER_POLL_SECONDS", 5)?;
        if poll_interval.is_zero() {
            return Err(config::ConfigError::Malformed {
                name: "JIM_SCHEDULER_POLL_SECONDS",
                value: "0".into(),
                expected: "a whole number of seconds, at least 1",
            });
        }
        Ok(Self {
            database: DatabaseConfig::from_env(env)?,
            log: LogConfig::from_env(env)?,
            heartbeat_path: config::heartbeat_path(env),
            poll_interval,
        })
    }
}

/// The `healthcheck` subcommand.
pub fn healthcheck() -> ExitCode {
    jim_common::entry::heartbeat_healthcheck(
        &config::heartbeat_path(&ProcessEnvironment),
        HEALTHCHECK_MAX_AGE,
    )
}

/// Reads the configuration, starts the runtime and runs the scheduler until SIGTERM.
pub fn main() -> ExitCode {
    jim_common::entry::run_service(
        Service::Scheduler,
        SchedulerConfig::from_env(&ProcessEnvironment),
        |config| &config.log,
        run,
    )
}

async fn run(config: SchedulerConfig) -> anyhow::Result<()> {
    let shutdown = Shutdown::listen();
    let board = StatusBoard::new(Service::Scheduler);
    heartbeat::spawn_file_heartbeat(config.heartbeat_path.clone());

    board.set(ServiceState::WaitingForDatabase, None);
    let pool = tokio::select! {
        pool = database::wait_for_database(&config.database, "jim.scheduler", 4) => pool?,
        () = shutdown.wait() => return Ok(()),
    };
    heartbeat::spawn_row_heartbeat(board.clone(), pool.clone());

    board.set(ServiceState::WaitingForReadiness, None);
    tracing::info!("Waiting for the application to be ready...");
    loop {
        match readiness::check(&pool).await {
            Readiness::Ready => break,
            Readiness::NotReady { reason, detail } => tracing::info!(
                reason = ?reason,
                detail = detail.as_deref().unwrap_or(""),
                "The application is not ready yet ({}). Waiting...",
                reason.describe()
            ),
        }
        if shutdown.sleep(READINESS_POLL).await {
            return Ok(());
        }
    }
    tracing::info!("The application is ready; running schedules");

    board.set(ServiceState::Ready, None);
    while !shutdown.requested() {
        match schedule::enqueue_due(&pool, board.instance()).await {
            Ok(enqueued) if !enqueued.is_empty() => {
                for run in &enqueued {
                    tracing::info!(
                        schedule = %run.schedule_name,
                        due_at = %run.due_at,
                        task = %run.task_id,
                        skipped = run.skipped_runs,
                        "Enqueued a scheduled task"
                    );
                }
            }
            Ok(_) => {}
            Err(error) => tracing::error!("cannot run the due schedules: {error:#}"),
        }
        shutdown.sleep(config.poll_interval).await;
    }

    board.set(ServiceState::Stopping, None);
    let _ = board
        .record(&pool)
        .await
        .context("cannot record the last heartbeat");
    tracing::info!("JIM.Scheduler stopped");
    Ok(())
}
