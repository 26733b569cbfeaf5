//! Schedules with real scheduler processes on a real PostgreSQL.

use std::time::Duration;

use chrono::{DateTime, Utc};
use jim_testkit::{ServiceProcess, TestDatabase, eventually};

#[tokio::test(flavor = "multi_thread")]
async fn the_scheduler_waits_for_readiness_before_running_schedules() {
    let database = TestDatabase::create().await;
    let mut env = database.service_env();
    env.push(("JIM_SCHEDULER_POLL_SECONDS".into(), "1".into()));
    let scheduler = ServiceProcess::start("jim-scheduler", &env);
    let waiting = eventually(Duration::from_secs(20), || async {
        scheduler
            .output()
            .contains("The application is not ready yet")
    })
    .await;
    assert!(waiting, "{}", scheduler.output());
    assert!(!scheduler.output().contains("running schedules"));

    let _worker = ServiceProcess::start("jim-worker", &database.service_env());
    let running = eventually(Duration::from_secs(60), || async {
        scheduler
            .output()
            .contains("The application is ready; running schedules")
    })
    .await;
    assert!(running, "{}", scheduler.output());
}

#[tokio::test(flavor = "multi_thread")]
async fn two_schedulers_enqueue_each_due_run_exactly_once() {
    let database = TestDatabase::create().await;
    let pool = database.migrate_and_open().await;
    sqlx::query(
        "INSERT INTO schedules (id, name, trigger_kind, interval_seconds, task_kind, task_payload) \
         VALUES (gen_random_uuid(), 'every second', 'Interval', 1, 'DatabaseMaintenance', \
                 '{\"operation\": \"Analyze\"}')",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO schedules (id, name, trigger_kind, cron_expression, task_kind) \
         VALUES (gen_random_uuid(), 'every minute', 'Cron', '* * * * *', 'DatabaseMaintenance') \
",
    )
    .execute(&pool)
    .await
    .unwrap();

    let mut env = database.service_env();
    env.push(("JIM_SCHEDULER_POLL_SECONDS".into(), "1".into()));
    let first = ServiceProcess::start("jim-scheduler", &env);
    let second = ServiceProcess::start("jim-scheduler", &env);

    // Let both run side by side for a while; every poll of each races the other.
    let enough = eventually(Duration::from_secs(60), || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM schedule_executions")
            .fetch_one(&pool)
            .await
            .unwrap()
            >= 12
    })
    .await;
    assert!(enough, "{}\n{}", first.output(), second.output());
    let (first_output, second_output) = (first.output(), second.output());
    drop(first);
    drop(second);

    // Every due time of the one-second schedule has exactly one execution and one task.
    let due: Vec<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT e.due_at FROM schedule_executions e JOIN schedules s ON s.id = e.schedule_id \
         WHERE s.name = 'every second' ORDER BY e.due_at",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(due.len() >= 10, "{due:?}");
    for pair in due.windows(2) {
        assert_eq!(
            pair[1] - pair[0],
            chrono::TimeDelta::seconds(1),
            "a run was skipped or doubled: {due:?}"
        );
    }
    let tasks: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM worker_tasks t JOIN schedules s ON s.id = t.schedule_id \
         WHERE s.name = 'every second'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(tasks, due.len() as i64);
    let per_execution: i64 =
        sqlx::query_scalar("SELECT count(*) FROM schedule_executions WHERE task_id IS NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(per_execution, 0);

    // Both schedulers were running schedules side by side the whole time. (Which of them wins
    // each round is up to timing: one may win every round on a busy machine, which is fine.)
    for output in [&first_output, &second_output] {
        assert!(
            output.contains("The application is ready; running schedules"),
            "{output}"
        );
    }
}
