//! The JIM worker: the only service that changes the schema. At start it waits for the
//! database, applies the migrations, converges the built-in data and clears the maintenance
//! flag; then it claims queued tasks one at a time, so any number of workers can share a queue.

mod activity;
mod export;
mod import;
pub mod maintenance;
pub mod queue;
pub mod run_profile;
mod startup;

use std::process::ExitCode;
use std::time::Duration;

use jim_common::config::{self, ProcessEnvironment};
use jim_common::{DatabaseConfig, LogConfig, Service};

/// How stale the heartbeat file may be before the worker is unhealthy.
pub const HEALTHCHECK_MAX_AGE: Duration = Duration::from_secs(60);

/// The worker's settings, from the `JIM_*` variables.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub database: DatabaseConfig,
    pub log: LogConfig,
    pub heartbeat_path: std::path::PathBuf,
    /// How long the worker sleeps when the queue is empty (`JIM_WORKER_POLL_SECONDS`, 2).
    pub poll_interval: Duration,
    /// A running task whose heartbeat is older than this is taken back
    /// (`JIM_TASK_STALE_SECONDS`, 60).
    pub stale_after: Duration,
    /// The folder that File connectors' paths are relative to
    /// (`JIM_CONNECTOR_FILES_PATH`, `/connector-files`).
    pub connector_files_root: std::path::PathBuf,
}

impl WorkerConfig {
    pub fn from_env(env: &dyn config::Environment) -> Result<Self, config::ConfigError> {
        Ok(Self {
            database: DatabaseConfig::from_env(env)?,
            log: LogConfig::from_env(env)?,
            heartbeat_path: config::heartbeat_path(env),
            poll_interval: config::seconds(env, "JIM_WORKER_POLL_SECONDS", 2)?,
            stale_after: config::seconds(env, "JIM_TASK_STALE_SECONDS", 60)?,
            connector_files_root: jim_common::identity::connector_files_root(env),
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

/// Reads the configuration, starts the runtime and runs the worker until SIGTERM.
pub fn main() -> ExitCode {
    jim_common::entry::run_service(
        Service::Worker,
        WorkerConfig::from_env(&ProcessEnvironment),
        |config| &config.log,
        startup::run,
    )
}

/// Runs the worker with `migrator` in place of this release's migrations: the entry point of
/// builds that bring an extra migration, such as the upgrade test fixtures.
pub fn run_with_migrator(migrator: sqlx::migrate::Migrator) -> ExitCode {
    jim_common::database::use_migrator(migrator);
    main()
}

/// The `schema-version` subcommand: prints the newest migration version of `migrator`.
pub fn print_schema_version(migrator: &sqlx::migrate::Migrator) -> ExitCode {
    match migrator.iter().map(|migration| migration.version).max() {
        Some(version) => {
            println!("{version}");
            ExitCode::SUCCESS
        }
        None => ExitCode::FAILURE,
    }
}
