//! `/api/v1/synchronisation/connected-systems/{id}/run-profiles`: list, create, get, delete,
//! and execute (queue a run: 202 with the activity and the worker task).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use jim_common::identity::{self, EnqueueError, QueuedRun};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::api::connected_systems::checked_file_path;
use crate::api::{ApiJson, PathIds, checked_name, conflict_on_duplicate, not_found};
use crate::auth::Administrator;
use crate::error::{ApiError, ErrorBody};

/// What a run profile does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum RunType {
    /// Reads the whole file into the connector space.
    FullImport,
    /// Writes the connector space to the file.
    Export,
}

impl RunType {
    pub fn as_str(self) -> &'static str {
        match self {
            RunType::FullImport => identity::RunType::FullImport.as_str(),
            RunType::Export => identity::RunType::Export.as_str(),
        }
    }
}

/// A run profile of a connected system.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct RunProfile {
    pub id: Uuid,
    pub connected_system_id: Uuid,
    pub name: String,
    /// `FullImport` or `Export`.
    pub run_type: String,
    /// Overrides the connected system's file, relative to the connector files folder.
    pub file_path: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The body of a create request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateRunProfile {
    pub name: String,
    pub run_type: RunType,
    pub file_path: Option<String>,
}

/// The answer to an execute request: poll the activity for progress.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueuedRunAnswer {
    pub activity_id: Uuid,
    pub task_id: Uuid,
    pub message: String,
}

impl From<QueuedRun> for QueuedRunAnswer {
    fn from(run: QueuedRun) -> Self {
        Self {
            activity_id: run.activity_id,
            task_id: run.task_id,
            message: format!(
                "queued; follow it at /api/v1/activities/{}/progress",
                run.activity_id
            ),
        }
    }
}

const COLUMNS: &str = "id, connected_system_id, name, run_type, file_path, created_at";

/// The run profiles of one connected system, by name.
pub async fn of_system(pool: &PgPool, system_id: Uuid) -> Result<Vec<RunProfile>, sqlx::Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM run_profiles WHERE connected_system_id = $1 ORDER BY name");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(system_id)
        .fetch_all(pool)
        .await
}

async fn system_exists(pool: &PgPool, system_id: Uuid) -> Result<(), ApiError> {
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM connected_systems WHERE id = $1)")
            .bind(system_id)
            .fetch_one(pool)
            .await?;
    if exists {
        Ok(())
    } else {
        Err(not_found("connected system", system_id))
    }
}

async fn find(pool: &PgPool, system_id: Uuid, id: Uuid) -> Result<RunProfile, ApiError> {
    system_exists(pool, system_id).await?;
    let sql =
        format!("SELECT {COLUMNS} FROM run_profiles WHERE connected_system_id = $1 AND id = $2");
    let profile: Option<RunProfile> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(system_id)
        .bind(id)
        .fetch_optional(pool)
        .await?;
    profile.ok_or_else(|| not_found("run profile of this connected system", id))
}

/// Lists a connected system's run profiles.
#[utoipa::path(get, path = "/api/v1/synchronisation/connected-systems/{id}/run-profiles",
    tag = "run-profiles", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The connected system's id")),
    responses((status = 200, body = [RunProfile]), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ids: PathIds,
) -> Result<Json<Vec<RunProfile>>, ApiError> {
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    system_exists(pool, ids.first()).await?;
    Ok(Json(of_system(pool, ids.first()).await?))
}

