//! Whether JIM is ready: learned only through the database, as the worker signals nothing
//! directly. JIM is ready when every built-in migration is applied and the maintenance flag,
//! which the worker clears after converging the built-in data, is off.

use serde::Serialize;
use sqlx::PgPool;

use crate::database::pending_migrations;

/// Why JIM is not ready, as the `reason` of the 503 answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotReadyReason {
    /// No connection to the database (yet).
    DatabaseUnavailable,
    /// The worker has not applied every migration of this release yet.
    PendingMigrations,
    /// The worker has not finished start-up, or an administrator put JIM in maintenance.
    MaintenanceMode,
    /// The check itself failed; the detail says why.
    Error,
}

impl NotReadyReason {
    /// The text used in log lines and the web page.
    pub fn describe(self) -> &'static str {
        match self {
            Self::DatabaseUnavailable => "waiting for the database",
            Self::PendingMigrations => "waiting for the worker to migrate the database",
            Self::MaintenanceMode => "in maintenance mode",
            Self::Error => "the readiness check failed",
        }
    }
}

/// The state of the application as seen from the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    NotReady {
        reason: NotReadyReason,
        detail: Option<String>,
    },
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        matches!(self, Readiness::Ready)
    }
}

/// Checks readiness: the pending migrations (two short queries) and the maintenance flag (one).
pub async fn check(pool: &PgPool) -> Readiness {
    check_with(pool, &MigrationsSeen::default()).await
}

/// Remembers that this release's migrations were all applied. A database's schema only moves
/// forward, so once seen complete they need not be asked again, and each later readiness check
/// is a single query.
#[derive(Debug, Default)]
pub struct MigrationsSeen(std::sync::atomic::AtomicBool);

/// [`check`], skipping the migration queries once `seen` says they were complete.
pub async fn check_with(pool: &PgPool, seen: &MigrationsSeen) -> Readiness {
    match check_inner(pool, seen).await {
        Ok(readiness) => readiness,
        Err(error @ (sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed)) => {
            Readiness::NotReady {
                reason: NotReadyReason::DatabaseUnavailable,
                detail: Some(error.to_string()),
            }
        }
        Err(error) => Readiness::NotReady {
            reason: NotReadyReason::Error,
            detail: Some(error.to_string()),
        },
    }
}

async fn check_inner(pool: &PgPool, seen: &MigrationsSeen) -> Result<Readiness, sqlx::Error> {
    use std::sync::atomic::Ordering;
    if !seen.0.load(Ordering::Relaxed) {
        if !pending_migrations(pool).await?.is_empty() {
            return Ok(Readiness::NotReady {
                reason: NotReadyReason::PendingMigrations,
                detail: None,
            });
        }
        seen.0.store(true, Ordering::Relaxed);
    }
    let maintenance: Option<String> = sqlx::query_scalar(
        "SELECT value FROM service_settings WHERE key = 'Maintenance.IsEnabled'",
    )
    .fetch_optional(pool)
    .await?;
    if maintenance.as_deref() == Some("false") {
        Ok(Readiness::Ready)
    } else {
        Ok(Readiness::NotReady {
            reason: NotReadyReason::MaintenanceMode,
            detail: None,
        })
    }
}
