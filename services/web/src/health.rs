//! The anonymous health endpoints under `/api/v1/health`, with upstream's answers.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use jim_common::readiness::{NotReadyReason, Readiness};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;

/// The answer of `/api/v1/health` and `/api/v1/health/live`.
#[derive(Serialize, ToSchema)]
pub struct Status {
    /// `healthy` or `alive`.
    pub status: &'static str,
    pub timestamp: DateTime<Utc>,
}

/// The answer of `/api/v1/health/ready`.
#[derive(Serialize, ToSchema)]
pub struct ReadyStatus {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    /// Why JIM is not ready: `database_unavailable`, `pending_migrations`,
    /// `maintenance_mode` or `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub reason: Option<NotReadyReason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub timestamp: DateTime<Utc>,
}

/// The answer of `/api/v1/health/version`.
#[derive(Serialize, ToSchema)]
pub struct Version {
    pub product: &'static str,
    pub version: &'static str,
}

/// The process is up and serving.
#[utoipa::path(get, path = "/api/v1/health", tag = "health",
    responses((status = 200, body = Status)))]
pub async fn health() -> Json<Status> {
    Json(Status {
        status: "healthy",
        timestamp: Utc::now(),
    })
}

/// Liveness, with no dependency checks.
#[utoipa::path(get, path = "/api/v1/health/live", tag = "health",
    responses((status = 200, body = Status)))]
pub async fn live() -> Json<Status> {
    Json(Status {
        status: "alive",
        timestamp: Utc::now(),
    })
}

/// The product and its version.
#[utoipa::path(get, path = "/api/v1/health/version", tag = "health",
    responses((status = 200, body = Version)))]
pub async fn version() -> Json<Version> {
    Json(Version {
        product: "JIM",
        version: jim_common::VERSION,
    })
}

/// Ready when the database is reachable, migrated and out of maintenance.
#[utoipa::path(get, path = "/api/v1/health/ready", tag = "health",
    responses((status = 200, body = ReadyStatus), (status = 503, body = ReadyStatus)))]
pub async fn ready(State(state): State<AppState>) -> Response {
    let readiness = state.readiness().await;
    let (code, body) = match readiness {
        Readiness::Ready => (
            StatusCode::OK,
            ReadyStatus {
                status: "ready",
                reason: None,
                error: None,
                timestamp: Utc::now(),
            },
        ),
        Readiness::NotReady { reason, detail } => (
            StatusCode::SERVICE_UNAVAILABLE,
            ReadyStatus {
                status: "not_ready",
                reason: Some(reason),
                error: detail,
                timestamp: Utc::now(),
            },
        ),
    };
    (code, Json(body)).into_response()
}
