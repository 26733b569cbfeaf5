//! `/api/v1/schedules`: schedules that run a run profile on a cron expression or an interval;
//! create, list, get, delete, enable, disable, run now, and the list of a schedule's runs.

use std::str::FromStr;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, TimeDelta, Utc};
use croner::Cron;
use jim_common::identity::RUN_PROFILE_TASK;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::api::paging::{Page, PageQuery, Paging};
use crate::api::run_profiles::enqueue_on;
use crate::api::{
    ApiJson, ApiQuery, PathIds, checked_name, conflict_on_duplicate, invalid, not_found,
};
use crate::auth::{Administrator, Caller};
use crate::error::{ApiError, ErrorBody};

/// The longest interval a schedule may have: one year.
const MAX_INTERVAL_SECONDS: i64 = 366 * 24 * 3600;

/// When a schedule fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum TriggerKind {
    /// A five-field cron expression, evaluated in UTC.
    Cron,
    /// Every `intervalSeconds` seconds.
    Interval,
}

/// A schedule.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    pub id: Uuid,
    pub name: String,
    /// `Cron` or `Interval`.
    pub trigger_kind: String,
    pub cron_expression: Option<String>,
    pub interval_seconds: Option<i32>,
    /// `RunProfile` for a schedule that runs a run profile; built-in schedules have others.
    pub task_kind: String,
    pub run_profile_id: Option<Uuid>,
    pub run_profile_name: Option<String>,
    pub connected_system_id: Option<Uuid>,
    pub enabled: bool,
    pub next_run_at: Option<DateTime<Utc>>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// The body of a create request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSchedule {
    pub name: String,
    /// The run profile the schedule runs.
    pub run_profile_id: Uuid,
    pub trigger_kind: TriggerKind,
    /// For `Cron`: five fields, such as `0 2 * * *` (02:00 UTC every day).
    pub cron_expression: Option<String>,
    /// For `Interval`: seconds between runs, 1 to 31 622 400.
    pub interval_seconds: Option<i64>,
    /// Default true.
    pub enabled: Option<bool>,
}

/// One run of a schedule.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleExecution {
    pub id: Uuid,
    pub due_at: DateTime<Utc>,
    /// Which scheduler, or which API caller for a run started by hand.
    pub enqueued_by: String,
    pub created_at: DateTime<Utc>,
    pub task_id: Option<Uuid>,
    /// The worker task's status: `Queued`, `Running`, `Completed`, `Failed` or `Cancelled`.
    pub task_status: Option<String>,
    pub activity_id: Option<Uuid>,
    pub activity_status: Option<String>,
}

/// The answer to a run-now request.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleRunAnswer {
    pub execution_id: Uuid,
    pub task_id: Uuid,
    /// The activity to follow, for a schedule that runs a run profile.
    pub activity_id: Option<Uuid>,
}

/// The first run after `now` for a checked trigger.
fn first_run(
    kind: TriggerKind,
    cron: Option<&Cron>,
    interval_seconds: Option<i64>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match kind {
        TriggerKind::Cron => cron.and_then(|cron| cron.find_next_occurrence(&now, false).ok()),
        TriggerKind::Interval => interval_seconds.map(|seconds| now + TimeDelta::seconds(seconds)),
    }
}

/// Parses a stored trigger for its next run, as the scheduler would.
fn next_run_of(
    kind: &str,
    cron_expression: Option<&str>,
    interval: Option<i32>,
) -> Option<DateTime<Utc>> {
    let now = Utc::now();
    match kind {
        "Cron" => {
            let cron = Cron::from_str(cron_expression?).ok()?;
            first_run(TriggerKind::Cron, Some(&cron), None, now)
        }
        _ => first_run(TriggerKind::Interval, None, interval.map(i64::from), now),
    }
}

const COLUMNS: &str = "s.id, s.name, s.trigger_kind, s.cron_expression, s.interval_seconds, \
    s.task_kind, s.run_profile_id, r.name AS run_profile_name, \
    r.connected_system_id, s.enabled, s.next_run_at, s.last_run_at, s.created_at";
const FROM: &str = "FROM schedules s LEFT JOIN run_profiles r ON r.id = s.run_profile_id";

/// One page of schedules, by name.
pub async fn list_page(pool: &PgPool, paging: Paging) -> Result<Page<Schedule>, sqlx::Error> {
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM schedules")
        .fetch_one(pool)
        .await?;
    let sql = format!("SELECT {COLUMNS} {FROM} ORDER BY s.name LIMIT $1 OFFSET $2");
    let items = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(paging.page_size)
        .bind(paging.offset())
        .fetch_all(pool)
        .await?;
    Ok(paging.envelope(items, total))
}

