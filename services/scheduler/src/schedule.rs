//! Due schedules and their next runs.
//!
//! Exactly-once comes from two guards that each suffice: the due schedules are locked with
//! `FOR UPDATE SKIP LOCKED`, so two schedulers never work on the same schedule at once, and
//! each run is recorded under the unique key (schedule, due time) before its task is queued.

use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use croner::Cron;
use jim_common::identity;
use sqlx::PgPool;
use uuid::Uuid;

/// Who the activities of scheduled run profiles say started them.
pub const SCHEDULER_INITIATOR: &str = "Scheduler";

/// When a schedule fires.
#[derive(Debug, Clone)]
pub enum Trigger {
    /// A five-field cron expression, evaluated in UTC.
    Cron(Box<Cron>),
    /// Every so many seconds.
    Interval(TimeDelta),
}

/// A trigger that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    #[error("the cron expression `{expression}` is not valid: {message}")]
    Cron { expression: String, message: String },
    #[error("the interval must be at least 1 second, not {0}")]
    Interval(i64),
    #[error("the trigger kind `{0}` is unknown; expected Cron or Interval")]
    Kind(String),
}

impl Trigger {
    /// Builds a trigger from the columns of a `schedules` row.
    pub fn from_columns(
        kind: &str,
        cron_expression: Option<&str>,
        interval_seconds: Option<i32>,
    ) -> Result<Self, TriggerError> {
        match kind {
            "Cron" => Self::cron(cron_expression.unwrap_or_default()),
            "Interval" => {
                let seconds = i64::from(interval_seconds.unwrap_or(0));
                if seconds < 1 {
                    return Err(TriggerError::Interval(seconds));
                }
                Ok(Self::Interval(TimeDelta::seconds(seconds)))
            }
            other => Err(TriggerError::Kind(other.to_string())),
        }
    }

    /// Parses a cron expression.
    pub fn cron(expression: &str) -> Result<Self, TriggerError> {
        Cron::from_str(expression)
            .map(|cron| Self::Cron(Box::new(cron)))
            .map_err(|error| TriggerError::Cron {
                expression: expression.to_string(),
                message: error.to_string(),
            })
    }

    /// The first run strictly after `now`, for a schedule that has none yet.
    pub fn first_after(&self, now: DateTime<Utc>) -> Result<DateTime<Utc>, TriggerError> {
        match self {
            Self::Cron(cron) => self.next_cron(cron, now),
            Self::Interval(interval) => Ok(now + *interval),
        }
    }

    /// The run after the one due at `due`, skipping runs that are already in the past at
    /// `now` (a scheduler that was down runs a missed schedule once, not once per miss).
    /// Returns the next run and how many runs it skipped.
    pub fn next_after(
        &self,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(DateTime<Utc>, u64), TriggerError> {
        match self {
            Self::Cron(cron) => {
                let next = self.next_cron(cron, now.max(due))?;
                let mut skipped = 0;
                let mut probe = due;
                while skipped < 10_000 {
                    probe = self.next_cron(cron, probe)?;
                    if probe >= next {
                        break;
                    }
                    skipped += 1;
                }
                Ok((next, skipped))
            }
            Self::Interval(interval) => {
                let step = interval.num_milliseconds().max(1);
                let behind = (now - due).num_milliseconds().max(0);
                let steps = behind / step + 1;
                Ok((
                    due + TimeDelta::milliseconds(step * steps),
                    (steps - 1) as u64,
                ))
            }
        }
    }

    fn next_cron(&self, cron: &Cron, after: DateTime<Utc>) -> Result<DateTime<Utc>, TriggerError> {
        cron.find_next_occurrence(&after, false)
            .map_err(|error| TriggerError::Cron {
                expression: cron.as_str().to_string(),
                message: error.to_string(),
            })
    }
}

/// A run this scheduler enqueued.
#[derive(Debug, Clone)]
pub struct EnqueuedRun {
    pub schedule_id: Uuid,
    pub schedule_name: String,
    pub due_at: DateTime<Utc>,
    pub task_id: Uuid,
    pub skipped_runs: u64,
}

#[derive(sqlx::FromRow)]
struct DueSchedule {
    id: Uuid,
    name: String,
    trigger_kind: String,
    cron_expression: Option<String>,
    interval_seconds: Option<i32>,
    task_kind: String,
    task_payload: serde_json::Value,
    next_run_at: Option<DateTime<Utc>>,
    run_profile_id: Option<Uuid>,
}

/// Enqueues a task for every due run of every enabled schedule, in one transaction.
pub async fn enqueue_due(pool: &PgPool, scheduler: &str) -> anyhow::Result<Vec<EnqueuedRun>> {
    let mut transaction = pool.begin().await?;
    // The database's clock decides what is due, so that schedulers on hosts whose clocks
    // disagree still agree on the runs.
    let now: DateTime<Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&mut *transaction)
        .await?;
    let due: Vec<DueSchedule> = sqlx::query_as(
        "SELECT id, name, trigger_kind, cron_expression, interval_seconds, task_kind, \
                task_payload, next_run_at, run_profile_id \
         FROM schedules WHERE enabled AND (next_run_at IS NULL OR next_run_at <= $1) \
         ORDER BY next_run_at NULLS FIRST FOR UPDATE SKIP LOCKED",
    )
    .bind(now)
    .fetch_all(&mut *transaction)
    .await?;