/// Creates a run profile (administrators only).
#[utoipa::path(post, path = "/api/v1/synchronisation/connected-systems/{id}/run-profiles",
    tag = "run-profiles", security(("api_key" = [])), request_body = CreateRunProfile,
    params(("id" = Uuid, Path, description = "The connected system's id")),
    responses((status = 201, body = RunProfile), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Administrator(caller): Administrator,
    ids: PathIds,
    ApiJson(request): ApiJson<CreateRunProfile>,
) -> Result<(StatusCode, Json<RunProfile>), ApiError> {
    let system_id = ids.first();
    let name = checked_name("name", &request.name)?;
    let file_path = match request.file_path.as_deref() {
        Some(path) if !path.trim().is_empty() => Some(checked_file_path(
            "filePath",
            path,
            state.connector_files(),
        )?),
        _ => None,
    };
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    system_exists(pool, system_id).await?;
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO run_profiles (id, connected_system_id, name, run_type, file_path) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(system_id)
    .bind(name)
    .bind(request.run_type.as_str())
    .bind(file_path)
    .execute(pool)
    .await
    .map_err(|error| conflict_on_duplicate(error, "name", name))?;
    tracing::info!(run_profile = %id, connected_system = %system_id, by = %caller.key, "Run profile created");
    Ok((StatusCode::CREATED, Json(find(pool, system_id, id).await?)))
}

/// One run profile.
#[utoipa::path(get, path = "/api/v1/synchronisation/connected-systems/{id}/run-profiles/{runProfileId}",
    tag = "run-profiles", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The connected system's id"),
           ("runProfileId" = Uuid, Path, description = "The run profile's id")),
    responses((status = 200, body = RunProfile), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    ids: PathIds,
) -> Result<Json<RunProfile>, ApiError> {
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    Ok(Json(find(pool, ids.first(), ids.second()).await?))
}

/// Deletes a run profile and its schedules (administrators only).
#[utoipa::path(delete, path = "/api/v1/synchronisation/connected-systems/{id}/run-profiles/{runProfileId}",
    tag = "run-profiles", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The connected system's id"),
           ("runProfileId" = Uuid, Path, description = "The run profile's id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Administrator(caller): Administrator,
    ids: PathIds,
) -> Result<StatusCode, ApiError> {
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    let profile = find(pool, ids.first(), ids.second()).await?;
    sqlx::query("DELETE FROM run_profiles WHERE id = $1")
        .bind(profile.id)
        .execute(pool)
        .await?;
    tracing::info!(run_profile = %profile.id, by = %caller.key, "Run profile deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Queues a run of a run profile (administrators only): 202 with the activity to follow.
#[utoipa::path(post, path = "/api/v1/synchronisation/connected-systems/{id}/run-profiles/{runProfileId}/execute",
    tag = "run-profiles", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The connected system's id"),
           ("runProfileId" = Uuid, Path, description = "The run profile's id")),
    responses((status = 202, body = QueuedRunAnswer), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn execute(
    State(state): State<AppState>,
    Administrator(caller): Administrator,
    ids: PathIds,
) -> Result<(StatusCode, Json<QueuedRunAnswer>), ApiError> {
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    let profile = find(pool, ids.first(), ids.second()).await?;
    let queued = enqueue(pool, profile.id, &format!("api:{}", caller.key), None).await?;
    tracing::info!(run_profile = %profile.id, activity = %queued.activity_id, by = %caller.key, "Run profile queued");
    Ok((StatusCode::ACCEPTED, Json(queued.into())))
}

/// Queues a run in a transaction of its own.
pub async fn enqueue(
    pool: &PgPool,
    run_profile_id: Uuid,
    initiated_by: &str,
    schedule_id: Option<Uuid>,
) -> Result<QueuedRun, ApiError> {
    let mut transaction = pool.begin().await?;
    let queued = enqueue_on(&mut transaction, run_profile_id, initiated_by, schedule_id).await?;
    transaction.commit().await?;
    Ok(queued)
}

/// Queues a run inside the caller's transaction.
pub async fn enqueue_on(
    connection: &mut PgConnection,
    run_profile_id: Uuid,
    initiated_by: &str,
    schedule_id: Option<Uuid>,
) -> Result<QueuedRun, ApiError> {
    identity::enqueue_run_profile(connection, run_profile_id, initiated_by, schedule_id)
        .await
        .map_err(|error| match error {
            EnqueueError::RunProfileNotFound(id) => not_found("run profile", id),
            EnqueueError::Database(error) => error.into(),
        })
}
