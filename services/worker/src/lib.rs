//! The JIM worker: the only service that changes the schema. At start it waits for the
//! database, applies the migrations, converges the built-in data and clears the maintenance
//! flag; then it claims queued tasks one at a time, so any number of workers can share a queue.

pub mod maintenance;
pub mod queue;
mod startup;

use std::process::ExitCode;
use std::time::Duration;

use jim_common::config::{self, ProcessEnvironment};
use jim_common::healthcheck::{HEALTHY, UNHEALTHY, check_heartbeat_file};
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
}

impl WorkerConfig {
    pub fn from_env(env: &dyn config::Environment) -> Result<Self, config::ConfigError> {
        Ok(Self {
            database: DatabaseConfig::from_env(env)?,
            log: LogConfig::from_env(env)?,
            heartbeat_path: config::heartbeat_path(env),
            poll_interval: config::seconds(env, "JIM_WORKER_POLL_SECONDS", 2)?,
            stale_after: config::seconds(env, "JIM_TASK_STALE_SECONDS", 60)?,
        })
    }
}

/// The `healthcheck` subcommand.
pub fn healthcheck() -> ExitCode {
    let path = config::heartbeat_path(&ProcessEnvironment);
    match check_heartbeat_file(&path, HEALTHCHECK_MAX_AGE) {
        Ok(age) => {
            println!("healthy: heartbeat {} s old", age.as_secs());
            ExitCode::from(HEALTHY as u8)
        }
        Err(message) => {
            eprintln!("unhealthy: {message}");
            ExitCode::from(UNHEALTHY as u8)
        }
    }
}

/// Reads the configuration, starts the runtime and runs the worker until SIGTERM.
pub fn main() -> ExitCode {
    let config = match WorkerConfig::from_env(&ProcessEnvironment) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    if let Err(error) = jim_common::logging::init(Service::Worker, &config.log) {
        eprintln!("error: {error}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(startup::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("JIM.Worker stopped: {error:#}");
            ExitCode::FAILURE
        }
    }
}
