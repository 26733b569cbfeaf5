//! Connecting to PostgreSQL: waiting for it at start with back-off, and the schema migrations
//! that only the worker applies.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};

use crate::DatabaseConfig;

/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The migrations of this release, built into every service binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The advisory lock held while migrating, so that two workers never migrate at once.
/// Its value spells `JIMMIG` in ASCII.
pub const MIGRATION_LOCK_KEY: i64 = 0x4a49_4d4d_4947;

/// What can go wrong with the database.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error(
        "the database at `{address}` was not reachable within {seconds} s ({attempts} attempts): \
         {last_error}"
    )]
    Unreachable {
        address: String,
        seconds: u64,
        attempts: u32,
        last_error: String,
    },
    #[error("applying the database migrations failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
}

/// The connection options for `config`.
pub fn connect_options(config: &DatabaseConfig, application: &str) -> PgConnectOptions {
    PgConnectOptions::new()
        .host(&config.host)
        .port(config.port)
        .database(&config.name)
        .username(&config.username)
        .password(&config.password)
        .application_name(application)
}

/// The pause before retry number `attempt` (1-based): 1, 2, 4 and 8 seconds, then every 15.
pub fn retry_delay(attempt: u32) -> Duration {
    match attempt {
        1 => Duration::from_secs(1),
        2 => Duration::from_secs(2),
        3 => Duration::from_secs(4),
        4 => Duration::from_secs(8),
        _ => Duration::from_secs(15),
    }
}

/// Connects a pool, retrying an unreachable database with back-off until the start-up budget
/// (`JIM_DB_STARTUP_WAIT_SECONDS`, five minutes by default) runs out. Every failed attempt is
/// logged, so that an administrator watching `docker compose logs` sees why a service waits.
pub async fn wait_for_database(
    config: &DatabaseConfig,
    application: &str,
    max_connections: u32,
) -> Result<PgPool, DatabaseError> {
    let options = connect_options(config, application);
    let started = Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        // One plain connection per attempt: a pool would retry inside its own timeout and
        // hide the attempts from the log.
        let probe = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options));
        let error = match probe.await {
            Ok(Ok(connection)) => {
                let _ = connection.close().await;
                let pool = PgPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options.clone())
                    .await?;
                tracing::info!(
                    database = %config.display_address(),
                    attempt,
                    "Connected to the database"
                );
                return Ok(pool);
            }
            Ok(Err(error)) => error.to_string(),
            Err(_) => format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
        };

        let elapsed = started.elapsed();
        let delay = retry_delay(attempt);
        if elapsed + delay > config.startup_wait {
            tracing::error!(
                database = %config.display_address(),
                attempt,
                "The database is still not reachable after {} s: {error}. Giving up.",
                elapsed.as_secs()
            );
            return Err(DatabaseError::Unreachable {
                address: config.display_address(),
                seconds: config.startup_wait.as_secs(),
                attempts: attempt,
                last_error: error,
            });
        }
        tracing::warn!(
            database = %config.display_address(),
            attempt,
            "The database is not reachable yet (attempt {attempt}, {} s elapsed): {error}. \
             Retrying in {} s.",
            elapsed.as_secs(),
            delay.as_secs()
        );
        tokio::time::sleep(delay).await;
    }
}

/// Migrations that replace [`MIGRATOR`] in [`migrate`] for the rest of the process.
static CHOSEN_MIGRATOR: std::sync::OnceLock<Migrator> = std::sync::OnceLock::new();

/// Makes [`migrate`] apply `migrator` instead of this release's migrations from now on. Only
/// builds that carry migrations of their own (the upgrade test fixtures) call it, before the
/// worker starts; it returns false when a migrator was chosen already.
pub fn use_migrator(migrator: Migrator) -> bool {
    CHOSEN_MIGRATOR.set(migrator).is_ok()
}

/// Applies every pending migration, each in its own transaction, under the migration lock.
pub async fn migrate(pool: &PgPool) -> Result<(), DatabaseError> {
    let mut connection = pool.acquire().await?;
    tracing::info!("Waiting for the migration lock");
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK_KEY)
        .execute(&mut *connection)
        .await?;

    let pending = pending_migrations(pool).await?;
    if pending.is_empty() {
        tracing::info!("The database schema is up to date");
    } else {
        tracing::info!(count = pending.len(), versions = ?pending, "Applying database migrations");
    }

    // The lock above already serialises migrators; sqlx's own lock would only wait on it.
    let chosen = CHOSEN_MIGRATOR.get().unwrap_or(&MIGRATOR);
    let mut migrator = Migrator::with_migrations(chosen.migrations.to_vec());
    migrator.set_locking(false);
    let result = migrator.run(&mut *connection).await;

    let unlock = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(MIGRATION_LOCK_KEY)
        .execute(&mut *connection)
        .await;
    result?;
    unlock?;
    Ok(())
}

/// The versions of the built-in migrations that the database has not applied yet.
pub async fn pending_migrations(pool: &PgPool) -> Result<Vec<i64>, sqlx::Error> {
    let table: Option<String> = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
        .fetch_one(pool)
        .await?;
    let applied: BTreeSet<i64> = if table.is_some() {
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(pool)
            .await?
            .into_iter()
            .collect()
    } else {
        BTreeSet::new()
    };
    Ok(MIGRATOR
        .iter()
        .filter(|migration| migration.migration_type.is_up_migration())
        .map(|migration| migration.version)
        .filter(|version| !applied.contains(version))
        .collect())
}

/// The newest schema version the database has applied, if any.
pub async fn schema_version(pool: &PgPool) -> Result<Option<i64>, sqlx::Error> {
    let table: Option<String> = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
        .fetch_one(pool)
        .await?;
    if table.is_none() {
        return Ok(None);
    }
    sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await
}

/// Sets the maintenance flag that web and scheduler read to decide whether JIM is ready.
pub async fn set_maintenance(pool: &PgPool, enabled: bool) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO service_settings (key, value, updated_at) \
         VALUES ('Maintenance.IsEnabled', $1, now()) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()",
    )
    .bind(if enabled { "true" } else { "false" })
    .execute(pool)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_then_settle_at_fifteen_seconds() {
        let delays: Vec<u64> = (1..=7)
            .map(|attempt| retry_delay(attempt).as_secs())
            .collect();
        assert_eq!(delays, [1, 2, 4, 8, 15, 15, 15]);
    }

    #[test]
    fn migrations_are_built_in() {
        assert!(MIGRATOR.iter().count() >= 1);
    }
}
