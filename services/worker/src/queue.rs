//! The task queue in PostgreSQL. A worker claims the oldest queued task with
//! `FOR UPDATE SKIP LOCKED`, so that workers never wait on each other and never claim the same
//! task; while it runs a task it refreshes the task's heartbeat, so that a task whose worker
//! died can be told apart from a slow one and queued again.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{maintenance, run_profile};

/// How often a running task's heartbeat is refreshed.
pub const TASK_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(2);

/// A task claimed by this worker.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedTask {
    pub id: Uuid,
    pub kind: String,
    pub payload: Value,
    pub attempts: i32,
}

/// What tasks need from the worker's settings.
#[derive(Debug, Clone)]
pub struct TaskContext {
    /// The folder that File connectors' paths are relative to.
    pub connector_files_root: PathBuf,
}

/// How running a task ended.
#[derive(Debug)]
pub enum Outcome {
    Completed,
    Failed(String),
}

/// Adds a task to the queue and returns its id.
pub async fn enqueue(pool: &PgPool, kind: &str, payload: &Value) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::new_v4();
    sqlx::query("INSERT INTO worker_tasks (id, kind, payload) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(kind)
        .bind(payload)
        .execute(pool)
        .await?;
    Ok(id)
}

/// Claims the oldest queued task for `worker`, if there is one.
pub async fn claim_next(pool: &PgPool, worker: &str) -> Result<Option<ClaimedTask>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE worker_tasks SET status = 'Running', claimed_by = $1, started_at = now(), \
                heartbeat_at = now(), attempts = attempts + 1, error = NULL \
         WHERE id = (SELECT id FROM worker_tasks WHERE status = 'Queued' \
                     ORDER BY queued_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
         RETURNING id, kind, payload, attempts",
    )
    .bind(worker)
    .fetch_optional(pool)
    .await
}

/// Runs a claimed task to its end, recording the run and the outcome.
pub async fn execute(
    pool: &PgPool,
    task: &ClaimedTask,
    worker: &str,
    context: &TaskContext,
) -> Outcome {
    let run_id: Result<i64, _> = sqlx::query_scalar(
        "INSERT INTO worker_task_runs (task_id, worker, attempt, started_at) \
         VALUES ($1, $2, $3, now()) RETURNING id",
    )
    .bind(task.id)
    .bind(worker)
    .bind(task.attempts)
    .fetch_one(pool)
    .await;

    let beating = {
        let pool = pool.clone();
        let id = task.id;
        let worker = worker.to_string();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(TASK_HEARTBEAT_INTERVAL).await;
                let _ = sqlx::query(
                    "UPDATE worker_tasks SET heartbeat_at = now() \
                     WHERE id = $1 AND claimed_by = $2 AND status = 'Running'",
                )
                .bind(id)
                .bind(&worker)
                .execute(&pool)
                .await;
            }
        })
    };
    let result = run(pool, task, context).await;
    beating.abort();

    let (status, error, outcome) = match result {
        Ok(value) => ("Completed", None, (Outcome::Completed, Some(value))),
        Err(message) => (
            "Failed",
            Some(message.clone()),
            (Outcome::Failed(message), None),
        ),
    };
    let (outcome, value) = outcome;
    // Only the worker that holds the claim may finish the task; a task recovered from under a
    // worker that was presumed dead belongs to whoever claimed it next.
    let finished = sqlx::query(
        "UPDATE worker_tasks SET status = $3, completed_at = now(), error = $4, result = $5 \
         WHERE id = $1 AND claimed_by = $2 AND status = 'Running'",
    )
    .bind(task.id)
    .bind(worker)
    .bind(status)
    .bind(&error)
    .bind(value)
    .execute(pool)
    .await;
    if let Err(error) = &finished {
        tracing::error!(task = %task.id, %error, "cannot record the end of a task");
    }
    if let Ok(run_id) = run_id {
        let _ = sqlx::query(
            "UPDATE worker_task_runs SET finished_at = now(), outcome = $2 WHERE id = $1",
        )
        .bind(run_id)
        .bind(status)
        .execute(pool)
        .await;
    }
    outcome
}

/// Dispatches on the task kind.
async fn run(pool: &PgPool, task: &ClaimedTask, context: &TaskContext) -> Result<Value, String> {
    match task.kind.as_str() {
        maintenance::TASK_KIND => maintenance::run(pool, &task.payload).await,
        run_profile::TASK_KIND => {
            run_profile::run(pool, &task.payload, &context.connector_files_root).await
        }
        other => Err(format!(
            "unknown task kind `{other}`; this worker runs {} and {}",
            maintenance::TASK_KIND,
            run_profile::TASK_KIND
        )),
    }
}

/// Queues again every running task whose heartbeat is older than `stale_after` (its worker
/// died or lost the database), or fails it once it has used all its attempts. Returns how many
/// tasks it took back.
pub async fn recover_stale(pool: &PgPool, stale_after: Duration) -> Result<u64, sqlx::Error> {
    let seconds = stale_after.as_secs_f64();
    let mut transaction = pool.begin().await?;
    sqlx::query(
        "UPDATE worker_task_runs SET finished_at = now(), outcome = 'Abandoned' \
         WHERE finished_at IS NULL AND task_id IN (SELECT id FROM worker_tasks \
               WHERE status = 'Running' AND heartbeat_at < now() - make_interval(secs => $1))",
    )
    .bind(seconds)
    .execute(&mut *transaction)
    .await?;
    let recovered = sqlx::query(
        "UPDATE worker_tasks SET \
             status = CASE WHEN attempts >= max_attempts THEN 'Failed' ELSE 'Queued' END, \
             error = 'the worker ' || coalesce(claimed_by, '?') || \
                     ' stopped sending heartbeats while running this task', \
             completed_at = CASE WHEN attempts >= max_attempts THEN now() END, \
             claimed_by = NULL \
         WHERE status = 'Running' AND heartbeat_at < now() - make_interval(secs => $1)",
    )
    .bind(seconds)
    .execute(&mut *transaction)
    .await?
    .rows_affected();
    transaction.commit().await?;
    Ok(recovered)
}
