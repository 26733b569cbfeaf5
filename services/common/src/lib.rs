//! What the three JIM services share: configuration from the `JIM_*` variables, JSON logging,
//! waiting for PostgreSQL at start, the schema migrations, readiness, heartbeats and the
//! `healthcheck` subcommand that Docker runs inside images that have no shell.

pub mod config;
pub mod connector_file;
pub mod database;
pub mod entry;
pub mod healthcheck;
pub mod heartbeat;
pub mod identity;
pub mod logging;
pub mod readiness;
pub mod shutdown;

pub use config::{ConfigError, DatabaseConfig, LogConfig, LogLevel};

/// The version of this release, shared by every service binary built from this workspace.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The three services of a JIM stack, with the names used in logs, heartbeats and compose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Web,
    Worker,
    Scheduler,
}

impl Service {
    /// The product-style name used in log lines, such as `JIM.Web`.
    pub fn display_name(self) -> &'static str {
        match self {
            Service::Web => "JIM.Web",
            Service::Worker => "JIM.Worker",
            Service::Scheduler => "JIM.Scheduler",
        }
    }

    /// The short name used for heartbeat rows and log file names, such as `web`.
    pub fn key(self) -> &'static str {
        match self {
            Service::Web => "web",
            Service::Worker => "worker",
            Service::Scheduler => "scheduler",
        }
    }
}
