//! The identity-data routes of the REST API against the real jim-web on a real PostgreSQL:
//! for each route its success, its refusal without a key (and of a reader for writes), its
//! not-found and its bad input.

mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::{ADMIN_KEY, UNKNOWN_ID, Web, assert_error};
use uuid::Uuid;

const SYSTEMS: &str = "/api/v1/synchronisation/connected-systems";
const PEOPLE_CSV: &str = "employeeId,displayName,manager,groups\n\
                          1,Ada,,staff|admins\n2,Grace,1,staff\n";

/// A reader is refused (403) and a caller without a key is refused (401).
async fn assert_write_refused(web: &Web, method: Method, path: &str, body: Option<Value>) {
    let anonymous = web.call(method.clone(), path, None, body.clone()).await;
    assert_error(&anonymous, 401, "missing_api_key", "X-API-Key");
    let reader = web.call(method, path, Some(&web.reader_key), body).await;
    assert_error(&reader, 403, "forbidden", "Administrator");
}

/// Deleting `path` is refused to readers and anonymous callers, works once for an
/// administrator (204), and a second time finds nothing (404 naming `id`).
async fn assert_deleted_once(web: &Web, path: &str, id: &str) {
    assert_write_refused(web, Method::DELETE, path, None).await;
    let deleted = web.call(Method::DELETE, path, Some(ADMIN_KEY), None).await;
    assert_eq!(deleted.status, 204, "{deleted:?}");
    let again = web.call(Method::DELETE, path, Some(ADMIN_KEY), None).await;
    assert_error(&again, 404, "not_found", id);
}

