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

/// Checks readiness with one short round trip to the database.
pub async fn check(pool: &PgPool) -> Readiness {
    match check_inner(pool).await {
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

async fn check_inner(pool: &PgPool) -> Result<Readiness, sqlx::Error> {
    if !pending_migrations(pool).await?.is_empty() {
        return Ok(Readiness::NotReady {
            reason: NotReadyReason::PendingMigrations,
            detail: None,
        });
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
