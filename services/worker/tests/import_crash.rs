//! A worker killed in the middle of a large full import: the connector space stays as it
//! was, and the task, taken back by another worker, runs again under the same activity.

mod support;

use std::time::Duration;

use jim_testkit::csv_people::{PEOPLE_MULTI_VALUED, PEOPLE_REFERENCES, write_people_file};
use jim_testkit::eventually;
use support::Stack;

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_import_leaves_the_connector_space_as_before_and_the_rerun_completes() {
    let stack = Stack::new().await;
    let system = stack
        .connected_system(
            "Large",
            "people.csv",
            "id",
            &PEOPLE_MULTI_VALUED,
            &PEOPLE_REFERENCES,
        )
        .await;
    let import = stack.run_profile(system, "FullImport", None).await;
    let settings = [("JIM_TASK_STALE_SECONDS", "2")];

    // The state before: a small import that completes.
    write_people_file(&stack.file("people.csv"), 1000, 1, b',').unwrap();
    let mut first_worker = stack.start_worker(&settings);
    let before = stack.run(import, &first_worker).await;
    assert_eq!(before.status, "Complete", "{before:?}");
    let state_before = stack.digest(system).await;
    assert_eq!(state_before.0, 1000);

    // A large file, and the worker killed once the import is visibly under way.
    write_people_file(&stack.file("people.csv"), 150_000, 2, b',').unwrap();
    let activity = stack.queue(import).await;
    let under_way = eventually(Duration::from_secs(120), || async {
        let row = stack.activity(activity).await;
        row.status == "InProgress" && row.objects_processed > 0
    })
    .await;
    assert!(
        under_way,
        "the import never started:\n{}",
        first_worker.output()
    );
    first_worker.kill();
    let killed_at = stack.activity(activity).await;
    assert_eq!(killed_at.status, "InProgress", "{killed_at:?}");
    assert_eq!(stack.digest(system).await, state_before);

    // Another worker takes the task back once its heartbeat is stale and finishes it.
    let second_worker = stack.start_worker(&settings);
    let rerun = stack.finished(activity, &second_worker).await;
    assert_eq!(
        rerun.status,
        "Complete",
        "{rerun:?}\n{}",
        second_worker.output()
    );
    assert_eq!(rerun.objects_processed, 150_000);
    assert_eq!(stack.digest(system).await.0, 150_000);
    let runs: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT run.outcome FROM worker_task_runs run \
         JOIN activities activity ON activity.task_id = run.task_id \
         WHERE activity.id = $1 ORDER BY run.attempt",
    )
    .bind(activity)
    .fetch_all(&stack.pool)
    .await
    .unwrap();
    assert_eq!(
        runs,
        [Some("Abandoned".to_string()), Some("Completed".to_string())]
    );
}