    let mut enqueued = Vec::new();
    for schedule in due {
        let trigger = match Trigger::from_columns(
            &schedule.trigger_kind,
            schedule.cron_expression.as_deref(),
            schedule.interval_seconds,
        ) {
            Ok(trigger) => trigger,
            Err(error) => {
                tracing::error!(schedule = %schedule.name, "the schedule cannot run: {error}");
                continue;
            }
        };

        // A new schedule starts counting from now.
        let Some(due_at) = schedule.next_run_at else {
            let first = trigger.first_after(now)?;
            sqlx::query("UPDATE schedules SET next_run_at = $2 WHERE id = $1")
                .bind(schedule.id)
                .bind(first)
                .execute(&mut *transaction)
                .await?;
            continue;
        };

        let execution_id = Uuid::new_v4();
        let recorded = sqlx::query(
            "INSERT INTO schedule_executions (id, schedule_id, due_at, enqueued_by) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (schedule_id, due_at) DO NOTHING",
        )
        .bind(execution_id)
        .bind(schedule.id)
        .bind(due_at)
        .bind(scheduler)
        .execute(&mut *transaction)
        .await?
        .rows_affected();

        let (next, skipped_runs) = trigger.next_after(due_at, now)?;
        sqlx::query("UPDATE schedules SET next_run_at = $2, last_run_at = $3 WHERE id = $1")
            .bind(schedule.id)
            .bind(next)
            .bind(due_at)
            .execute(&mut *transaction)
            .await?;
        if recorded == 0 {
            continue;
        }

        // A schedule of a run profile queues the run profile's task together with its
        // activity, so the run shows in the activity list from the moment it is queued.
        let task_id = match schedule.run_profile_id {
            Some(run_profile_id) => {
                identity::enqueue_run_profile(
                    &mut transaction,
                    run_profile_id,
                    SCHEDULER_INITIATOR,
                    Some(schedule.id),
                )
                .await?
                .task_id
            }
            None => {
                let task_id = Uuid::new_v4();
                sqlx::query(
                    "INSERT INTO worker_tasks (id, kind, payload, schedule_id) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(task_id)
                .bind(&schedule.task_kind)
                .bind(&schedule.task_payload)
                .bind(schedule.id)
                .execute(&mut *transaction)
                .await?;
                task_id
            }
        };
        sqlx::query("UPDATE schedule_executions SET task_id = $2 WHERE id = $1")
            .bind(execution_id)
            .bind(task_id)
            .execute(&mut *transaction)
            .await?;
        enqueued.push(EnqueuedRun {
            schedule_id: schedule.id,
            schedule_name: schedule.name,
            due_at,
            task_id,
            skipped_runs,
        });
    }
    transaction.commit().await?;
    Ok(enqueued)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn interval_next_run_follows_the_due_time() {
        let trigger = Trigger::from_columns("Interval", None, Some(60)).unwrap();
        let (next, skipped) = trigger
            .next_after(at("2026-01-01T00:00:00Z"), at("2026-01-01T00:00:10Z"))
            .unwrap();
        assert_eq!((next, skipped), (at("2026-01-01T00:01:00Z"), 0));
    }

    #[test]
    fn interval_skips_missed_runs() {
        let trigger = Trigger::from_columns("Interval", None, Some(60)).unwrap();
        let (next, skipped) = trigger
            .next_after(at("2026-01-01T00:00:00Z"), at("2026-01-01T00:05:30Z"))
            .unwrap();
        assert_eq!((next, skipped), (at("2026-01-01T00:06:00Z"), 5));
    }

    #[test]
    fn cron_next_run_and_skips() {
        let trigger = Trigger::cron("0 3 * * *").unwrap();
        let (next, skipped) = trigger
            .next_after(at("2026-01-01T03:00:00Z"), at("2026-01-01T03:00:01Z"))
            .unwrap();
        assert_eq!((next, skipped), (at("2026-01-02T03:00:00Z"), 0));
        let (next, skipped) = trigger
            .next_after(at("2026-01-01T03:00:00Z"), at("2026-01-04T12:00:00Z"))
            .unwrap();
        assert_eq!((next, skipped), (at("2026-01-05T03:00:00Z"), 3));
    }

    #[test]
    fn bad_triggers_are_named() {
        let error = Trigger::cron("every day").unwrap_err().to_string();
        assert!(error.contains("`every day`"), "{error}");
        assert!(Trigger::from_columns("Interval", None, Some(0)).is_err());
        assert!(Trigger::from_columns("Weekly", None, None).is_err());
    }
}
