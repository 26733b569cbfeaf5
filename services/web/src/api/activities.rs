//! `/api/v1/activities`: the record and progress of each run (list, one, its items, and its
//! progress for polling).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::api::paging::{Page, PageQuery, Paging};
use crate::api::{ApiQuery, PathIds, not_found};
use crate::error::{ApiError, ErrorBody};

/// Where an activity stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum ActivityStatus {
    InProgress,
    Complete,
    CompleteWithWarning,
    CompleteWithError,
    FailedWithError,
    Cancelled,
}

impl ActivityStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "InProgress",
            Self::Complete => "Complete",
            Self::CompleteWithWarning => "CompleteWithWarning",
            Self::CompleteWithError => "CompleteWithError",
            Self::FailedWithError => "FailedWithError",
            Self::Cancelled => "Cancelled",
        }
    }
}

/// An activity: one run of a run profile, with its counts.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    pub id: Uuid,
    pub connected_system_id: Option<Uuid>,
    pub connected_system_name: Option<String>,
    pub run_profile_id: Option<Uuid>,
    pub run_profile_name: Option<String>,
    pub task_id: Option<Uuid>,
    pub schedule_id: Option<Uuid>,
    /// `FullImport` or `Export`.
    pub run_type: String,
    /// `InProgress`, `Complete`, `CompleteWithWarning`, `CompleteWithError`,
    /// `FailedWithError` or `Cancelled`.
    pub status: String,
    pub initiated_by: String,
    pub message: Option<String>,
    pub phase: String,
    pub objects_processed: i64,
    pub objects_total: Option<i64>,
    pub added: i64,
    pub updated: i64,
    pub deleted: i64,
    pub unchanged: i64,
    pub errors: i64,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// The progress of an activity, small enough to poll every second.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivityProgress {
    pub activity_id: Uuid,
    pub status: String,
    pub phase: String,
    pub objects_processed: i64,
    pub objects_total: Option<i64>,
    /// From 0 to 100, when the total is known.
    pub percent_complete: Option<f64>,
    pub message: Option<String>,
    /// True once the activity will not change any more.
    pub is_finished: bool,
}

impl From<&Activity> for ActivityProgress {
    fn from(activity: &Activity) -> Self {
        let percent_complete = activity
            .objects_total
            .filter(|total| *total > 0)
            .map(|total| (activity.objects_processed as f64 * 100.0 / total as f64).min(100.0));
        Self {
            activity_id: activity.id,
            status: activity.status.clone(),
            phase: activity.phase.clone(),
            objects_processed: activity.objects_processed,
            objects_total: activity.objects_total,
            percent_complete,
            message: activity.message.clone(),
            is_finished: activity.status != "InProgress",
        }
    }
}

/// A row or object that a run reported on.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct ActivityItem {
    pub id: i64,
    /// `Warning` or `Error`.
    pub severity: String,
    pub kind: String,
    pub line_number: Option<i64>,
    pub external_id: Option<String>,
    pub message: String,
    pub created_at: DateTime<Utc>,
}

/// The filters and paging of the activity list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// The page to return, from 1 (default 1).
    #[param(minimum = 1)]
    pub page: Option<i64>,
    /// Items per page, 1 to 100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<i64>,
    /// Only this connected system's activities.
    pub connected_system_id: Option<Uuid>,
    /// Only activities with this status.
    #[param(inline)]
    pub status: Option<ActivityStatus>,
}

const COLUMNS: &str = "a.id, a.connected_system_id, c.name AS connected_system_name, \
    a.run_profile_id, r.name AS run_profile_name, a.task_id, a.schedule_id, a.run_type, \
    a.status, a.initiated_by, a.message, a.phase, a.objects_processed, a.objects_total, \
    a.added, a.updated, a.deleted, a.unchanged, a.errors, a.created_at, a.started_at, \
    a.completed_at";
const FROM: &str = "FROM activities a \
    LEFT JOIN connected_systems c ON c.id = a.connected_system_id \
    LEFT JOIN run_profiles r ON r.id = a.run_profile_id";

