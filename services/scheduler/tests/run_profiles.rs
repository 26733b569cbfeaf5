//! A schedule that runs a run profile, with real scheduler and worker processes.

use std::time::Duration;

use jim_testkit::tempfile_folder::Folder;
use jim_testkit::{ServiceProcess, TestDatabase, eventually};
use sqlx::PgPool;
use uuid::Uuid;

async fn finished_runs(pool: &PgPool, schedule: Uuid) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM activities WHERE schedule_id = $1 AND status = 'Complete' \
         AND initiated_by = 'Scheduler'",
    )
    .bind(schedule)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_one_second_schedule_runs_its_run_profile_until_it_is_disabled() {
    let database = TestDatabase::create().await;
    let pool = database.migrate_and_open().await;
    let files = Folder::new("connector-files");
    std::fs::write(files.path().join("people.csv"), "id,name\n1,Ada\n2,Grace\n").unwrap();

    let system = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO connected_systems (id, name, file_path, key_attribute) \
         VALUES ($1, 'HR', 'people.csv', 'id')",
    )
    .bind(system)
    .execute(&pool)
    .await
    .unwrap();
    let profile = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO run_profiles (id, connected_system_id, name, run_type) \
         VALUES ($1, $2, 'Import', 'FullImport')",
    )
    .bind(profile)
    .bind(system)
    .execute(&pool)
    .await
    .unwrap();
    let schedule = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO schedules (id, name, trigger_kind, interval_seconds, task_kind, \
                                run_profile_id) \
         VALUES ($1, 'HR import every second', 'Interval', 1, 'RunProfile', $2)",
    )
    .bind(schedule)
    .bind(profile)
    .execute(&pool)
    .await
    .unwrap();

    let mut env = database.service_env();
    env.push(("JIM_WORKER_POLL_SECONDS".into(), "1".into()));
    env.push(("JIM_SCHEDULER_POLL_SECONDS".into(), "1".into()));
    env.push((
        "JIM_CONNECTOR_FILES_PATH".into(),
        files.path().display().to_string(),
    ));
    let worker = ServiceProcess::start("jim-worker", &env);
    let scheduler = ServiceProcess::start("jim-scheduler", &env);

    // Several runs complete, each an activity of the schedule that imported the file.
    let ran = eventually(Duration::from_secs(60), || async {
        finished_runs(&pool, schedule).await >= 3
    })
    .await;
    assert!(ran, "{}\n{}", scheduler.output(), worker.output());
    let objects: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM connector_space_objects WHERE connected_system_id = $1",
    )
    .bind(system)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(objects, 2);
    let without_activity: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM schedule_executions execution \
         WHERE execution.schedule_id = $1 AND NOT EXISTS \
               (SELECT 1 FROM activities activity WHERE activity.task_id = execution.task_id)",
    )
    .bind(schedule)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(without_activity, 0, "every scheduled run has its activity");

    // Disabled, the schedule queues nothing more.
    sqlx::query("UPDATE schedules SET enabled = false WHERE id = $1")
        .bind(schedule)
        .execute(&pool)
        .await
        .unwrap();
    // A poll that had already read the schedule may still queue one more run.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let queued_then: i64 =
        sqlx::query_scalar("SELECT count(*) FROM activities WHERE schedule_id = $1")
            .bind(schedule)
            .fetch_one(&pool)
            .await
            .unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let queued_now: i64 =
        sqlx::query_scalar("SELECT count(*) FROM activities WHERE schedule_id = $1")
            .bind(schedule)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(queued_now, queued_then, "{}", scheduler.output());
}
