//! The web pages in a real headless Chromium against the real jim-web (and jim-scheduler, for
//! the Logs page) on a real PostgreSQL: sign-in, every page signed in, escaping, the Logs page
//! with its level filter, and sign-out. Screenshots go to `target/test-artifacts/pages/`.

mod support;

use std::time::Duration;

use jim_testkit::browser::{Browser, BrowserPage, artifact_folder};
use jim_testkit::tempfile_folder::Folder;
use jim_testkit::{ServiceProcess, eventually, http_client};
use serde_json::json;
use support::{ADMIN_KEY, Web};
use uuid::Uuid;

const SYSTEMS: &str = "/api/v1/synchronisation/connected-systems";
/// A name that would become markup if a page did not escape it.
const MARKUP_NAME: &str = "<b>HR & \"Co\"</b>";

async fn signed_in(page: &mut BrowserPage, key: &str) {
    let typed = format!(
        "document.getElementById('api_key').value = {}; \
         document.querySelector('form[action=\"/sign-in\"]').submit(); true",
        json!(key)
    );
    page.evaluate(&typed).await;
}

async fn shot(page: &mut BrowserPage, name: &str) {
    page.screenshot(&artifact_folder("pages").join(format!("{name}.png")))
        .await;
}

async fn visit(page: &mut BrowserPage, base: &str, path: &str, heading: &str, name: &str) {
    page.open(&format!("{base}{path}")).await;
    let title = page.text("h1").await.unwrap_or_default();
    assert!(
        title.contains(heading),
        "{path} shows `{title}`, not `{heading}`"
    );
    shot(page, name).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_render_signed_in_escape_values_and_show_the_services_logs() {
    let logs = Folder::new("shared-logs");
    let log_env = vec![(
        "JIM_LOG_PATH".to_string(),
        logs.path().display().to_string(),
    )];
    let web = Web::start(&log_env).await;
    let mut scheduler_env = web.database.service_env();
    scheduler_env.extend(log_env.clone());
    let _scheduler = ServiceProcess::start("jim-scheduler", &scheduler_env);

    // Data for every page: a system whose name is markup, its schema, objects, a run and a
    // schedule.
    web.write_file(
        "hr.csv",
        "employeeId,displayName,manager,groups\n1,Ada,,staff|admins\n",
    );
    let created = web
        .post(
            SYSTEMS,
            json!({"name": MARKUP_NAME, "filePath": "hr.csv", "keyAttribute": "employeeId",
                   "multiValuedAttributes": ["groups"], "referenceAttributes": ["manager"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    let system = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        web.post(&format!("{SYSTEMS}/{system}/import-schema"), json!({}))
            .await
            .status,
        200
    );
    let profile = web
        .create_run_profile(&system, "Full import", "FullImport")
        .await;
    let object = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO connector_space_objects (id, connected_system_id, object_type, external_id, \
         attributes) VALUES ($1, $2, 'person', '1', $3)",
    )
    .bind(object)
    .bind(Uuid::parse_str(&system).unwrap())
    .bind(json!({"employeeId": "1", "displayName": "Ada <script>", "groups": ["staff", "admins"]}))
    .execute(&web.pool)
    .await
    .unwrap();
    let queued = web
        .post(
            &format!("{SYSTEMS}/{system}/run-profiles/{profile}/execute"),
            json!({}),
        )
        .await;
    let activity = queued.body["activityId"].as_str().unwrap().to_string();
    let schedule = web
        .post(
            "/api/v1/schedules",
            json!({"name": "Nightly", "runProfileId": profile, "triggerKind": "Cron",
                   "cronExpression": "30 1 * * *"}),
        )
        .await;
    assert_eq!(schedule.status, 201, "{schedule:?}");

    // Without the cookie, pages send the visitor to sign in; the status page stays public.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let refused = client
        .get(format!("{}/connected-systems", web.base))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 303);
    assert_eq!(
        refused.headers()["location"],
        "/sign-in?next=/connected-systems"
    );
    let forged = client
        .get(format!("{}/dashboard", web.base))
        .header("Cookie", format!("jim_session=jim_ak_{}", "e".repeat(64)))
        .send()
        .await
        .unwrap();
    assert_eq!(
        forged.status().as_u16(),
        303,
        "an unknown key opens nothing"
    );
    let status_page = http_client().get(&web.base).send().await.unwrap();
    assert_eq!(status_page.status().as_u16(), 200);

    let browser = Browser::launch().await;
    let mut page = browser.page().await;
    let base = web.base.clone();

    // Sign in: a wrong key is refused on the page, the right one lands where the visitor went.
    page.open(&format!("{base}/dashboard")).await;
    assert!(page.location().await.contains("/sign-in?next=/dashboard"));
    signed_in(&mut page, &format!("jim_ak_{}", "f".repeat(64))).await;
    assert!(
        page.wait_for(
            "document.getElementById('problem') !== null",
            Duration::from_secs(10)
        )
        .await
    );
    assert!(
        page.text("#problem")
            .await
            .unwrap()
            .contains("unknown, revoked or expired")
    );
    shot(&mut page, "sign-in-refused").await;
    signed_in(&mut page, ADMIN_KEY).await;
    assert!(
        page.wait_for(
            "location.pathname === '/dashboard' && document.readyState === 'complete'",
            Duration::from_secs(10)
        )
        .await,
        "signing in did not lead to the dashboard: {}",
        page.location().await
    );
    // The cookie is HttpOnly: the page's scripts cannot read the key.
    assert_eq!(page.evaluate("document.cookie").await, json!(""));

    // Every page, signed in.
    visit(&mut page, &base, "/dashboard", "Dashboard", "dashboard").await;
    let services = page.text("#services").await.unwrap();
    assert!(
        services.contains("web") && services.contains("scheduler"),
        "{services}"
    );
    assert!(
        page.text("#activities")
            .await
            .unwrap()
            .contains("InProgress")
    );

    visit(
        &mut page,
        &base,
        "/connected-systems",
        "Connected systems",
        "connected-systems",
    )
    .await;
    assert!(
        page.text("#connected-systems")
            .await
            .unwrap()
            .contains(MARKUP_NAME)
    );
    assert_eq!(
        page.evaluate("document.querySelector('#connected-systems b') === null")
            .await,
        json!(true),
        "the name became markup"
    );

    visit(
        &mut page,
        &base,
        &format!("/connected-systems/{system}"),
        MARKUP_NAME,
        "connected-system",
    )
    .await;
    let schema = page.text("#schema").await.unwrap();
    assert!(
        schema.contains("displayName") && schema.contains("Reference"),
        "{schema}"
    );
    assert!(
        page.text("#run-profiles")
            .await
            .unwrap()
            .contains("Full import")
    );

    visit(
        &mut page,
        &base,
        &format!("/connected-systems/{system}/connector-space"),
        "Connector space",
        "connector-space",
    )
    .await;
    let objects = page.text("#objects").await.unwrap();
    assert!(
        objects.contains("Ada <script>") && objects.contains("admins"),
        "{objects}"
    );
    assert!(page.text("#pager").await.unwrap().contains("1 objects"));

    visit(
        &mut page,
        &base,
        &format!("/connected-systems/{system}/connector-space/{object}"),
        "1",
        "connector-space-object",
    )
    .await;
    assert!(page.text("#values").await.unwrap().contains("Ada <script>"));

    visit(&mut page, &base, "/activities", "Activities", "activities").await;
    visit(
        &mut page,
        &base,
        &format!("/activities/{activity}"),
        "FullImport",
        "activity",
    )
    .await;
    assert_eq!(page.text("#status").await.unwrap(), "InProgress");

    visit(&mut page, &base, "/schedules", "Schedules", "schedules").await;
    let schedules = page.text("#schedules").await.unwrap();
    assert!(
        schedules.contains("Nightly") && schedules.contains("30 1 * * *"),
        "{schedules}"
    );

    // The Logs page shows what the services wrote, and its filter hides lower levels.
    let scheduler_started = eventually(Duration::from_secs(20), || {
        let folder = logs.path().to_path_buf();
        async move {
            std::fs::read_dir(&folder)
                .map(|entries| {
                    entries.filter_map(Result::ok).any(|entry| {
                        entry
                            .file_name()
                            .to_string_lossy()
                            .starts_with("jim-scheduler.")
                    })
                })
                .unwrap_or(false)
        }
    })
    .await;
    assert!(scheduler_started, "the scheduler wrote no log file");
    visit(&mut page, &base, "/logs", "Logs", "logs").await;
    let web_log = page.text("#log-web").await.unwrap();
    assert!(web_log.contains("Starting JIM.Web"), "{web_log}");
    assert!(web_log.contains("Signed in to the pages"), "{web_log}");
    let scheduler_log = page.text("#log-scheduler").await.unwrap();
    assert!(
        scheduler_log.contains("Starting JIM.Scheduler"),
        "{scheduler_log}"
    );
    visit(
        &mut page,
        &base,
        "/logs?level=Error",
        "Logs",
        "logs-errors-only",
    )
    .await;
    let web_errors = page.text("#log-web").await.unwrap();
    assert!(!web_errors.contains("Starting JIM.Web"), "{web_errors}");
    assert_eq!(
        page.evaluate("document.getElementById('level').value")
            .await,
        json!("Error")
    );

    // Sign out: the pages are closed again.
    page.evaluate("document.querySelector('form[action=\"/sign-out\"]').submit(); true")
        .await;
    assert!(
        page.wait_for("location.pathname === '/sign-in'", Duration::from_secs(10))
            .await
    );
    page.open(&format!("{base}/schedules")).await;
    assert!(page.location().await.contains("/sign-in?next=/schedules"));
}
