//! API keys, the OpenAPI document, the API reference and the web `healthcheck`, against the
//! real binary on a real PostgreSQL.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use jim_testkit::{ServiceProcess, TestDatabase, binary, http_client, start_web, wait_for_status};
use serde_json::{Value, json};

const INFRASTRUCTURE_KEY: &str =
    "jim_ak_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

async fn started() -> (TestDatabase, ServiceProcess, String) {
    let database = TestDatabase::create().await;
    database.migrate_and_open().await;
    let mut env = database.service_env();
    env.push((
        "JIM_INFRASTRUCTURE_API_KEY".into(),
        INFRASTRUCTURE_KEY.into(),
    ));
    let (web, base) = start_web(&env).await;
    wait_for_status(
        &web,
        &base,
        "/api/v1/health/ready",
        200,
        Duration::from_secs(30),
    )
    .await;
    (database, web, base)
}

async fn get(base: &str, path: &str, key: Option<&str>) -> (u16, Value) {
    let mut request = http_client().get(format!("{base}{path}"));
    if let Some(key) = key {
        request = request.header("X-API-Key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn api_keys_are_checked_on_every_protected_route() {
    let (_database, _web, base) = started().await;

    let (status, body) = get(&base, "/api/v1/system/health", None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("missing_api_key"))
    );
    let (status, body) = get(&base, "/api/v1/system/health", Some("jim_ak_short")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("malformed_api_key"))
    );
    let wrong = format!("jim_ak_{}", "f".repeat(64));
    let (status, body) = get(&base, "/api/v1/system/health", Some(&wrong)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_api_key"))
    );
    assert!(body["message"].as_str().unwrap().len() > 10);

    // The infrastructure key is an administrator: it can create keys.
    let (status, body) = get(&base, "/api/v1/system/health", Some(INFRASTRUCTURE_KEY)).await;
    assert_eq!(status, 200, "{body}");
    let created: Value = http_client()
        .post(format!("{base}/api/v1/api-keys"))
        .header("X-API-Key", INFRASTRUCTURE_KEY)
        .json(&json!({"name": "reporting", "role": "Reader"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reader_key = created["key"].as_str().unwrap().to_string();
    assert!(
        reader_key.starts_with("jim_ak_") && reader_key.len() == 71,
        "{created}"
    );

    // The new key works, is listed by prefix only, and is stored only as a hash.
    let (status, keys) = get(&base, "/api/v1/api-keys", Some(&reader_key)).await;
    assert_eq!(status, 200);
    let listed = keys.to_string();
    assert!(listed.contains(&reader_key[..15]), "{listed}");
    assert!(!listed.contains(&reader_key), "the list shows a whole key");
    let pool = _database.pool().await;
    let stored: Vec<String> = sqlx::query_scalar("SELECT key_hash FROM api_keys")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].len(), 64);
    assert_ne!(stored[0], reader_key);

    // A reader cannot create keys.
    let response = http_client()
        .post(format!("{base}/api/v1/api-keys"))
        .header("X-API-Key", &reader_key)
        .json(&json!({"name": "escalate", "role": "Administrator"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);

    // Revoked, the key no longer opens anything.
    let id = created["id"].as_str().unwrap();
    let response = http_client()
        .delete(format!("{base}/api/v1/api-keys/{id}"))
        .header("X-API-Key", INFRASTRUCTURE_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    let (status, body) = get(&base, "/api/v1/api-keys", Some(&reader_key)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_api_key"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_lists_every_route_the_router_serves() {
    let (_database, _web, base) = started().await;
    let (status, document) = get(&base, "/api/openapi/v1.json", None).await;
    assert_eq!(status, 200);
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));

    let mut documented = BTreeSet::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let expected: BTreeSet<String> = [
        "GET /api/v1/health",
        "GET /api/v1/health/live",
        "GET /api/v1/health/ready",
        "GET /api/v1/health/version",
        "GET /api/v1/system/health",
        "GET /api/v1/tasks",
        "GET /api/v1/tasks/{id}",
        "POST /api/v1/tasks/maintenance",
        "GET /api/v1/api-keys",
        "POST /api/v1/api-keys",
        "DELETE /api/v1/api-keys/{id}",
        "GET /api/v1/synchronisation/connected-systems",
        "POST /api/v1/synchronisation/connected-systems",
        "GET /api/v1/synchronisation/connected-systems/{id}",
        "PUT /api/v1/synchronisation/connected-systems/{id}",
        "DELETE /api/v1/synchronisation/connected-systems/{id}",
        "POST /api/v1/synchronisation/connected-systems/{id}/import-schema",
        "GET /api/v1/synchronisation/connected-systems/{id}/run-profiles",
        "POST /api/v1/synchronisation/connected-systems/{id}/run-profiles",
        "GET /api/v1/synchronisation/connected-systems/{id}/run-profiles/{runProfileId}",
        "DELETE /api/v1/synchronisation/connected-systems/{id}/run-profiles/{runProfileId}",
        "POST /api/v1/synchronisation/connected-systems/{id}/run-profiles/{runProfileId}/execute",
        "GET /api/v1/synchronisation/connected-systems/{id}/connector-space",
        "GET /api/v1/synchronisation/connected-systems/{id}/connector-space/{objectId}",
        "GET /api/v1/activities",
        "GET /api/v1/activities/{id}",
        "GET /api/v1/activities/{id}/items",
        "GET /api/v1/activities/{id}/progress",
        "GET /api/v1/schedules",
        "POST /api/v1/schedules",
        "GET /api/v1/schedules/{id}",
        "DELETE /api/v1/schedules/{id}",
        "POST /api/v1/schedules/{id}/enable",
        "POST /api/v1/schedules/{id}/disable",
        "POST /api/v1/schedules/{id}/run",
        "GET /api/v1/schedules/{id}/executions",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(documented, expected);

    // Each documented operation is really served: the router never answers `unknown_route`
    // (its fallback) or 405 for it.
    let client = http_client();
    for operation in &documented {
        let (method, path) = operation.split_once(' ').unwrap();
        let path = ["{id}", "{runProfileId}", "{objectId}"]
            .into_iter()
            .fold(path.to_string(), |path, parameter| {
                path.replace(parameter, "00000000-0000-0000-0000-000000000000")
            });
        let request = client
            .request(method.parse().unwrap(), format!("{base}{path}"))
            .header("X-API-Key", INFRASTRUCTURE_KEY)
            .json(&json!({}));
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_ne!(status, 405, "{operation}");
        assert_ne!(
            body["code"], "unknown_route",
            "{operation} is documented but not served"
        );
    }
    let (status, body) = get(&base, "/api/v1/not-a-route", Some(INFRASTRUCTURE_KEY)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("unknown_route"))
    );

    // Protected operations say so in the document, and the paged answers name their envelope.
    assert!(document["components"]["securitySchemes"]["api_key"].is_object());
    let list = &document["paths"]["/api/v1/activities"]["get"];
    assert_eq!(list["security"][0]["api_key"], json!([]));
    let parameters: Vec<&str> = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|parameter| parameter["name"].as_str().unwrap())
        .collect();
    assert!(
        parameters.contains(&"page") && parameters.contains(&"pageSize"),
        "{parameters:?}"
    );
    let schemas = document["components"]["schemas"].to_string();
    for field in ["totalCount", "totalPages", "pageSize"] {
        assert!(schemas.contains(field), "no paging envelope in the schemas");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_reference_works_without_a_network() {
    let (_database, _web, base) = started().await;
    let client = http_client();
    let page = client
        .get(format!("{base}/api/swagger/"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    // Every asset the page loads is served by the binary itself.
    for asset in [
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-initializer.js",
    ] {
        assert!(html.contains(asset), "the page does not load {asset}");
        let response = client
            .get(format!("{base}/api/swagger/{asset}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{asset}");
    }
    assert!(
        !html.contains("https://") && !html.contains("http://"),
        "external reference:\n{html}"
    );
    let initializer = client
        .get(format!("{base}/api/swagger/swagger-initializer.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        initializer.contains("/api/openapi/v1.json"),
        "{initializer}"
    );
    assert!(
        initializer.contains("\"validatorUrl\": \"none\""),
        "{initializer}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn web_healthcheck_follows_readiness() {
    let database = TestDatabase::create().await;
    let (web, base) = start_web(&database.service_env()).await;
    let listen = base.trim_start_matches("http://").to_string();
    let healthcheck = || {
        Command::new(binary("jim-web"))
            .arg("healthcheck")
            .env_clear()
            .env("JIM_LISTEN_ADDRESS", &listen)
            .output()
            .unwrap()
    };
    let output = healthcheck();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("answered 503"),
        "{output:?}"
    );

    database.migrate_and_open().await;
    wait_for_status(
        &web,
        &base,
        "/api/v1/health/ready",
        200,
        Duration::from_secs(20),
    )
    .await;
    let output = healthcheck();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_web_gracefully() {
    let database = TestDatabase::create().await;
    let (mut web, _) = start_web(&database.service_env()).await;
    let status = web
        .terminate(Duration::from_secs(10))
        .expect("web did not stop on SIGTERM");
    assert!(status.success(), "{}", web.output());
    assert!(
        web.output().contains("SIGTERM received"),
        "{}",
        web.output()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn health_answers_match_upstream() {
    let database = TestDatabase::create().await;
    let (web, base) = start_web(&database.service_env()).await;
    wait_for_status(&web, &base, "/api/v1/health", 200, Duration::from_secs(20)).await;
    let (_, body) = get(&base, "/api/v1/health", None).await;
    assert_eq!(body["status"], "healthy");
    assert!(body["timestamp"].is_string());
    let (_, body) = get(&base, "/api/v1/health/live", None).await;
    assert_eq!(body["status"], "alive");
    let (_, body) = get(&base, "/api/v1/health/version", None).await;
    assert_eq!(
        body,
        json!({"product": "JIM", "version": env!("CARGO_PKG_VERSION")})
    );
}
