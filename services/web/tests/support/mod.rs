//! What the web tests share: a migrated database, a running jim-web with a connector files
//! folder, an administrator (the infrastructure key) and a reader key, and a JSON client.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use jim_testkit::tempfile_folder::Folder;
use jim_testkit::{ServiceProcess, TestDatabase, http_client, start_web, wait_for_status};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::PgPool;

/// The administrator key the tests give jim-web through `JIM_INFRASTRUCTURE_API_KEY`.
pub const ADMIN_KEY: &str =
    "jim_ak_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A running jim-web on its own database.
pub struct Web {
    pub base: String,
    pub pool: PgPool,
    pub reader_key: String,
    pub connector_files: PathBuf,
    pub process: ServiceProcess,
    // Dropped last: the database outlives the process that uses it.
    _files: Folder,
    pub database: TestDatabase,
}

/// One answer: status and JSON body (Null when the body is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// The error code of an error answer.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// The error message of an error answer.
    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or("")
    }
}

impl Web {
    /// Starts jim-web with `extra_env` on a fresh migrated database.
    pub async fn start(extra_env: &[(String, String)]) -> Self {
        let database = TestDatabase::create().await;
        let pool = database.migrate_and_open().await;
        let files = Folder::new("connector-files");
        let mut env = database.service_env();
        env.push(("JIM_INFRASTRUCTURE_API_KEY".into(), ADMIN_KEY.into()));
        env.push((
            "JIM_CONNECTOR_FILES_PATH".into(),
            files.path().display().to_string(),
        ));
        env.extend(extra_env.iter().cloned());
        let (process, base) = start_web(&env).await;
        wait_for_status(
            &process,
            &base,
            "/api/v1/health/ready",
            200,
            Duration::from_secs(30),
        )
        .await;
        let mut web = Self {
            base,
            pool,
            reader_key: String::new(),
            connector_files: files.path().to_path_buf(),
            process,
            _files: files,
            database,
        };
        let created = web
            .call(
                Method::POST,
                "/api/v1/api-keys",
                Some(ADMIN_KEY),
                Some(json!({"name": "reader", "role": "Reader"})),
            )
            .await;
        assert_eq!(created.status, 201, "{created:?}");
        web.reader_key = created.body["key"].as_str().unwrap().to_string();
        web
    }

    /// Sends a request with an optional key and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = http_client().request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.header("X-API-Key", key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("jim-web answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    /// Sends a request with a raw body and content type, for malformed input.
    pub async fn call_raw(&self, method: Method, path: &str, body: &str) -> Answer {
        let response = http_client()
            .request(method, format!("{}{path}", self.base))
            .header("X-API-Key", ADMIN_KEY)
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("jim-web answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, Some(ADMIN_KEY), None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(ADMIN_KEY), Some(body))
            .await
    }

    /// Writes a file into the connector files folder.
    pub fn write_file(&self, relative: &str, contents: &str) -> PathBuf {
        let path = self.connector_files.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// Creates a connected system over the API and returns its id.
    pub async fn create_system(&self, name: &str, file: &str) -> String {
        let created = self
            .post(
                "/api/v1/synchronisation/connected-systems",
                json!({"name": name, "filePath": file, "keyAttribute": "employeeId",
                       "multiValuedAttributes": ["groups"], "referenceAttributes": ["manager"]}),
            )
            .await;
        assert_eq!(created.status, 201, "{created:?}");
        created.body["id"].as_str().unwrap().to_string()
    }

    /// Creates a run profile over the API and returns its id.
    pub async fn create_run_profile(&self, system: &str, name: &str, run_type: &str) -> String {
        let created = self
            .post(
                &format!("/api/v1/synchronisation/connected-systems/{system}/run-profiles"),
                json!({"name": name, "runType": run_type}),
            )
            .await;
        assert_eq!(created.status, 201, "{created:?}");
        created.body["id"].as_str().unwrap().to_string()
    }
}

/// Asserts that an answer is the error `status` with `code`, and that its message names
/// `field`.
#[track_caller]
pub fn assert_error(answer: &Answer, status: u16, code: &str, field: &str) {
    assert_eq!(answer.status, status, "{answer:?}");
    assert_eq!(answer.code(), code, "{answer:?}");
    assert!(
        answer.message().contains(field),
        "the message does not name `{field}`: {answer:?}"
    );
}

/// A uuid that names nothing.
pub const UNKNOWN_ID: &str = "6f1b7a52-0000-4000-8000-000000000000";
