//! The heartbeat file, the `healthcheck` subcommand and graceful shutdown.

use std::process::Command;
use std::time::{Duration, SystemTime};

use jim_common::database::MIGRATION_LOCK_KEY;
use jim_testkit::{ServiceProcess, TestDatabase, binary, eventually};

fn healthcheck(binary_name: &str, heartbeat: &std::path::Path) -> (i32, String) {
    let output = Command::new(binary(binary_name))
        .arg("healthcheck")
        .env_clear()
        .env("JIM_HEARTBEAT_PATH", heartbeat)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().unwrap_or(-1), text)
}

fn age(path: &std::path::Path) -> Duration {
    let modified = std::fs::metadata(path).unwrap().modified().unwrap();
    SystemTime::now()
        .duration_since(modified)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_heartbeat_stays_fresh_while_a_slow_migration_waits() {
    let database = TestDatabase::create().await;

    // Another migrator holds the migration lock: this worker's migration waits behind it.
    let mut other_migrator = database.connection().await;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK_KEY)
        .execute(&mut other_migrator)
        .await
        .unwrap();

    let worker = ServiceProcess::start("jim-worker", &database.service_env());
    let heartbeat = worker.heartbeat_path();
    let waiting = eventually(Duration::from_secs(20), || async {
        worker.output().contains("Waiting for the migration lock")
    })
    .await;
    assert!(waiting, "{}", worker.output());

    // Twelve seconds inside the migration, the file is never older than the 5 s promise.
    for _ in 0..12 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(
            age(&heartbeat) < Duration::from_secs(5),
            "heartbeat went stale during migration"
        );
        let (code, text) = healthcheck("jim-worker", &heartbeat);
        assert_eq!(code, 0, "{text}");
    }
    let pool = database.pool().await;
    let migrated: Option<String> = sqlx::query_scalar("SELECT to_regclass('worker_tasks')::text")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        migrated, None,
        "the migration should still be waiting for the lock"
    );

    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(MIGRATION_LOCK_KEY)
        .execute(&mut other_migrator)
        .await
        .unwrap();
    let done = eventually(Duration::from_secs(30), || async {
        worker
            .output()
            .contains("the application has left maintenance mode")
    })
    .await;
    assert!(done, "{}", worker.output());
}

#[test]
fn healthcheck_fails_for_a_missing_or_stale_heartbeat_file() {
    let folder = jim_testkit::tempfile_folder::Folder::new("healthcheck");
    let path = folder.path().join("healthcheck");

    for binary_name in ["jim-worker", "jim-scheduler"] {
        let (code, text) = healthcheck(binary_name, &path);
        assert_eq!(code, 1, "{binary_name}: {text}");
        assert!(text.contains("cannot read the heartbeat file"), "{text}");
    }

    // 90 s old: stale for the worker (60 s), still fresh for the scheduler (120 s).
    std::fs::write(&path, "then").unwrap();
    let status = Command::new("touch")
        .arg("-d")
        .arg("90 seconds ago")
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    let (code, text) = healthcheck("jim-worker", &path);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("limit 60 s"), "{text}");
    assert_eq!(healthcheck("jim-scheduler", &path).0, 0);

    let status = Command::new("touch")
        .arg("-d")
        .arg("150 seconds ago")
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(healthcheck("jim-scheduler", &path).0, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_the_worker_cleanly_and_records_it() {
    let database = TestDatabase::create().await;
    let mut worker = ServiceProcess::start("jim-worker", &database.service_env());
    let ready = eventually(Duration::from_secs(60), || async {
        worker
            .output()
            .contains("the application has left maintenance mode")
    })
    .await;
    assert!(ready, "{}", worker.output());

    let status = worker
        .terminate(Duration::from_secs(15))
        .expect("the worker did not stop");
    assert!(status.success(), "exit {status:?}:\n{}", worker.output());
    assert!(
        worker.output().contains("SIGTERM received"),
        "{}",
        worker.output()
    );
    let pool = database.pool().await;
    let state: String =
        sqlx::query_scalar("SELECT state FROM service_heartbeats WHERE service = 'worker'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(state, "Stopping");
}
