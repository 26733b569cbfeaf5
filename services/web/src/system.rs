//! `/api/v1/system/health` (the heartbeat of every service instance) and `/api/v1/tasks`
//! (the worker queue: list, inspect, and queue a database maintenance task).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};

/// An instance not seen for this many seconds is shown as stale.
pub const STALE_AFTER_SECONDS: i64 = 30;

/// One service instance's latest heartbeat.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct ServiceHeartbeat {
    /// `web`, `worker` or `scheduler`.
    pub service: String,
    pub instance: String,
    pub host: String,
    pub version: String,
    /// The state the service reported, or `Stale` when it has not reported for 30 s.
    pub state: String,
    pub current_work: Option<String>,
    pub started_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// The answer of `/api/v1/system/health`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemHealth {
    pub web_version: &'static str,
    pub generated_at: DateTime<Utc>,
    pub services: Vec<ServiceHeartbeat>,
}

/// The heartbeats seen in the last day, newest first within each service.
pub async fn heartbeats(pool: &PgPool) -> Result<Vec<ServiceHeartbeat>, sqlx::Error> {
    sqlx::query_as(
        "SELECT service, instance, host, version, \
                CASE WHEN last_seen_at < now() - make_interval(secs => $1) \
                     AND state <> 'Stopping' THEN 'Stale' ELSE state END AS state, \
                current_work, started_at, last_seen_at \
         FROM service_heartbeats WHERE last_seen_at > now() - interval '1 day' \
         ORDER BY CASE service WHEN 'web' THEN 0 WHEN 'worker' THEN 1 ELSE 2 END, \
                  last_seen_at DESC",
    )
    .bind(STALE_AFTER_SECONDS as f64)
    .fetch_all(pool)
    .await
}

/// The heartbeat of every service instance.
#[utoipa::path(get, path = "/api/v1/system/health", tag = "system",
    security(("api_key" = [])),
    responses((status = 200, body = SystemHealth), (status = 401, body = ErrorBody)))]
pub async fn system_health(State(state): State<AppState>) -> Result<Json<SystemHealth>, ApiError> {
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    Ok(Json(SystemHealth {
        web_version: jim_common::VERSION,
        generated_at: Utc::now(),
        services: heartbeats(pool).await?,
    }))
}

/// A worker task.
#[derive(Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct WorkerTask {
    pub id: Uuid,
    pub kind: String,
    pub payload: serde_json::Value,
    /// `Queued`, `Running`, `Completed`, `Failed` or `Cancelled`.
    pub status: String,
    pub attempts: i32,
    pub schedule_id: Option<Uuid>,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub claimed_by: Option<String>,
    pub error: Option<String>,
    pub result: Option<serde_json::Value>,
}

const TASK_COLUMNS: &str = "id, kind, payload, status, attempts, schedule_id, queued_at, \
                            started_at, completed_at, claimed_by, error, result";

/// The 100 newest worker tasks.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks",
    security(("api_key" = [])),
    responses((status = 200, body = [WorkerTask]), (status = 401, body = ErrorBody)))]
pub async fn list_tasks(State(state): State<AppState>) -> Result<Json<Vec<WorkerTask>>, ApiError> {
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    let sql = format!("SELECT {TASK_COLUMNS} FROM worker_tasks ORDER BY queued_at DESC LIMIT 100");
    Ok(Json(
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(pool)
            .await?,
    ))
}

/// One worker task.
#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks",
    security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The task's id")),
    responses((status = 200, body = WorkerTask), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn get_task(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Json<WorkerTask>, ApiError> {
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    let sql = format!("SELECT {TASK_COLUMNS} FROM worker_tasks WHERE id = $1");
    let task = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    task.map(Json).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no task has the id `{id}`"),
        )
    })
}

/// The body of a request to queue a maintenance task.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueMaintenance {
    /// `Analyze` or `PurgeHistory`.
    pub operation: String,
    /// For `PurgeHistory`: keep this many days of history (default 90).
    pub retention_days: Option<i32>,
}

/// The answer to a queue request.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueuedTask {
    pub task_id: Uuid,
}

/// Queues a database maintenance task for the worker (administrators only).
#[utoipa::path(post, path = "/api/v1/tasks/maintenance", tag = "tasks",
    security(("api_key" = [])),
    request_body = QueueMaintenance,
    responses((status = 202, body = QueuedTask), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn queue_maintenance(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Json(request): Json<QueueMaintenance>,
) -> Result<(StatusCode, Json<QueuedTask>), ApiError> {
    caller.require_administrator()?;
    let payload = match (request.operation.as_str(), request.retention_days) {
        ("Analyze", None) => serde_json::json!({ "operation": "Analyze" }),
        ("PurgeHistory", days) => {
            let days = days.unwrap_or(90);
            if days < 1 {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_retention_days",
                    "`retentionDays` must be at least 1",
                ));
            }
            serde_json::json!({ "operation": "PurgeHistory", "retentionDays": days })
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_operation",
                "`operation` must be `Analyze` or `PurgeHistory` (only `PurgeHistory` takes \
                 `retentionDays`)",
            ));
        }
    };
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    let task_id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO worker_tasks (id, kind, payload) VALUES ($1, 'DatabaseMaintenance', $2)",
    )
    .bind(task_id)
    .bind(payload)
    .execute(pool)
    .await?;
    Ok((StatusCode::ACCEPTED, Json(QueuedTask { task_id })))
}
