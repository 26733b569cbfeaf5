//! A worker that applies the extra migration and then fails: the release whose worker never
//! becomes healthy, so that the installer's upgrade must go back by itself.

use std::process::ExitCode;

use jim_common::config::ProcessEnvironment;
use jim_common::database;
use jim_upgrade_fixture::{Request, next_migrator, request, unknown};
use jim_worker::WorkerConfig;

fn main() -> ExitCode {
    match request() {
        Request::Run => run(),
        // Never healthy: the heartbeat is never written.
        Request::Healthcheck => ExitCode::FAILURE,
        Request::SchemaVersion => jim_worker::print_schema_version(&next_migrator()),
        Request::Unknown(argument) => unknown(&argument),
    }
}

fn run() -> ExitCode {
    let result = tokio::runtime::Runtime::new()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| runtime.block_on(migrate_then_fail()));
    if let Err(error) = result {
        eprintln!("jim-worker-broken: {error:#}");
    }
    ExitCode::FAILURE
}

async fn migrate_then_fail() -> anyhow::Result<()> {
    let config = WorkerConfig::from_env(&ProcessEnvironment)?;
    let pool = database::wait_for_database(&config.database, "jim.worker", 2).await?;
    database::use_migrator(next_migrator());
    database::migrate(&pool).await?;
    anyhow::bail!("migrated the database, then failed on purpose (upgrade test fixture)")
}