async fn assert_read_refused(web: &Web, path: &str) {
    let anonymous = web.call(Method::GET, path, None, None).await;
    assert_error(&anonymous, 401, "missing_api_key", "X-API-Key");
    let reader = web
        .call(Method::GET, path, Some(&web.reader_key), None)
        .await;
    assert_eq!(reader.status, 200, "a reader may read {path}: {reader:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn connected_systems_are_created_listed_updated_imported_and_deleted() {
    let web = Web::start(&[]).await;
    web.write_file("hr/people.csv", PEOPLE_CSV);

    // Create.
    let body = json!({"name": "HR", "description": "People from HR", "filePath": "hr/people.csv",
                      "keyAttribute": "employeeId", "multiValuedAttributes": ["groups"],
                      "referenceAttributes": ["manager"]});
    let created = web.post(SYSTEMS, body.clone()).await;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.body["name"], "HR");
    assert_eq!(created.body["connectorType"], "File");
    assert_eq!(created.body["delimiter"], ",");
    assert_eq!(created.body["objectType"], "person");
    assert_eq!(created.body["attributes"], json!([]));
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_write_refused(&web, Method::POST, SYSTEMS, Some(json!({"name": "Other"}))).await;

    // Create: bad input names the field; a taken name is a conflict.
    let duplicate = web.post(SYSTEMS, body.clone()).await;
    assert_error(&duplicate, 409, "duplicate_name", "name");
    assert!(duplicate.message().contains("HR"), "{duplicate:?}");
    let malformed = web.call_raw(Method::POST, SYSTEMS, "{\"name\": ").await;
    assert_eq!(
        (malformed.status, malformed.code()),
        (400, "malformed_json")
    );
    let cases = [
        (
            json!({"name": 5, "filePath": "a.csv", "keyAttribute": "id"}),
            "name",
        ),
        (json!({"name": "X", "filePath": "a.csv"}), "keyAttribute"),
        (
            json!({"name": "X", "filePath": "a.csv", "keyAttribute": "id", "connectorType": "Ldap"}),
            "connectorType",
        ),
        (
            json!({"name": "X", "filePath": "../etc/passwd", "keyAttribute": "id"}),
            "filePath",
        ),
        (
            json!({"name": "X", "filePath": "/etc/passwd", "keyAttribute": "id"}),
            "filePath",
        ),
        (
            json!({"name": "X", "filePath": "a.csv", "keyAttribute": "id", "delimiter": ";;"}),
            "delimiter",
        ),
        (
            json!({"name": " ", "filePath": "a.csv", "keyAttribute": "id"}),
            "name",
        ),
        (
            json!({"name": "A\u{0}B", "filePath": "a.csv", "keyAttribute": "id"}),
            "name",
        ),
        (
            json!({"name": "X", "filePath": "a.csv", "keyAttribute": "id", "description": "a\u{0}"}),
            "U+0000",
        ),
        (
            json!({"name": "X", "filePath": "a.csv", "keyAttribute": "id", "colour": "red"}),
            "colour",
        ),
    ];
    for (body, field) in cases {
        let answer = web.post(SYSTEMS, body.clone()).await;
        assert_eq!(answer.status, 422, "{body}: {answer:?}");
        assert!(answer.message().contains(field), "{body}: {answer:?}");
    }

    // List, with the paging envelope at its edges.
    web.create_system("Payroll", "payroll.csv").await;
    let listed = web.get(SYSTEMS).await;
    assert_eq!(listed.status, 200);
    assert_eq!(
        (
            &listed.body["totalCount"],
            &listed.body["page"],
            &listed.body["pageSize"],
            &listed.body["totalPages"]
        ),
        (&json!(2), &json!(1), &json!(25), &json!(1))
    );
    assert_eq!(listed.body["items"][0]["name"], "HR");
    let first = web.get(&format!("{SYSTEMS}?pageSize=1")).await;
    assert_eq!(first.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        (&first.body["totalPages"], &first.body["hasNextPage"]),
        (&json!(2), &json!(true))
    );
    let last = web.get(&format!("{SYSTEMS}?page=2&pageSize=1")).await;
    assert_eq!(last.body["items"][0]["name"], "Payroll");
    assert_eq!(
        (&last.body["hasNextPage"], &last.body["hasPreviousPage"]),
        (&json!(false), &json!(true))
    );
    let beyond = web.get(&format!("{SYSTEMS}?page=3&pageSize=1")).await;
    assert_eq!(
        (beyond.status, beyond.body["items"].clone()),
        (200, json!([]))
    );
    let widest = web.get(&format!("{SYSTEMS}?pageSize=100")).await;
    assert_eq!(widest.body["pageSize"], 100);
    assert_error(
        &web.get(&format!("{SYSTEMS}?pageSize=0")).await,
        400,
        "invalid_page_size",
        "pageSize",
    );
    assert_error(
        &web.get(&format!("{SYSTEMS}?pageSize=101")).await,
        400,
        "invalid_page_size",
        "pageSize",
    );
    assert_error(
        &web.get(&format!("{SYSTEMS}?page=0")).await,
        400,
        "invalid_page",
        "page",
    );
    assert_error(
        &web.get(&format!("{SYSTEMS}?page=abc")).await,
        400,
        "invalid_query",
        "page",
    );
    assert_read_refused(&web, SYSTEMS).await;

    // Get.
    let one = format!("{SYSTEMS}/{id}");
    let got = web.get(&one).await;
    assert_eq!(
        (got.status, &got.body["filePath"]),
        (200, &json!("hr/people.csv"))
    );
    assert_error(
        &web.get(&format!("{SYSTEMS}/{UNKNOWN_ID}")).await,
        404,
        "not_found",
        UNKNOWN_ID,
    );
    assert_error(
        &web.get(&format!("{SYSTEMS}/not-a-uuid")).await,
        400,
        "invalid_id",
        "`id`",
    );
    assert_read_refused(&web, &one).await;

    // Update.
    let mut changed = body.clone();
    changed["description"] = json!("People, updated");
    let updated = web
        .call(Method::PUT, &one, Some(ADMIN_KEY), Some(changed.clone()))
        .await;
    assert_eq!(
        (updated.status, &updated.body["description"]),
        (200, &json!("People, updated"))
    );
    let missing = web
        .call(
            Method::PUT,
            &format!("{SYSTEMS}/{UNKNOWN_ID}"),
            Some(ADMIN_KEY),
            Some(changed.clone()),
        )
        .await;
    assert_error(&missing, 404, "not_found", UNKNOWN_ID);
    let mut taken = changed.clone();
    taken["name"] = json!("Payroll");
    let conflict = web
        .call(Method::PUT, &one, Some(ADMIN_KEY), Some(taken))
        .await;
    assert_error(&conflict, 409, "duplicate_name", "Payroll");
    let mut escaping = changed.clone();
    escaping["filePath"] = json!("hr/../../secret.csv");
    let refused = web
        .call(Method::PUT, &one, Some(ADMIN_KEY), Some(escaping))
        .await;
    assert_error(&refused, 422, "invalid_field", "filePath");
    assert_write_refused(&web, Method::PUT, &one, Some(changed)).await;

    // Import the schema from the file's header.
    let import = format!("{one}/import-schema");
    let imported = web.post(&import, json!({})).await;
    assert_eq!(imported.status, 200, "{imported:?}");
    let attributes = imported.body["attributes"].as_array().unwrap();
    let names: Vec<&str> = attributes
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["employeeId", "displayName", "manager", "groups"]);
    assert_eq!(attributes[0]["isKey"], true);
    assert_eq!(attributes[2]["dataType"], "Reference");
    assert_eq!(attributes[3]["isMultiValued"], true);
    assert_eq!(
        web.get(&one).await.body["attributes"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    let missing_file = web
        .post(
            &format!(
                "{SYSTEMS}/{}/import-schema",
                web.create_system("Empty", "nowhere.csv").await
            ),
            json!({}),
        )
        .await;
    assert_error(&missing_file, 422, "invalid_field", "nowhere.csv");
    web.write_file("nokey.csv", "name,mail\nA,a@example.org\n");
    let no_key = web.create_system("No key", "nokey.csv").await;
    let answer = web
        .post(&format!("{SYSTEMS}/{no_key}/import-schema"), json!({}))
        .await;
    assert_error(&answer, 422, "invalid_field", "keyAttribute");
    assert_error(
        &web.post(&format!("{SYSTEMS}/{UNKNOWN_ID}/import-schema"), json!({}))
            .await,
        404,
        "not_found",
        UNKNOWN_ID,
    );
    assert_write_refused(&web, Method::POST, &import, None).await;

    // Delete.
    assert_deleted_once(&web, &one, &id).await;
    assert_eq!(web.get(&one).await.status, 404);
    let bad = web
        .call(
            Method::DELETE,
            &format!("{SYSTEMS}/42"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert_error(&bad, 400, "invalid_id", "`id`");
}

#[tokio::test(flavor = "multi_thread")]
async fn run_profiles_execute_into_activities_with_progress_and_items() {
    let web = Web::start(&[]).await;
    let system = web.create_system("HR", "hr.csv").await;
    let profiles = format!("{SYSTEMS}/{system}/run-profiles");

    // Create.
    let created = web
        .post(
            &profiles,
            json!({"name": "Full import", "runType": "FullImport"}),
        )
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(
        (&created.body["runType"], &created.body["connectedSystemId"]),
        (&json!("FullImport"), &json!(system))
    );
    let profile = created.body["id"].as_str().unwrap().to_string();
    let duplicate = web
        .post(
            &profiles,
            json!({"name": "Full import", "runType": "Export"}),
        )
        .await;
    assert_error(&duplicate, 409, "duplicate_name", "Full import");
    let unknown_type = web
        .post(
            &profiles,
            json!({"name": "Sync", "runType": "FullSynchronisation"}),
        )
        .await;
    assert_error(&unknown_type, 422, "invalid_field", "runType");
    let escaping = web
        .post(
            &profiles,
            json!({"name": "Out", "runType": "Export", "filePath": "../out.csv"}),
        )
        .await;
    assert_error(&escaping, 422, "invalid_field", "filePath");
    let no_system = web
        .post(
            &format!("{SYSTEMS}/{UNKNOWN_ID}/run-profiles"),
            json!({"name": "X", "runType": "Export"}),
        )
        .await;
    assert_error(&no_system, 404, "not_found", UNKNOWN_ID);
    assert_write_refused(
        &web,
        Method::POST,
        &profiles,
        Some(json!({"name": "R", "runType": "Export"})),
    )
    .await;

    // List and get.
    let listed = web.get(&profiles).await;
    assert_eq!(
        (listed.status, listed.body.as_array().unwrap().len()),
        (200, 1)
    );
    assert_read_refused(&web, &profiles).await;
    assert_error(
        &web.get(&format!("{SYSTEMS}/{UNKNOWN_ID}/run-profiles"))
            .await,
        404,
        "not_found",
        UNKNOWN_ID,
    );
    let one = format!("{profiles}/{profile}");
    assert_eq!(web.get(&one).await.body["name"], "Full import");
    assert_read_refused(&web, &one).await;
    assert_error(
        &web.get(&format!("{profiles}/{UNKNOWN_ID}")).await,
        404,
        "not_found",
        UNKNOWN_ID,
    );
    assert_error(
        &web.get(&format!("{profiles}/x")).await,
        400,
        "invalid_id",
        "runProfileId",
    );

    // Before any run the list is empty: no pages at all, and no page before or after.
    let empty = web.get("/api/v1/activities").await;
    assert_eq!(
        empty.body,
        json!({"items": [], "totalCount": 0, "page": 1, "pageSize": 25, "totalPages": 0,
               "hasNextPage": false, "hasPreviousPage": false})
    );

    // Execute: 202 with the activity and the task, both in the database.
    let execute = format!("{one}/execute");
    let queued = web.post(&execute, json!({})).await;
    assert_eq!(queued.status, 202, "{queued:?}");
    let activity = queued.body["activityId"].as_str().unwrap().to_string();
    let task = queued.body["taskId"].as_str().unwrap().to_string();
    let (kind, status): (String, String) =
        sqlx::query_as("SELECT kind, status FROM worker_tasks WHERE id = $1")
            .bind(Uuid::parse_str(&task).unwrap())
            .fetch_one(&web.pool)
            .await
            .unwrap();
    assert_eq!((kind.as_str(), status.as_str()), ("RunProfile", "Queued"));
    assert_error(
        &web.post(&format!("{profiles}/{UNKNOWN_ID}/execute"), json!({}))
            .await,
        404,
        "not_found",
        UNKNOWN_ID,
    );
    assert_write_refused(&web, Method::POST, &execute, None).await;

    // Activities: list with filters, one, progress and items.
    let listed = web.get("/api/v1/activities").await;
    assert_eq!(
        (listed.status, &listed.body["totalCount"]),
        (200, &json!(1))
    );
    assert_eq!(listed.body["items"][0]["id"], json!(activity));
    assert_eq!(listed.body["items"][0]["status"], "InProgress");
    assert_eq!(listed.body["items"][0]["runProfileName"], "Full import");
    let filtered = web
        .get(&format!(
            "/api/v1/activities?status=Complete&connectedSystemId={system}"
        ))
        .await;
    assert_eq!(filtered.body["totalCount"], 0);
    let by_system = web
        .get(&format!("/api/v1/activities?connectedSystemId={system}"))
        .await;
    assert_eq!(by_system.body["totalCount"], 1);
    assert_error(
        &web.get("/api/v1/activities?status=Finished").await,
        400,
        "invalid_query",
        "status",
    );
    assert_error(
        &web.get("/api/v1/activities?connectedSystemId=7").await,
        400,
        "invalid_query",
        "connectedSystemId",
    );
    assert_error(
        &web.get("/api/v1/activities?pageSize=101").await,
        400,
        "invalid_page_size",
        "pageSize",
    );
    assert_read_refused(&web, "/api/v1/activities").await;

    let one_activity = format!("/api/v1/activities/{activity}");
    let got = web.get(&one_activity).await;
    assert_eq!(
        (got.status, &got.body["runType"], &got.body["taskId"]),
        (200, &json!("FullImport"), &json!(task))
    );
    assert_read_refused(&web, &one_activity).await;
    assert_error(
        &web.get(&format!("/api/v1/activities/{UNKNOWN_ID}")).await,
        404,
        "not_found",
        UNKNOWN_ID,
    );
    assert_error(
        &web.get("/api/v1/activities/abc").await,
        400,
        "invalid_id",
        "`id`",
    );

    let activity_id = Uuid::parse_str(&activity).unwrap();
    sqlx::query("UPDATE activities SET phase = 'Importing', objects_processed = 50, objects_total = 200 WHERE id = $1")
        .bind(activity_id)
        .execute(&web.pool)
        .await
        .unwrap();
    let progress = web.get(&format!("{one_activity}/progress")).await;
    assert_eq!(progress.status, 200);
    assert_eq!(
        (
            &progress.body["phase"],
            &progress.body["objectsProcessed"],
            &progress.body["percentComplete"],
            &progress.body["isFinished"]
        ),
        (&json!("Importing"), &json!(50), &json!(25.0), &json!(false))
    );
    assert_read_refused(&web, &format!("{one_activity}/progress")).await;
    assert_error(
        &web.get(&format!("/api/v1/activities/{UNKNOWN_ID}/progress"))
            .await,
        404,
        "not_found",
        UNKNOWN_ID,
    );

    for line in 1..=3_i64 {
        sqlx::query("INSERT INTO activity_items (activity_id, severity, kind, line_number, message) VALUES ($1, 'Warning', 'DuplicateKey', $2, 'key seen twice')")
            .bind(activity_id)
            .bind(line)
            .execute(&web.pool)
            .await
            .unwrap();
    }
    let items = web
        .get(&format!("{one_activity}/items?page=2&pageSize=2"))
        .await;
    assert_eq!(items.status, 200);
    assert_eq!(
        (
            &items.body["totalCount"],
            &items.body["totalPages"],
            items.body["items"].as_array().unwrap().len()
        ),
        (&json!(3), &json!(2), 1)
    );
    assert_eq!(items.body["items"][0]["lineNumber"], 3);
    assert_read_refused(&web, &format!("{one_activity}/items")).await;
    assert_error(
        &web.get(&format!("/api/v1/activities/{UNKNOWN_ID}/items"))
            .await,
        404,
        "not_found",
        UNKNOWN_ID,
    );
    assert_error(
        &web.get(&format!("{one_activity}/items?pageSize=0")).await,
        400,
        "invalid_page_size",
        "pageSize",
    );

    // Delete the run profile; the activity stays.
    assert_deleted_once(&web, &one, &profile).await;
    assert_eq!(web.get(&one_activity).await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn connector_space_objects_are_paged_with_their_values() {
    let web = Web::start(&[]).await;
    let system = web.create_system("HR", "hr.csv").await;
    let system_id = Uuid::parse_str(&system).unwrap();
    let mut ids = Vec::new();
    for (key, name, groups) in [
        ("1", "Ada", json!(["staff", "admins"])),
        ("2", "Grace", json!(["staff"])),
        ("3", "Linus", json!([])),
    ] {
        let id = Uuid::new_v4();
        sqlx::query("INSERT INTO connector_space_objects (id, connected_system_id, object_type, external_id, attributes) VALUES ($1, $2, 'person', $3, $4)")
            .bind(id)
            .bind(system_id)
            .bind(key)
            .bind(json!({"employeeId": key, "displayName": name, "groups": groups}))
            .execute(&web.pool)
            .await
            .unwrap();
        ids.push(id);
    }
    sqlx::query("INSERT INTO connector_space_references (object_id, attribute_name, target_external_id, target_object_id) VALUES ($1, 'manager', '1', $2)")
        .bind(ids[1])
        .bind(ids[0])
        .execute(&web.pool)
        .await
        .unwrap();

    let space = format!("{SYSTEMS}/{system}/connector-space");
    let first = web.get(&format!("{space}?pageSize=2")).await;
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(
        (
            &first.body["totalCount"],
            &first.body["totalPages"],
            &first.body["hasNextPage"]
        ),
        (&json!(3), &json!(2), &json!(true))
    );
    assert_eq!(
        first.body["items"][0]["attributes"]["groups"],
        json!(["staff", "admins"])
    );
    let second = web.get(&format!("{space}?page=2&pageSize=2")).await;
    assert_eq!(second.body["items"][0]["externalId"], "3");
    assert_eq!(second.body["hasNextPage"], false);
    assert_read_refused(&web, &space).await;
    assert_error(
        &web.get(&format!("{SYSTEMS}/{UNKNOWN_ID}/connector-space"))
            .await,
        404,
        "not_found",
        UNKNOWN_ID,
    );
    assert_error(
        &web.get(&format!("{space}?pageSize=101")).await,
        400,
        "invalid_page_size",
        "pageSize",
    );

    let grace = format!("{space}/{}", ids[1]);
    let got = web.get(&grace).await;
    assert_eq!(
        (got.status, &got.body["attributes"]["displayName"]),
        (200, &json!("Grace"))
    );
    assert_eq!(got.body["references"][0]["targetObjectId"], json!(ids[0]));
    assert_read_refused(&web, &grace).await;
    assert_error(
        &web.get(&format!("{space}/{UNKNOWN_ID}")).await,
        404,
        "not_found",
        UNKNOWN_ID,
    );
    assert_error(
        &web.get(&format!("{space}/grace")).await,
        400,
        "invalid_id",
        "objectId",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn schedules_run_a_run_profile_on_cron_or_interval() {
    let web = Web::start(&[]).await;
    let system = web.create_system("HR", "hr.csv").await;
    let profile = web
        .create_run_profile(&system, "Nightly import", "FullImport")
        .await;
    let schedules = "/api/v1/schedules";

    // Create.
    let cron = web
        .post(schedules, json!({"name": "Nightly", "runProfileId": profile, "triggerKind": "Cron", "cronExpression": "0 2 * * *"}))
        .await;
    assert_eq!(cron.status, 201, "{cron:?}");
    assert_eq!(
        (
            &cron.body["taskKind"],
            &cron.body["runProfileName"],
            &cron.body["enabled"]
        ),
        (&json!("RunProfile"), &json!("Nightly import"), &json!(true))
    );
    assert!(
        cron.body["nextRunAt"]
            .as_str()
            .unwrap()
            .contains("T02:00:00"),
        "{cron:?}"
    );
    let schedule = cron.body["id"].as_str().unwrap().to_string();
    let interval = web
        .post(schedules, json!({"name": "Hourly", "runProfileId": profile, "triggerKind": "Interval", "intervalSeconds": 3600, "enabled": false}))
        .await;
    assert_eq!(
        (
            interval.status,
            &interval.body["intervalSeconds"],
            &interval.body["nextRunAt"]
        ),
        (201, &json!(3600), &Value::Null)
    );
    let cases = [
        (
            json!({"name": "A", "runProfileId": profile, "triggerKind": "Cron", "cronExpression": "every night"}),
            "cronExpression",
        ),
        (
            json!({"name": "A", "runProfileId": profile, "triggerKind": "Cron", "cronExpression": "61 * * * *"}),
            "cronExpression",
        ),
        (
            json!({"name": "A", "runProfileId": profile, "triggerKind": "Cron"}),
            "cronExpression",
        ),
        (
            json!({"name": "A", "runProfileId": profile, "triggerKind": "Interval", "intervalSeconds": 0}),
            "intervalSeconds",
        ),
        (
            json!({"name": "A", "runProfileId": profile, "triggerKind": "Interval", "intervalSeconds": "often"}),
            "intervalSeconds",
        ),
        (
            json!({"name": "A", "runProfileId": profile, "triggerKind": "Weekly"}),
            "triggerKind",
        ),
        (
            json!({"name": "A", "runProfileId": UNKNOWN_ID, "triggerKind": "Interval", "intervalSeconds": 60}),
            "runProfileId",
        ),
        (
            json!({"name": "A", "runProfileId": "nope", "triggerKind": "Interval", "intervalSeconds": 60}),
            "runProfileId",
        ),
    ];
    for (body, field) in cases {
        let answer = web.post(schedules, body.clone()).await;
        assert_eq!(answer.status, 422, "{body}: {answer:?}");
        assert!(answer.message().contains(field), "{body}: {answer:?}");
    }
    let duplicate = web
        .post(schedules, json!({"name": "Nightly", "runProfileId": profile, "triggerKind": "Interval", "intervalSeconds": 60}))
        .await;
    assert_error(&duplicate, 409, "duplicate_name", "Nightly");
    assert_write_refused(&web, Method::POST, schedules, Some(json!({"name": "R"}))).await;

    // List and get.
    let listed = web.get(&format!("{schedules}?pageSize=1")).await;
    assert_eq!(
        (&listed.body["totalCount"], &listed.body["totalPages"]),
        (&json!(2), &json!(2))
    );
    assert_eq!(listed.body["items"][0]["name"], "Hourly");
    assert_error(
        &web.get(&format!("{schedules}?pageSize=0")).await,
        400,
        "invalid_page_size",
        "pageSize",
    );
    assert_read_refused(&web, schedules).await;
    let one = format!("{schedules}/{schedule}");
    assert_eq!(web.get(&one).await.body["cronExpression"], "0 2 * * *");
    assert_read_refused(&web, &one).await;
    assert_error(
        &web.get(&format!("{schedules}/{UNKNOWN_ID}")).await,
        404,
        "not_found",
        UNKNOWN_ID,
    );
    assert_error(
        &web.get(&format!("{schedules}/tomorrow")).await,
        400,
        "invalid_id",
        "`id`",
    );

    // Disable and enable.
    let disabled = web.post(&format!("{one}/disable"), json!({})).await;
    assert_eq!(
        (
            disabled.status,
            &disabled.body["enabled"],
            &disabled.body["nextRunAt"]
        ),
        (200, &json!(false), &Value::Null)
    );
    let enabled = web.post(&format!("{one}/enable"), json!({})).await;
    assert_eq!(
        (enabled.status, &enabled.body["enabled"]),
        (200, &json!(true))
    );
    assert!(enabled.body["nextRunAt"].is_string(), "{enabled:?}");
    for action in ["enable", "disable"] {
        assert_error(
            &web.post(&format!("{schedules}/{UNKNOWN_ID}/{action}"), json!({}))
                .await,
            404,
            "not_found",
            UNKNOWN_ID,
        );
        assert_write_refused(&web, Method::POST, &format!("{one}/{action}"), None).await;
    }

    // Run now, and the run in the list of executions.
    let run = web.post(&format!("{one}/run"), json!({})).await;
    assert_eq!(run.status, 202, "{run:?}");
    let activity = run.body["activityId"].as_str().unwrap().to_string();
    let activity_answer = web.get(&format!("/api/v1/activities/{activity}")).await;
    assert_eq!(activity_answer.body["scheduleId"], json!(schedule));
    assert_error(
        &web.post(&format!("{schedules}/{UNKNOWN_ID}/run"), json!({}))
            .await,
        404,
        "not_found",
        UNKNOWN_ID,
    );
    assert_write_refused(&web, Method::POST, &format!("{one}/run"), None).await;
    let executions = web.get(&format!("{one}/executions")).await;
    assert_eq!(
        (executions.status, &executions.body["totalCount"]),
        (200, &json!(1))
    );
    let execution = &executions.body["items"][0];
    assert_eq!(
        (
            &execution["id"],
            &execution["taskId"],
            &execution["activityId"]
        ),
        (
            &run.body["executionId"],
            &run.body["taskId"],
            &json!(activity)
        )
    );
    assert_eq!(
        (&execution["taskStatus"], &execution["activityStatus"]),
        (&json!("Queued"), &json!("InProgress"))
    );
    assert_read_refused(&web, &format!("{one}/executions")).await;
    assert_error(
        &web.get(&format!("{schedules}/{UNKNOWN_ID}/executions"))
            .await,
        404,
        "not_found",
        UNKNOWN_ID,
    );
    assert_error(
        &web.get(&format!("{one}/executions?page=-1")).await,
        400,
        "invalid_page",
        "page",
    );

    // Delete.
    assert_deleted_once(&web, &one, &schedule).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_with_an_id_refuses_one_that_is_not_a_uuid() {
    let web = Web::start(&[]).await;
    let system = web.create_system("HR", "hr.csv").await;
    let cases = [
        (Method::GET, format!("{SYSTEMS}/x"), "id"),
        (Method::PUT, format!("{SYSTEMS}/x"), "id"),
        (Method::DELETE, format!("{SYSTEMS}/x"), "id"),
        (Method::POST, format!("{SYSTEMS}/x/import-schema"), "id"),
        (Method::GET, format!("{SYSTEMS}/x/run-profiles"), "id"),
        (Method::POST, format!("{SYSTEMS}/x/run-profiles"), "id"),
        (
            Method::GET,
            format!("{SYSTEMS}/{system}/run-profiles/x"),
            "runProfileId",
        ),
        (
            Method::DELETE,
            format!("{SYSTEMS}/{system}/run-profiles/x"),
            "runProfileId",
        ),
        (
            Method::POST,
            format!("{SYSTEMS}/{system}/run-profiles/x/execute"),
            "runProfileId",
        ),
        (Method::GET, format!("{SYSTEMS}/x/connector-space"), "id"),
        (
            Method::GET,
            format!("{SYSTEMS}/{system}/connector-space/x"),
            "objectId",
        ),
        (Method::GET, "/api/v1/activities/x".to_string(), "id"),
        (
            Method::GET,
            "/api/v1/activities/x/progress".to_string(),
            "id",
        ),
        (Method::GET, "/api/v1/activities/x/items".to_string(), "id"),
        (Method::GET, "/api/v1/schedules/x".to_string(), "id"),
        (Method::DELETE, "/api/v1/schedules/x".to_string(), "id"),
        (Method::POST, "/api/v1/schedules/x/enable".to_string(), "id"),
        (
            Method::POST,
            "/api/v1/schedules/x/disable".to_string(),
            "id",
        ),
        (Method::POST, "/api/v1/schedules/x/run".to_string(), "id"),
        (
            Method::GET,
            "/api/v1/schedules/x/executions".to_string(),
            "id",
        ),
    ];
    for (method, path, parameter) in cases {
        let body = (method == Method::PUT || method == Method::POST).then(|| json!({}));
        let answer = web.call(method.clone(), &path, Some(ADMIN_KEY), body).await;
        assert_eq!(
            (answer.status, answer.code()),
            (400, "invalid_id"),
            "{method} {path}: {answer:?}"
        );
        assert!(
            answer.message().contains(&format!("`{parameter}`")),
            "{method} {path}: {answer:?}"
        );
    }
}
