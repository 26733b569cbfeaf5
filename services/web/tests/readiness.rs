//! Readiness against a real PostgreSQL, with the real web and worker binaries.

use std::time::Duration;

use jim_testkit::{ServiceProcess, TestDatabase, http_client, start_web, wait_for_status};
use serde_json::Value;

async fn ready_body(base: &str) -> (u16, Value) {
    let response = http_client()
        .get(format!("{base}/api/v1/health/ready"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn ready_answers_503_until_the_worker_has_migrated_then_200() {
    let database = TestDatabase::create().await;
    let (web, base) = start_web(&database.service_env()).await;

    // The database is reachable but empty: the worker has not migrated it.
    let reached = jim_testkit::eventually(Duration::from_secs(20), || async {
        ready_body(&base).await.1["reason"] == "pending_migrations"
    })
    .await;
    assert!(reached, "web output:\n{}", web.output());
    let (status, body) = ready_body(&base).await;
    assert_eq!(status, 503);
    assert_eq!(body["status"], "not_ready");
    let page = http_client().get(format!("{base}/")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 503);
    assert!(page.text().await.unwrap().contains("JIM is starting"));

    let worker = ServiceProcess::start("jim-worker", &database.service_env());
    wait_for_status(
        &web,
        &base,
        "/api/v1/health/ready",
        200,
        Duration::from_secs(60),
    )
    .await;
    let (_, body) = ready_body(&base).await;
    assert_eq!(body["status"], "ready");
    assert!(
        worker.output().contains("Starting JIM.Worker"),
        "{}",
        worker.output()
    );

    // Once ready, the page lists the heartbeat of each service that is running.
    let reached = jim_testkit::eventually(Duration::from_secs(20), || async {
        let page = http_client()
            .get(format!("{base}/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        page.contains("JIM is running")
            && page.contains("<td>web</td>")
            && page.contains("<td>worker</td>")
    })
    .await;
    assert!(reached, "the status page never listed web and worker");
}

#[tokio::test(flavor = "multi_thread")]
async fn web_started_before_the_database_exists_becomes_ready_once_it_appears() {
    // The database is created only after web has started and failed to reach it.
    let database_name = format!("jim_test_{}", uuid_like());
    let mut env = TestDatabase::env_for(&database_name);
    env.push(("JIM_DB_STARTUP_WAIT_SECONDS".into(), "120".into()));
    let (web, base) = start_web(&env).await;
    let (status, body) = ready_body(&base).await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (503, Some("database_unavailable"))
    );

    // Wait for at least one logged retry before the database appears.
    let retried = jim_testkit::eventually(Duration::from_secs(20), || async {
        web.output()
            .contains("The database is not reachable yet (attempt 1")
    })
    .await;
    assert!(retried, "web never logged a retry:\n{}", web.output());

    let database = TestDatabase::create_named(&database_name).await;
    let _worker = ServiceProcess::start("jim-worker", &database.service_env());
    wait_for_status(
        &web,
        &base,
        "/api/v1/health/ready",
        200,
        Duration::from_secs(90),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_gives_up_with_a_non_zero_exit_when_the_database_never_appears() {
    let port = jim_testkit::free_port();
    let env = vec![
        ("JIM_DB_HOSTNAME".to_string(), format!("127.0.0.1:{port}")),
        ("JIM_DB_NAME".to_string(), "jim".to_string()),
        ("JIM_DB_USERNAME".to_string(), "jim".to_string()),
        ("JIM_DB_PASSWORD".to_string(), "jim".to_string()),
        ("JIM_DB_STARTUP_WAIT_SECONDS".to_string(), "5".to_string()),
    ];
    let mut worker = ServiceProcess::start("jim-worker", &env);
    let exited = jim_testkit::eventually(Duration::from_secs(30), || {
        let status = worker.try_status();
        async move { status.is_some() }
    })
    .await;
    assert!(exited, "the worker kept waiting past its budget");
    let status = worker.try_status().unwrap();
    assert!(!status.success(), "the worker exited 0");
    let output = worker.output();
    assert!(output.contains("attempt 1, 0 s elapsed"), "{output}");
    assert!(output.contains("Retrying in 2 s"), "{output}");
    assert!(output.contains("Giving up"), "{output}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_variable_stops_the_service_with_one_line_naming_it() {
    let database = TestDatabase::create().await;
    let env: Vec<_> = database
        .service_env()
        .into_iter()
        .filter(|(name, _)| name != "JIM_DB_PASSWORD")
        .collect();
    for binary in ["jim-web", "jim-worker", "jim-scheduler"] {
        let mut process = ServiceProcess::start(binary, &env);
        let exited = jim_testkit::eventually(Duration::from_secs(10), || {
            let status = process.try_status();
            async move { status.is_some() }
        })
        .await;
        assert!(exited, "{binary} did not stop");
        assert_eq!(process.try_status().unwrap().code(), Some(2), "{binary}");
        assert_eq!(
            process.output().trim(),
            "error: `JIM_DB_PASSWORD` is not set; expected the database password",
            "{binary}"
        );
    }
}

fn uuid_like() -> String {
    format!(
        "{:x}{:x}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}