/// One page of a schedule's runs, newest first.
pub async fn executions_page(
    pool: &PgPool,
    schedule_id: Uuid,
    paging: Paging,
) -> Result<Page<ScheduleExecution>, sqlx::Error> {
    let total: i64 =
        sqlx::query_scalar("SELECT count(*) FROM schedule_executions WHERE schedule_id = $1")
            .bind(schedule_id)
            .fetch_one(pool)
            .await?;
    let items = sqlx::query_as(
        "SELECT e.id, e.due_at, e.enqueued_by, e.created_at, e.task_id, t.status AS task_status, \
                a.id AS activity_id, a.status AS activity_status \
         FROM schedule_executions e \
         LEFT JOIN worker_tasks t ON t.id = e.task_id \
         LEFT JOIN activities a ON a.task_id = e.task_id \
         WHERE e.schedule_id = $1 ORDER BY e.due_at DESC, e.id LIMIT $2 OFFSET $3",
    )
    .bind(schedule_id)
    .bind(paging.page_size)
    .bind(paging.offset())
    .fetch_all(pool)
    .await?;
    Ok(paging.envelope(items, total))
}

async fn found(pool: &PgPool, id: Uuid) -> Result<Schedule, ApiError> {
    let schedule: Option<Schedule> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} {FROM} WHERE s.id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    schedule.ok_or_else(|| not_found("schedule", id))
}

