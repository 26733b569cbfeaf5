//! The task queue with real worker processes on a real PostgreSQL.

use std::time::Duration;

use jim_testkit::{ServiceProcess, TestDatabase, eventually};
use serde_json::json;
use sqlx::PgPool;

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn wait_until_ready(pool: &PgPool, worker: &ServiceProcess) {
    let ready = eventually(Duration::from_secs(60), || async {
        sqlx::query_scalar::<_, String>(
            "SELECT value FROM service_settings WHERE key = 'Maintenance.IsEnabled'",
        )
        .fetch_optional(pool)
        .await
        .ok()
        .flatten()
        .as_deref()
            == Some("false")
    })
    .await;
    assert!(
        ready,
        "the worker never left maintenance mode:\n{}",
        worker.output()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_workers_run_each_of_1000_tasks_exactly_once() {
    let database = TestDatabase::create().await;
    let mut env = database.service_env();
    env.push(("JIM_WORKER_POLL_SECONDS".into(), "1".into()));
    let first = ServiceProcess::start("jim-worker", &env);
    let pool = database.pool().await;
    wait_until_ready(&pool, &first).await;
    let second = ServiceProcess::start("jim-worker", &env);

    // Queue all tasks in one statement so both workers find a full queue.
    sqlx::query(
        "INSERT INTO worker_tasks (id, kind, payload) \
         SELECT gen_random_uuid(), 'DatabaseMaintenance', $1 FROM generate_series(1, 1000)",
    )
    .bind(json!({"operation": "Analyze"}))
    .execute(&pool)
    .await
    .unwrap();

    let drained = eventually(Duration::from_secs(240), || async {
        count(
            &pool,
            "SELECT count(*) FROM worker_tasks WHERE status IN ('Queued', 'Running')",
        )
        .await
            == 0
    })
    .await;
    assert!(
        drained,
        "the queue never drained:\n{}\n{}",
        first.output(),
        second.output()
    );

    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM worker_tasks WHERE status = 'Completed'"
        )
        .await,
        1000
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM worker_task_runs").await,
        1000
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(DISTINCT task_id) FROM worker_task_runs"
        )
        .await,
        1000
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM worker_tasks WHERE attempts <> 1"
        )
        .await,
        0
    );
    // Both workers took part: the queue is shared, not serialised behind one of them.
    assert_eq!(
        count(&pool, "SELECT count(DISTINCT worker) FROM worker_task_runs").await,
        2
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_of_a_killed_worker_is_recovered_and_finishes() {
    let database = TestDatabase::create().await;
    let mut env = database.service_env();
    env.push(("JIM_WORKER_POLL_SECONDS".into(), "1".into()));
    env.push(("JIM_TASK_STALE_SECONDS".into(), "5".into()));
    let mut doomed = ServiceProcess::start("jim-worker", &env);
    let pool = database.pool().await;
    wait_until_ready(&pool, &doomed).await;

    // Hold a lock that the maintenance task needs, so the task is surely mid-way when the
    // worker dies.
    let mut blocker = database.connection().await;
    sqlx::query("BEGIN").execute(&mut blocker).await.unwrap();
    sqlx::query("LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let task: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO worker_tasks (id, kind, payload) \
         VALUES (gen_random_uuid(), 'DatabaseMaintenance', '{\"operation\": \"Analyze\"}') RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let running = eventually(Duration::from_secs(20), || async {
        count(
            &pool,
            "SELECT count(*) FROM worker_tasks WHERE status = 'Running'",
        )
        .await
            == 1
    })
    .await;
    assert!(
        running,
        "the worker never claimed the task:\n{}",
        doomed.output()
    );

    doomed.kill();
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();

    let rescuer = ServiceProcess::start("jim-worker", &env);
    let finished = eventually(Duration::from_secs(60), || async {
        sqlx::query_scalar::<_, String>("SELECT status FROM worker_tasks WHERE id = $1")
            .bind(task)
            .fetch_one(&pool)
            .await
            .unwrap()
            == "Completed"
    })
    .await;
    assert!(
        finished,
        "the task was not recovered:\n{}",
        rescuer.output()
    );

    let runs: Vec<(i32, Option<String>)> = sqlx::query_as(
        "SELECT attempt, outcome FROM worker_task_runs WHERE task_id = $1 ORDER BY id",
    )
    .bind(task)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        runs,
        vec![
            (1, Some("Abandoned".to_string())),
            (2, Some("Completed".to_string()))
        ]
    );
    assert!(
        rescuer.output().contains("Recovered tasks"),
        "{}",
        rescuer.output()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_of_an_unknown_kind_fails_with_a_clear_error() {
    let database = TestDatabase::create().await;
    let mut env = database.service_env();
    env.push(("JIM_WORKER_POLL_SECONDS".into(), "1".into()));
    let worker = ServiceProcess::start("jim-worker", &env);
    let pool = database.pool().await;
    wait_until_ready(&pool, &worker).await;
    let task: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO worker_tasks (id, kind) VALUES (gen_random_uuid(), 'Teleport') RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let failed = eventually(Duration::from_secs(30), || async {
        sqlx::query_scalar::<_, String>("SELECT status FROM worker_tasks WHERE id = $1")
            .bind(task)
            .fetch_one(&pool)
            .await
            .unwrap()
            == "Failed"
    })
    .await;
    assert!(failed, "{}", worker.output());
    let error: String = sqlx::query_scalar("SELECT error FROM worker_tasks WHERE id = $1")
        .bind(task)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(error.contains("unknown task kind `Teleport`"), "{error}");
}
