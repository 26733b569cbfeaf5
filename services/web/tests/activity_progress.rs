//! The activity page follows a real import as it runs: real jim-worker and jim-web processes on
//! a real PostgreSQL, a large generated CSV, and one page in headless Chromium whose DOM is
//! read again and again (over the DevTools protocol) without reloading it, to see the count of
//! processed objects move while the activity is in progress.

mod support;

use std::time::{Duration, Instant};

use jim_testkit::ServiceProcess;
use jim_testkit::browser::{Browser, BrowserPage, artifact_folder};
use jim_testkit::csv_people::{PEOPLE_MULTI_VALUED, PEOPLE_REFERENCES, write_people_file};
use jim_testkit::tempfile_folder::Folder;
use serde_json::json;
use support::{ADMIN_KEY, Web};

/// Enough rows that a debug worker takes several seconds, reporting progress on the way.
const PEOPLE: u64 = 60_000;

async fn sign_in(page: &mut BrowserPage, base: &str) {
    page.open(&format!("{base}/sign-in")).await;
    let typed = format!(
        "document.getElementById('api_key').value = {}; \
         document.querySelector('form[action=\"/sign-in\"]').submit(); true",
        json!(ADMIN_KEY)
    );
    page.evaluate(&typed).await;
    assert!(
        page.wait_for(
            "location.pathname === '/dashboard' && document.readyState === 'complete'",
            Duration::from_secs(10)
        )
        .await
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_activity_page_shows_an_import_moving_until_it_completes() {
    let logs = Folder::new("shared-logs");
    let log_env = vec![(
        "JIM_LOG_PATH".to_string(),
        logs.path().display().to_string(),
    )];
    let web = Web::start(&log_env).await;
    write_people_file(&web.connector_files.join("people.csv"), PEOPLE, 7, b',').unwrap();
    let system = web
        .post(
            "/api/v1/synchronisation/connected-systems",
            json!({"name": "People", "filePath": "people.csv", "keyAttribute": "id",
                   "multiValuedAttributes": PEOPLE_MULTI_VALUED,
                   "referenceAttributes": PEOPLE_REFERENCES}),
        )
        .await;
    assert_eq!(system.status, 201, "{system:?}");
    let system = system.body["id"].as_str().unwrap().to_string();
    let profile = web
        .create_run_profile(&system, "Full import", "FullImport")
        .await;

    let mut worker_env = web.database.service_env();
    worker_env.extend(log_env.clone());
    worker_env.push((
        "JIM_CONNECTOR_FILES_PATH".into(),
        web.connector_files.display().to_string(),
    ));
    worker_env.push(("JIM_WORKER_POLL_SECONDS".into(), "1".into()));
    let worker = ServiceProcess::start("jim-worker", &worker_env);

    let browser = Browser::launch().await;
    let mut page = browser.page().await;
    sign_in(&mut page, &web.base).await;

    // Queue the import and open its page once; from here on the page updates itself.
    let queued = web
        .post(
            &format!(
                "/api/v1/synchronisation/connected-systems/{system}/run-profiles/{profile}/execute"
            ),
            json!({}),
        )
        .await;
    assert_eq!(queued.status, 202, "{queued:?}");
    let activity = queued.body["activityId"].as_str().unwrap().to_string();
    page.open(&format!("{}/activities/{activity}", web.base))
        .await;
    page.evaluate("window.__sameDocument = true").await;

    // Read the DOM every 100 ms: the processed count while InProgress, until it completes.
    let read = "(function(){return [document.getElementById('status').textContent, \
                document.getElementById('objects-processed').textContent];})()";
    let mut seen_in_progress: Vec<u64> = Vec::new();
    let mut screenshot_taken = false;
    let started = Instant::now();
    let final_status = loop {
        let values = page.evaluate(read).await;
        let status = values[0].as_str().unwrap_or_default().to_string();
        let processed: u64 = values[1]
            .as_str()
            .unwrap_or("0")
            .trim()
            .parse()
            .unwrap_or(0);
        if status != "InProgress" {
            break (status, processed);
        }
        if processed > 0 && seen_in_progress.last() != Some(&processed) {
            seen_in_progress.push(processed);
            if !screenshot_taken {
                page.screenshot(&artifact_folder("pages").join("activity-in-progress.png"))
                    .await;
                screenshot_taken = true;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the import did not finish within 5 minutes; the worker printed:\n{}",
            worker.output()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    page.screenshot(&artifact_folder("pages").join("activity-complete.png"))
        .await;

    assert!(
        seen_in_progress.len() >= 2,
        "the page showed no movement while in progress: {seen_in_progress:?}"
    );
    assert!(
        seen_in_progress.windows(2).all(|pair| pair[0] < pair[1]),
        "{seen_in_progress:?}"
    );
    assert_eq!(
        page.evaluate("window.__sameDocument === true").await,
        json!(true),
        "the page was reloaded instead of updating itself"
    );
    let (status, processed) = final_status;
    assert!(
        status.starts_with("Complete"),
        "{status}: {}",
        worker.output()
    );
    assert_eq!(processed, PEOPLE);
    eprintln!(
        "progress seen on the page while in progress: {seen_in_progress:?}, then {status} at \
         {processed}"
    );

    // The imported objects are on the connector space page, and the worker's log on the
    // Logs page.
    page.open(&format!(
        "{}/connected-systems/{system}/connector-space",
        web.base
    ))
    .await;
    let pager = page.text("#pager").await.unwrap();
    assert!(pager.contains(&format!("{PEOPLE} objects")), "{pager}");
    page.open(&format!("{}/logs", web.base)).await;
    let worker_log = page.text("#log-worker").await.unwrap();
    assert!(worker_log.contains("Starting JIM.Worker"), "{worker_log}");
}