/// Lists the schedules, by name.
#[utoipa::path(get, path = "/api/v1/schedules", tag = "schedules",
    security(("api_key" = [])), params(PageQuery),
    responses((status = 200, body = Page<Schedule>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Page<Schedule>>, ApiError> {
    let paging = query.checked()?;
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    Ok(Json(list_page(pool, paging).await?))
}

/// Creates a schedule that runs a run profile (administrators only).
#[utoipa::path(post, path = "/api/v1/schedules", tag = "schedules",
    security(("api_key" = [])), request_body = CreateSchedule,
    responses((status = 201, body = Schedule), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Administrator(caller): Administrator,
    ApiJson(request): ApiJson<CreateSchedule>,
) -> Result<(StatusCode, Json<Schedule>), ApiError> {
    let name = checked_name("name", &request.name)?;

    // The trigger is checked here, so that the scheduler never meets one it cannot parse.
    let (cron, cron_expression, interval_seconds) = match request.trigger_kind {
        TriggerKind::Cron => {
            if request.interval_seconds.is_some() {
                return Err(invalid(
                    "intervalSeconds",
                    "is only for the `Interval` trigger",
                ));
            }
            let Some(expression) = request.cron_expression.as_deref().map(str::trim) else {
                return Err(invalid(
                    "cronExpression",
                    "is required for the `Cron` trigger",
                ));
            };
            let cron = Cron::from_str(expression).map_err(|error| {
                invalid(
                    "cronExpression",
                    format!(
                        "`{expression}` is not a cron expression ({error}); use five fields, \
                         such as `0 2 * * *`"
                    ),
                )
            })?;
            (Some(cron), Some(expression.to_string()), None)
        }
        TriggerKind::Interval => {
            if request.cron_expression.is_some() {
                return Err(invalid("cronExpression", "is only for the `Cron` trigger"));
            }
            let Some(seconds) = request.interval_seconds else {
                return Err(invalid(
                    "intervalSeconds",
                    "is required for the `Interval` trigger",
                ));
            };
            if !(1..=MAX_INTERVAL_SECONDS).contains(&seconds) {
                return Err(invalid(
                    "intervalSeconds",
                    format!("must be between 1 and {MAX_INTERVAL_SECONDS}, not {seconds}"),
                ));
            }
            (None, None, Some(seconds))
        }
    };
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM run_profiles WHERE id = $1)")
            .bind(request.run_profile_id)
            .fetch_one(pool)
            .await?;
    if !exists {
        return Err(invalid(
            "runProfileId",
            format!("no run profile has the id `{}`", request.run_profile_id),
        ));
    }

    let id = Uuid::new_v4();
    let enabled = request.enabled.unwrap_or(true);
    let next_run_at = first_run(
        request.trigger_kind,
        cron.as_ref(),
        interval_seconds,
        Utc::now(),
    )
    .filter(|_| enabled);
    let kind = match request.trigger_kind {
        TriggerKind::Cron => "Cron",
        TriggerKind::Interval => "Interval",
    };
    sqlx::query(
        "INSERT INTO schedules (id, name, trigger_kind, cron_expression, interval_seconds, \
             task_kind, task_payload, run_profile_id, enabled, next_run_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id)
    .bind(name)
    .bind(kind)
    .bind(&cron_expression)
    .bind(interval_seconds.map(|seconds| seconds as i32))
    .bind(RUN_PROFILE_TASK)
    .bind(serde_json::json!({ "runProfileId": request.run_profile_id }))
    .bind(request.run_profile_id)
    .bind(enabled)
    .bind(next_run_at)
    .execute(pool)
    .await
    .map_err(|error| conflict_on_duplicate(error, "name", name))?;
    tracing::info!(schedule = %id, name, by = %caller.key, "Schedule created");
    Ok((StatusCode::CREATED, Json(found(pool, id).await?)))
}

/// One schedule.
#[utoipa::path(get, path = "/api/v1/schedules/{id}", tag = "schedules",
    security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The schedule's id")),
    responses((status = 200, body = Schedule), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(State(state): State<AppState>, ids: PathIds) -> Result<Json<Schedule>, ApiError> {
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    Ok(Json(found(pool, ids.first()).await?))
}

/// Deletes a schedule and its run history (administrators only).
#[utoipa::path(delete, path = "/api/v1/schedules/{id}", tag = "schedules",
    security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The schedule's id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Administrator(caller): Administrator,
    ids: PathIds,
) -> Result<StatusCode, ApiError> {
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    let deleted = sqlx::query("DELETE FROM schedules WHERE id = $1")
        .bind(ids.first())
        .execute(pool)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(not_found("schedule", ids.first()));
    }
    tracing::info!(schedule = %ids.first(), by = %caller.key, "Schedule deleted");
    Ok(StatusCode::NO_CONTENT)
}

async fn set_enabled(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    enabled: bool,
) -> Result<Json<Schedule>, ApiError> {
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    let schedule = found(pool, id).await?;
    // An enabled schedule runs next from now on, never for the time it was off.
    let next_run_at = if enabled {
        next_run_of(
            &schedule.trigger_kind,
            schedule.cron_expression.as_deref(),
            schedule.interval_seconds,
        )
    } else {
        None
    };
    sqlx::query("UPDATE schedules SET enabled = $2, next_run_at = $3 WHERE id = $1")
        .bind(id)
        .bind(enabled)
        .bind(next_run_at)
        .execute(pool)
        .await?;
    tracing::info!(schedule = %id, enabled, by = %caller.key, "Schedule switched");
    Ok(Json(found(pool, id).await?))
}

/// Enables a schedule (administrators only); its next run is computed from now.
#[utoipa::path(post, path = "/api/v1/schedules/{id}/enable", tag = "schedules",
    security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The schedule's id")),
    responses((status = 200, body = Schedule), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn enable(
    State(state): State<AppState>,
    Administrator(caller): Administrator,
    ids: PathIds,
) -> Result<Json<Schedule>, ApiError> {
    set_enabled(&state, &caller, ids.first(), true).await
}

/// Disables a schedule (administrators only).
#[utoipa::path(post, path = "/api/v1/schedules/{id}/disable", tag = "schedules",
    security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The schedule's id")),
    responses((status = 200, body = Schedule), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn disable(
    State(state): State<AppState>,
    Administrator(caller): Administrator,
    ids: PathIds,
) -> Result<Json<Schedule>, ApiError> {
    set_enabled(&state, &caller, ids.first(), false).await
}

/// Runs a schedule now, whether it is enabled or not (administrators only): 202 with the run.
#[utoipa::path(post, path = "/api/v1/schedules/{id}/run", tag = "schedules",
    security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The schedule's id")),
    responses((status = 202, body = ScheduleRunAnswer), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn run(
    State(state): State<AppState>,
    Administrator(caller): Administrator,
    ids: PathIds,
) -> Result<(StatusCode, Json<ScheduleRunAnswer>), ApiError> {
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    let schedule = found(pool, ids.first()).await?;
    let initiated_by = format!("api:{}", caller.key);

    // The task, its activity and the execution row are written together or not at all.
    let mut transaction = pool.begin().await?;
    let (task_id, activity_id) = match schedule.run_profile_id {
        Some(run_profile_id) => {
            let queued = enqueue_on(
                &mut transaction,
                run_profile_id,
                &initiated_by,
                Some(schedule.id),
            )
            .await?;
            (queued.task_id, Some(queued.activity_id))
        }
        None => {
            // A built-in schedule: its own task kind and payload, as the scheduler queues it.
            let task_id = Uuid::new_v4();
            sqlx::query(
                "INSERT INTO worker_tasks (id, kind, payload, schedule_id) \
                 SELECT $1, task_kind, task_payload, id FROM schedules WHERE id = $2",
            )
            .bind(task_id)
            .bind(schedule.id)
            .execute(&mut *transaction)
            .await?;
            (task_id, None)
        }
    };
    let execution_id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO schedule_executions (id, schedule_id, due_at, task_id, enqueued_by) \
         VALUES ($1, $2, clock_timestamp(), $3, $4)",
    )
    .bind(execution_id)
    .bind(schedule.id)
    .bind(task_id)
    .bind(&initiated_by)
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    tracing::info!(schedule = %schedule.id, task = %task_id, by = %caller.key, "Schedule run by hand");
    Ok((
        StatusCode::ACCEPTED,
        Json(ScheduleRunAnswer {
            execution_id,
            task_id,
            activity_id,
        }),
    ))
}

/// A schedule's runs, newest first.
#[utoipa::path(get, path = "/api/v1/schedules/{id}/executions", tag = "schedules",
    security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The schedule's id"), PageQuery),
    responses((status = 200, body = Page<ScheduleExecution>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn executions(
    State(state): State<AppState>,
    ids: PathIds,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Page<ScheduleExecution>>, ApiError> {
    let paging = query.checked()?;
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    let schedule = found(pool, ids.first()).await?;
    Ok(Json(executions_page(pool, schedule.id, paging).await?))
}
