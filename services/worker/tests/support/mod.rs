//! What the run profile tests share: a database with a worker process that reads connector
//! files from a folder of the test's own, and helpers to set up File connected systems and
//! run their run profiles through the real queue.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use jim_testkit::tempfile_folder::Folder;
use jim_testkit::{ServiceProcess, TestDatabase, eventually};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

/// A database, a connector files folder and the environment of a worker on both.
pub struct Stack {
    pub database: TestDatabase,
    pub pool: PgPool,
    pub files: Folder,
}

impl Stack {
    pub async fn new() -> Self {
        let database = TestDatabase::create().await;
        let pool = database.migrate_and_open().await;
        Self {
            database,
            pool,
            files: Folder::new("connector-files"),
        }
    }

    /// The environment of a worker on this stack.
    pub fn worker_env(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut env = self.database.service_env();
        env.push((
            "JIM_CONNECTOR_FILES_PATH".into(),
            self.files.path().display().to_string(),
        ));
        env.push(("JIM_WORKER_POLL_SECONDS".into(), "1".into()));
        for (name, value) in extra {
            env.push((name.to_string(), value.to_string()));
        }
        env
    }

    pub fn start_worker(&self, extra: &[(&str, &str)]) -> ServiceProcess {
        ServiceProcess::start("jim-worker", &self.worker_env(extra))
    }

    /// A path inside the connector files folder.
    pub fn file(&self, relative: &str) -> PathBuf {
        self.files.path().join(relative)
    }

    /// Creates a File connected system keyed by `key` and returns its id.
    pub async fn connected_system(
        &self,
        name: &str,
        file_path: &str,
        key: &str,
        multi_valued: &[&str],
        references: &[&str],
    ) -> Uuid {
        let id = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO connected_systems (id, name, file_path, key_attribute, \
                 multi_valued_attributes, reference_attributes) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(name)
        .bind(file_path)
        .bind(key)
        .bind(multi_valued)
        .bind(references)
        .execute(&self.pool)
        .await
        .unwrap();
        id
    }

    /// Creates a run profile of `run_type` (`FullImport` or `Export`) and returns its id.
    pub async fn run_profile(
        &self,
        connected_system: Uuid,
        run_type: &str,
        file_path: Option<&str>,
    ) -> Uuid {
        let id = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO run_profiles (id, connected_system_id, name, run_type, file_path) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(connected_system)
        .bind(format!("{run_type} {id}"))
        .bind(run_type)
        .bind(file_path)
        .execute(&self.pool)
        .await
        .unwrap();
        id
    }

    /// Queues a run of `run_profile` as the web's execute route does; returns the activity.
    pub async fn queue(&self, run_profile: Uuid) -> Uuid {
        let mut transaction = self.pool.begin().await.unwrap();
        let queued =
            jim_common::identity::enqueue_run_profile(&mut transaction, run_profile, "test", None)
                .await
                .unwrap();
        transaction.commit().await.unwrap();
        queued.activity_id
    }

    /// Waits until the activity has finished and returns it.
    pub async fn finished(&self, activity: Uuid, worker: &ServiceProcess) -> ActivityRow {
        let done = eventually(Duration::from_secs(240), || async {
            self.activity(activity).await.status != "InProgress"
        })
        .await;
        assert!(
            done,
            "the activity never finished: {:?}\n{}",
            self.activity(activity).await,
            worker.output()
        );
        self.activity(activity).await
    }

    /// Queues `run_profile` and waits for its activity to finish.
    pub async fn run(&self, run_profile: Uuid, worker: &ServiceProcess) -> ActivityRow {
        let activity = self.queue(run_profile).await;
        self.finished(activity, worker).await
    }

    pub async fn activity(&self, id: Uuid) -> ActivityRow {
        sqlx::query_as(
            "SELECT id, status, phase, message, objects_processed, added, updated, deleted, \
                    unchanged, errors \
             FROM activities WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await
        .unwrap()
    }

    /// The items of an activity in the order they were written.
    pub async fn items(&self, activity: Uuid) -> Vec<ItemRow> {
        sqlx::query_as(
            "SELECT severity, kind, line_number, external_id, message FROM activity_items \
             WHERE activity_id = $1 ORDER BY id",
        )
        .bind(activity)
        .fetch_all(&self.pool)
        .await
        .unwrap()
    }

    /// Every object of a connector space as (key, attributes), by key.
    pub async fn objects(&self, connected_system: Uuid) -> Vec<(String, Value)> {
        sqlx::query_as(
            "SELECT external_id, attributes FROM connector_space_objects \
             WHERE connected_system_id = $1 ORDER BY external_id",
        )
        .bind(connected_system)
        .fetch_all(&self.pool)
        .await
        .unwrap()
    }

    /// Every reference of a connector space as (source key, attribute, target key, resolved
    /// target key).
    pub async fn references(
        &self,
        connected_system: Uuid,
    ) -> Vec<(String, String, String, Option<String>)> {
        sqlx::query_as(
            "SELECT source.external_id, reference.attribute_name, reference.target_external_id, \
                    target.external_id \
             FROM connector_space_references reference \
             JOIN connector_space_objects source ON source.id = reference.object_id \
             LEFT JOIN connector_space_objects target ON target.id = reference.target_object_id \
             WHERE source.connected_system_id = $1 ORDER BY 1, 2, 3",
        )
        .bind(connected_system)
        .fetch_all(&self.pool)
        .await
        .unwrap()
    }

    /// A digest of a whole connector space, for comparing large ones.
    pub async fn digest(&self, connected_system: Uuid) -> (i64, Option<String>) {
        sqlx::query_as(
            "SELECT count(*), md5(string_agg(external_id || '=' || attributes::text, ',' \
                                             ORDER BY external_id)) \
             FROM connector_space_objects WHERE connected_system_id = $1",
        )
        .bind(connected_system)
        .fetch_one(&self.pool)
        .await
        .unwrap()
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActivityRow {
    pub id: Uuid,
    pub status: String,
    pub phase: String,
    pub message: Option<String>,
    pub objects_processed: i64,
    pub added: i64,
    pub updated: i64,
    pub deleted: i64,
    pub unchanged: i64,
    pub errors: i64,
}

impl ActivityRow {
    /// (added, updated, deleted, unchanged)
    pub fn counts(&self) -> (i64, i64, i64, i64) {
        (self.added, self.updated, self.deleted, self.unchanged)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ItemRow {
    pub severity: String,
    pub kind: String,
    pub line_number: Option<i64>,
    pub external_id: Option<String>,
    pub message: String,
}

/// Writes `text` to `path`, creating the folders on the way.
pub fn write(path: &Path, text: &str) {
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder).unwrap();
    }
    std::fs::write(path, text).unwrap();
}
