//! The `DatabaseMaintenance` task: refreshes planner statistics and purges old history.

use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::PgPool;

/// The task kind this module runs.
pub const TASK_KIND: &str = "DatabaseMaintenance";

/// The tables JIM owns; `Analyze` refreshes their statistics.
const TABLES: &[&str] = &[
    "service_settings",
    "service_heartbeats",
    "api_keys",
    "schedules",
    "schedule_executions",
    "worker_tasks",
    "worker_task_runs",
];

/// What a maintenance task does, from its payload.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(tag = "operation", rename_all_fields = "camelCase")]
pub enum Operation {
    /// `ANALYZE` on every JIM table.
    Analyze,
    /// Deletes finished tasks and schedule executions older than `retention_days`, and the
    /// heartbeat rows of instances not seen for a day.
    PurgeHistory {
        #[serde(default = "default_retention_days")]
        retention_days: i32,
    },
}

fn default_retention_days() -> i32 {
    90
}

/// Runs the operation in `payload`; the result summarises what it did.
pub async fn run(pool: &PgPool, payload: &Value) -> Result<Value, String> {
    let operation: Operation = serde_json::from_value(payload.clone()).map_err(|error| {
        format!(
            "the payload `{payload}` is not a maintenance operation: {error}; \
             expected {{\"operation\": \"Analyze\"}} or {{\"operation\": \"PurgeHistory\"}}"
        )
    })?;
    match operation {
        Operation::Analyze => {
            for table in TABLES {
                // The names come from the constant list above, never from the payload.
                sqlx::query(sqlx::AssertSqlSafe(format!("ANALYZE {table}")))
                    .execute(pool)
                    .await
                    .map_err(|error| format!("ANALYZE {table} failed: {error}"))?;
            }
            Ok(json!({ "analyzedTables": TABLES.len() }))
        }
        Operation::PurgeHistory { retention_days } => {
            if retention_days < 1 {
                return Err(format!(
                    "retentionDays must be at least 1, not {retention_days}"
                ));
            }
            let purge = |sql: &'static str| {
                let pool = pool.clone();
                async move {
                    sqlx::query(sql)
                        .bind(retention_days)
                        .execute(&pool)
                        .await
                        .map(|done| done.rows_affected())
                        .map_err(|error| format!("purging history failed: {error}"))
                }
            };
            let executions = purge(
                "DELETE FROM schedule_executions \
                 WHERE created_at < now() - make_interval(days => $1)",
            )
            .await?;
            let tasks = purge(
                "DELETE FROM worker_tasks WHERE status IN ('Completed', 'Failed', 'Cancelled') \
                 AND completed_at < now() - make_interval(days => $1)",
            )
            .await?;
            let heartbeats = purge(
                "DELETE FROM service_heartbeats \
                 WHERE last_seen_at < now() - interval '1 day' AND $1 > 0",
            )
            .await?;
            Ok(json!({
                "deletedScheduleExecutions": executions,
                "deletedTasks": tasks,
                "deletedHeartbeats": heartbeats,
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_parse_with_defaults() {
        let analyze: Operation = serde_json::from_value(json!({"operation": "Analyze"})).unwrap();
        assert_eq!(analyze, Operation::Analyze);
        let purge: Operation =
            serde_json::from_value(json!({"operation": "PurgeHistory"})).unwrap();
        assert_eq!(purge, Operation::PurgeHistory { retention_days: 90 });
        let purge: Operation =
            serde_json::from_value(json!({"operation": "PurgeHistory", "retentionDays": 7}))
                .unwrap();
        assert_eq!(purge, Operation::PurgeHistory { retention_days: 7 });
    }

    #[test]
    fn unknown_operation_is_refused() {
        assert!(serde_json::from_value::<Operation>(json!({"operation": "Drop"})).is_err());
    }
}