/// One page of activities, newest first, optionally of one connected system or status.
pub async fn list_page(
    pool: &PgPool,
    paging: Paging,
    connected_system_id: Option<Uuid>,
    status: Option<&str>,
) -> Result<Page<Activity>, sqlx::Error> {
    let filter = "WHERE ($1::uuid IS NULL OR a.connected_system_id = $1) \
                  AND ($2::text IS NULL OR a.status = $2)";
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) {FROM} {filter}"
    )))
    .bind(connected_system_id)
    .bind(status)
    .fetch_one(pool)
    .await?;
    let sql = format!(
        "SELECT {COLUMNS} {FROM} {filter} ORDER BY a.created_at DESC, a.id LIMIT $3 OFFSET $4"
    );
    let items = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(connected_system_id)
        .bind(status)
        .bind(paging.page_size)
        .bind(paging.offset())
        .fetch_all(pool)
        .await?;
    Ok(paging.envelope(items, total))
}

/// One activity, if it exists.
pub async fn find(pool: &PgPool, id: Uuid) -> Result<Option<Activity>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} {FROM} WHERE a.id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// One page of an activity's items, in the order they were reported.
pub async fn items_page(
    pool: &PgPool,
    activity_id: Uuid,
    paging: Paging,
) -> Result<Page<ActivityItem>, sqlx::Error> {
    let total: i64 =
        sqlx::query_scalar("SELECT count(*) FROM activity_items WHERE activity_id = $1")
            .bind(activity_id)
            .fetch_one(pool)
            .await?;
    let items = sqlx::query_as(
        "SELECT id, severity, kind, line_number, external_id, message, created_at \
         FROM activity_items WHERE activity_id = $1 ORDER BY id LIMIT $2 OFFSET $3",
    )
    .bind(activity_id)
    .bind(paging.page_size)
    .bind(paging.offset())
    .fetch_all(pool)
    .await?;
    Ok(paging.envelope(items, total))
}

async fn found(pool: &PgPool, id: Uuid) -> Result<Activity, ApiError> {
    find(pool, id)
        .await?
        .ok_or_else(|| not_found("activity", id))
}

/// Lists activities, newest first.
#[utoipa::path(get, path = "/api/v1/activities", tag = "activities",
    security(("api_key" = [])), params(ActivityQuery),
    responses((status = 200, body = Page<Activity>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ActivityQuery>,
) -> Result<Json<Page<Activity>>, ApiError> {
    let paging = PageQuery {
        page: query.page,
        page_size: query.page_size,
    }
    .checked()?;
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    let status = query.status.map(ActivityStatus::as_str);
    Ok(Json(
        list_page(pool, paging, query.connected_system_id, status).await?,
    ))
}

/// One activity.
#[utoipa::path(get, path = "/api/v1/activities/{id}", tag = "activities",
    security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The activity's id")),
    responses((status = 200, body = Activity), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(State(state): State<AppState>, ids: PathIds) -> Result<Json<Activity>, ApiError> {
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    Ok(Json(found(pool, ids.first()).await?))
}

/// An activity's progress.
#[utoipa::path(get, path = "/api/v1/activities/{id}/progress", tag = "activities",
    security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The activity's id")),
    responses((status = 200, body = ActivityProgress), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn progress(
    State(state): State<AppState>,
    ids: PathIds,
) -> Result<Json<ActivityProgress>, ApiError> {
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    let activity = found(pool, ids.first()).await?;
    Ok(Json(ActivityProgress::from(&activity)))
}

/// The rows and objects an activity reported on (warnings and errors), paged.
#[utoipa::path(get, path = "/api/v1/activities/{id}/items", tag = "activities",
    security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The activity's id"), PageQuery),
    responses((status = 200, body = Page<ActivityItem>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn items(
    State(state): State<AppState>,
    ids: PathIds,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Page<ActivityItem>>, ApiError> {
    let paging = query.checked()?;
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    let activity = found(pool, ids.first()).await?;
    Ok(Json(items_page(pool, activity.id, paging).await?))
}
