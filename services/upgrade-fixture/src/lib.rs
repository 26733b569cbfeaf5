//! Worker builds that exist only for the installer's upgrade tests. Migrations are built into
//! the worker at compile time, so "version B with a new migration" has to be a binary of its
//! own: [`next_migrator`] is this release's migrations plus one that creates the table
//! `upgrade_fixture_marker`. `jim-worker-next` is the real worker with it; `jim-worker-broken`
//! applies it and then stops with an error, as a release whose worker never becomes healthy.

use std::borrow::Cow;
use std::process::ExitCode;

use jim_common::database::MIGRATOR;
use sqlx::SqlStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// The version of the extra migration: after every real one of this release.
pub const MARKER_MIGRATION_VERSION: i64 = 29_991_231_000_001;

/// The table the extra migration creates.
pub const MARKER_TABLE: &str = "upgrade_fixture_marker";

const MARKER_SQL: &str = "CREATE TABLE upgrade_fixture_marker (\
    id integer PRIMARY KEY, note text NOT NULL); \
    INSERT INTO upgrade_fixture_marker (id, note) VALUES (1, 'created by the next release');";

/// This release's migrations plus the marker migration.
pub fn next_migrator() -> Migrator {
    let mut migrations: Vec<Migration> = MIGRATOR.migrations.to_vec();
    migrations.push(Migration::new(
        MARKER_MIGRATION_VERSION,
        Cow::Borrowed("upgrade fixture marker"),
        MigrationType::Simple,
        SqlStr::from_static(MARKER_SQL),
        false,
    ));
    Migrator::with_migrations(migrations)
}

/// What the command line asked for; the same subcommands as `jim-worker`.
pub enum Request {
    Run,
    Healthcheck,
    SchemaVersion,
    Unknown(String),
}

/// Reads the subcommand the way `jim-worker` does (none means run).
pub fn request() -> Request {
    match std::env::args().nth(1).as_deref() {
        None | Some("run") => Request::Run,
        Some("healthcheck") => Request::Healthcheck,
        Some("schema-version") => Request::SchemaVersion,
        Some(other) => Request::Unknown(other.to_string()),
    }
}

/// The answer to an unknown subcommand.
pub fn unknown(argument: &str) -> ExitCode {
    eprintln!("error: unknown subcommand `{argument}` (run, healthcheck, schema-version)");
    ExitCode::from(2)
}
