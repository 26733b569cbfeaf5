//! The `RunProfile` task: runs one run profile of a File connected system (a full import or an
//! export) and keeps its activity up to date from start to end. A task that a worker takes
//! back after a crash runs again under the same activity.

use std::path::{Path, PathBuf};

use jim_common::connector_file::{self, ConnectorFileError};
use jim_common::identity::{ActivityStatus, RunProfilePayload, RunType};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::activity::{Activity, Counts};
use crate::{export, import};

pub use jim_common::identity::RUN_PROFILE_TASK as TASK_KIND;

/// A File connected system as a run needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConnectedSystem {
    pub id: Uuid,
    pub name: String,
    pub delimiter: String,
    pub key_attribute: String,
    pub multi_value_separator: String,
    pub object_type: String,
    pub multi_valued_attributes: Vec<String>,
    pub reference_attributes: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct RunProfileRow {
    run_type: String,
    file_path: String,
    connected_system_id: Uuid,
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct Summary {
    pub message: String,
    pub processed: i64,
    pub counts: Counts,
}

/// Why a run failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    File(#[from] ConnectorFileError),
    #[error("cannot read `{path}`: {source}\nhint: check that the file is complete and readable")]
    Read { path: PathBuf, source: csv::Error },
    #[error(
        "cannot write `{path}`: {source}\n\
         hint: check the free space and permissions of the connector files folder"
    )]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the connected system `{0}` has no schema\n\
         hint: import its schema, or run a full import, before an export"
    )]
    NoSchema(String),
    #[error("the run profile `{0}` was deleted before the run started")]
    RunProfileGone(Uuid),
    #[error("the run type `{0}` is unknown; expected FullImport or Export")]
    UnknownRunType(String),
    #[error("the database failed during the run: {0}")]
    Database(#[from] sqlx::Error),
}

/// Runs the task with `payload`; `root` is the connector files folder.
pub async fn run(pool: &PgPool, payload: &Value, root: &Path) -> Result<Value, String> {
    let payload: RunProfilePayload = serde_json::from_value(payload.clone()).map_err(|error| {
        format!(
            "the payload `{payload}` is not a run profile task: {error}; \
             expected {{\"runProfileId\": \"…\", \"activityId\": \"…\"}}"
        )
    })?;

    let status: Option<String> = sqlx::query_scalar("SELECT status FROM activities WHERE id = $1")
        .bind(payload.activity_id)
        .fetch_optional(pool)
        .await
        .map_err(|error| format!("cannot read the activity: {error}"))?;
    let Some(status) = status else {
        return Err(format!(
            "no activity has the id `{}`; it was deleted before the run started",
            payload.activity_id
        ));
    };
    // A run cancelled while it waited in the queue is not started, and one that finished just
    // before its worker stopped is not run twice.
    if ActivityStatus::parse(&status).is_some_and(ActivityStatus::is_finished) {
        return Ok(json!({ "skipped": format!("the activity is already {status}") }));
    }

    let mut activity = Activity::start(pool, payload.activity_id)
        .await
        .map_err(|error| format!("cannot start the activity: {error}"))?;
    match run_profile(pool, &mut activity, payload.run_profile_id, root).await {
        Ok(summary) => {
            let status = activity.completed_status();
            activity
                .finish(status, &summary.message, summary.processed, summary.counts)
                .await
                .map_err(|error| format!("cannot record the end of the activity: {error}"))?;
            Ok(json!({
                "activityId": payload.activity_id,
                "status": status.as_str(),
                "message": summary.message,
            }))
        }
        Err(error) => {
            let message = error.to_string();
            if let Err(recording) = activity
                .finish(
                    ActivityStatus::FailedWithError,
                    &message,
                    0,
                    Counts::default(),
                )
                .await
            {
                tracing::error!(%recording, "cannot record the failure of an activity");
            }
            Err(message)
        }
    }
}

async fn run_profile(
    pool: &PgPool,
    activity: &mut Activity,
    run_profile_id: Uuid,
    root: &Path,
) -> Result<Summary, RunError> {
    let profile: Option<RunProfileRow> = sqlx::query_as(
        "SELECT rp.run_type, coalesce(rp.file_path, cs.file_path) AS file_path, \
                rp.connected_system_id \
         FROM run_profiles rp JOIN connected_systems cs ON cs.id = rp.connected_system_id \
         WHERE rp.id = $1",
    )
    .bind(run_profile_id)
    .fetch_optional(pool)
    .await?;
    let Some(profile) = profile else {
        return Err(RunError::RunProfileGone(run_profile_id));
    };
    let system: ConnectedSystem = sqlx::query_as(
        "SELECT id, name, delimiter, key_attribute, multi_value_separator, object_type, \
                multi_valued_attributes, reference_attributes \
         FROM connected_systems WHERE id = $1",
    )
    .bind(profile.connected_system_id)
    .fetch_one(pool)
    .await?;

    let path = connector_file::resolve_file_path(root, &profile.file_path)?;
    match RunType::parse(&profile.run_type) {
        Some(RunType::FullImport) => import::run(pool, activity, &system, &path).await,
        Some(RunType::Export) => export::run(pool, activity, &system, &path).await,
        None => Err(RunError::UnknownRunType(profile.run_type)),
    }
}
