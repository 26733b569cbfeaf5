//! Structured JSON logs, one line an event, to stdout and to one file per service and day
//! under `JIM_LOG_PATH`.

use std::io;

use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::MakeWriterExt;

use crate::{LogConfig, Service, VERSION};

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    #[error("cannot create the log folder `{path}` (from `JIM_LOG_PATH`): {source}")]
    Folder { path: String, source: io::Error },
    #[error("cannot open a log file in `{path}` (from `JIM_LOG_PATH`): {message}")]
    File { path: String, message: String },
}

/// Installs the global subscriber and logs the start line (`Starting JIM.Web`, with the version).
///
/// Files are named `jim-<service>.YYYY-MM-DD.log`, so the Logs page and an administrator can
/// find one service's day at a glance.
pub fn init(service: Service, config: &LogConfig) -> Result<(), LoggingError> {
    let folder = config.path.display().to_string();
    std::fs::create_dir_all(&config.path).map_err(|source| LoggingError::Folder {
        path: folder.clone(),
        source,
    })?;
    let file = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(format!("jim-{}", service.key()))
        .filename_suffix("log")
        .build(&config.path)
        .map_err(|error| LoggingError::File {
            path: folder,
            message: error.to_string(),
        })?;

    let level = config.level.tracing_level();
    let requests = if config.requests { "info" } else { "warn" };
    // Library chatter (every SQL statement, every connection) stays out of the log unless the
    // administrator asks for Verbose.
    let libraries = if level == tracing::Level::TRACE {
        "debug"
    } else {
        "warn"
    };
    let filter = EnvFilter::new(format!(
        "{level},sqlx={libraries},hyper={libraries},h2={libraries},tower_http={requests}"
    ));

    // A second init in the same process (tests) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(true)
        .with_env_filter(filter)
        .with_writer(io::stdout.and(file))
        .try_init();

    tracing::info!(
        service = service.key(),
        version = VERSION,
        "Starting {} {}",
        service.display_name(),
        VERSION
    );
    Ok(())
}
