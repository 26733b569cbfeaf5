//! What every service binary does first: read its configuration, set up logging, start the
//! runtime and run until shutdown, with the exit codes the images and compose rely on.

use std::future::Future;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use crate::config::ConfigError;
use crate::healthcheck::{HEALTHY, UNHEALTHY, check_heartbeat_file};
use crate::{LogConfig, Service};

/// The exit code of a missing or malformed setting.
pub const CONFIGURATION_ERROR: u8 = 2;

/// Runs a service: `config` is its parsed configuration, `log` picks the logging settings out
/// of it, and `run` is the service's life until shutdown. A configuration error prints one line
/// naming the variable and exits 2; a failure while running is logged and exits 1.
pub fn run_service<C, Run, Fut>(
    service: Service,
    config: Result<C, ConfigError>,
    log: impl FnOnce(&C) -> &LogConfig,
    run: Run,
) -> ExitCode
where
    Run: FnOnce(C) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let config = match config {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(CONFIGURATION_ERROR);
        }
    };
    if let Err(error) = crate::logging::init(service, log(&config)) {
        eprintln!("error: {error}");
        return ExitCode::from(CONFIGURATION_ERROR);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{} stopped: {error:#}", service.display_name());
            ExitCode::FAILURE
        }
    }
}

/// The `healthcheck` subcommand of the worker and the scheduler: healthy while the heartbeat
/// file is younger than `max_age`.
pub fn heartbeat_healthcheck(path: &Path, max_age: Duration) -> ExitCode {
    match check_heartbeat_file(path, max_age) {
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
