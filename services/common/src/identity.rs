//! The names the services share about identity data (run types, activity statuses, the task
//! that runs a run profile) and the one way to queue a run profile: an activity and its worker
//! task, written in the caller's transaction so that neither exists without the other.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::config::{Environment, optional_value};

/// The worker task kind that runs a run profile; its payload is a [`RunProfilePayload`].
pub const RUN_PROFILE_TASK: &str = "RunProfile";

/// Where connected systems' files live unless `JIM_CONNECTOR_FILES_PATH` says otherwise.
pub const DEFAULT_CONNECTOR_FILES_PATH: &str = "/connector-files";

/// The folder that connected systems' file paths are relative to.
pub fn connector_files_root(env: &dyn Environment) -> PathBuf {
    optional_value(env, "JIM_CONNECTOR_FILES_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONNECTOR_FILES_PATH))
}

/// What a run profile does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RunType {
    FullImport,
    Export,
}

impl RunType {
    pub const ALL: [RunType; 2] = [RunType::FullImport, RunType::Export];

    /// The name stored in the database and sent over the API.
    pub fn as_str(self) -> &'static str {
        match self {
            RunType::FullImport => "FullImport",
            RunType::Export => "Export",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|run_type| run_type.as_str() == name)
    }
}

/// Where an activity stands; `InProgress` covers queued and running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ActivityStatus {
    InProgress,
    Complete,
    CompleteWithWarning,
    CompleteWithError,
    FailedWithError,
    Cancelled,
}

impl ActivityStatus {
    pub const ALL: [ActivityStatus; 6] = [
        ActivityStatus::InProgress,
        ActivityStatus::Complete,
        ActivityStatus::CompleteWithWarning,
        ActivityStatus::CompleteWithError,
        ActivityStatus::FailedWithError,
        ActivityStatus::Cancelled,
    ];

    /// The name stored in the database and sent over the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityStatus::InProgress => "InProgress",
            ActivityStatus::Complete => "Complete",
            ActivityStatus::CompleteWithWarning => "CompleteWithWarning",
            ActivityStatus::CompleteWithError => "CompleteWithError",
            ActivityStatus::FailedWithError => "FailedWithError",
            ActivityStatus::Cancelled => "Cancelled",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == name)
    }

    /// True once the activity will not change any more.
    pub fn is_finished(self) -> bool {
        self != ActivityStatus::InProgress
    }
}

/// The payload of a [`RUN_PROFILE_TASK`] task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunProfilePayload {
    pub run_profile_id: Uuid,
    pub activity_id: Uuid,
}

/// The activity and task that [`enqueue_run_profile`] created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedRun {
    pub activity_id: Uuid,
    pub task_id: Uuid,
}

/// Why a run profile could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    #[error("no run profile has the id `{0}`")]
    RunProfileNotFound(Uuid),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Queues a run of a run profile: an `InProgress` activity in phase `Queued` and the worker
/// task that carries it out. Run it inside the caller's transaction.
pub async fn enqueue_run_profile(
    connection: &mut PgConnection,
    run_profile_id: Uuid,
    initiated_by: &str,
    schedule_id: Option<Uuid>,
) -> Result<QueuedRun, EnqueueError> {
    let profile: Option<(Uuid, String)> =
        sqlx::query_as("SELECT connected_system_id, run_type FROM run_profiles WHERE id = $1")
            .bind(run_profile_id)
            .fetch_optional(&mut *connection)
            .await?;
    let Some((connected_system_id, run_type)) = profile else {
        return Err(EnqueueError::RunProfileNotFound(run_profile_id));
    };

    let queued = QueuedRun {
        activity_id: Uuid::new_v4(),
        task_id: Uuid::new_v4(),
    };
    let payload = RunProfilePayload {
        run_profile_id,
        activity_id: queued.activity_id,
    };
    let payload = serde_json::to_value(payload).map_err(|error| {
        sqlx::Error::Encode(format!("the run profile payload cannot be written: {error}").into())
    })?;
    sqlx::query(
        "INSERT INTO worker_tasks (id, kind, payload, schedule_id) VALUES ($1, $2, $3, $4)",
    )
    .bind(queued.task_id)
    .bind(RUN_PROFILE_TASK)
    .bind(payload)
    .bind(schedule_id)
    .execute(&mut *connection)
    .await?;
    sqlx::query(
        "INSERT INTO activities (id, connected_system_id, run_profile_id, task_id, schedule_id, \
                                 run_type, status, initiated_by) \
         VALUES ($1, $2, $3, $4, $5, $6, 'InProgress', $7)",
    )
    .bind(queued.activity_id)
    .bind(connected_system_id)
    .bind(run_profile_id)
    .bind(queued.task_id)
    .bind(schedule_id)
    .bind(run_type)
    .bind(initiated_by)
    .execute(&mut *connection)
    .await?;
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for run_type in RunType::ALL {
            assert_eq!(RunType::parse(run_type.as_str()), Some(run_type));
        }
        for status in ActivityStatus::ALL {
            assert_eq!(ActivityStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(RunType::parse("fullimport"), None);
    }

    #[test]
    fn payload_uses_camel_case() {
        let payload = RunProfilePayload {
            run_profile_id: Uuid::nil(),
            activity_id: Uuid::nil(),
        };
        let json = serde_json::to_value(payload).unwrap();
        assert!(json.get("runProfileId").is_some() && json.get("activityId").is_some());
    }
}
