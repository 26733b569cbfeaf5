//! Waiting until JIM is ready, and what to show when it is not: each container's state and
//! health from the Engine API, and the last log lines of the unhealthy ones.

use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::query_parameters::{ListContainersOptionsBuilder, LogsOptionsBuilder};
use futures_util::StreamExt;
use serde::Serialize;

/// The path every check asks.
pub const READY_PATH: &str = "/api/v1/health/ready";

/// One container of the stack.
#[derive(Debug, Clone, Serialize)]
pub struct ContainerStatus {
    pub service: String,
    pub name: String,
    /// `running`, `exited`, `restarting`, ...
    pub state: String,
    /// `healthy`, `unhealthy`, `starting`, or empty without a health check.
    pub health: String,
}

impl ContainerStatus {
    /// Running, and healthy where a health check exists.
    pub fn is_good(&self) -> bool {
        self.state == "running" && (self.health.is_empty() || self.health == "healthy")
    }
}

/// The containers of a compose project, by its label.
pub async fn containers(
    docker: &Docker,
    project: &str,
) -> Result<Vec<ContainerStatus>, bollard::errors::Error> {
    let filters = std::collections::HashMap::from([(
        "label".to_string(),
        vec![format!("com.docker.compose.project={project}")],
    )]);
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    let mut list = Vec::new();
    for summary in docker.list_containers(Some(options)).await? {
        let name = summary
            .names
            .and_then(|names| names.into_iter().next())
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string();
        let service = summary
            .labels
            .as_ref()
            .and_then(|labels| labels.get("com.docker.compose.service").cloned())
            .unwrap_or_default();
        let id = summary.id.unwrap_or_default();
        let inspected = docker.inspect_container(&id, None).await?;
        let state = inspected.state.as_ref();
        list.push(ContainerStatus {
            service,
            name,
            state: state
                .and_then(|state| state.status)
                .map(|status| status.to_string())
                .unwrap_or_default(),
            health: state
                .and_then(|state| state.health.as_ref())
                .and_then(|health| health.status)
                .map(|status| status.to_string())
                .filter(|status| status != "none")
                .unwrap_or_default(),
        });
    }
    list.sort_by(|left, right| left.service.cmp(&right.service));
    Ok(list)
}

/// The last `lines` log lines of a container.
pub async fn last_log_lines(docker: &Docker, container: &str, lines: u32) -> String {
    let options = LogsOptionsBuilder::new()
        .stdout(true)
        .stderr(true)
        .tail(&lines.to_string())
        .build();
    let mut stream = docker.logs(container, Some(options));
    let mut text = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        text.push_str(&chunk.to_string());
    }
    text
}

/// The client for readiness checks: loopback only, never through a proxy.
fn ready_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|error| error.to_string())
}

/// Asks `http://127.0.0.1:{port}/api/v1/health/ready` once; Ok(status code).
pub async fn check_ready(port: u16) -> Result<u16, String> {
    ask_ready(&ready_client()?, port).await
}

async fn ask_ready(client: &reqwest::Client, port: u16) -> Result<u16, String> {
    client
        .get(format!("http://127.0.0.1:{port}{READY_PATH}"))
        .send()
        .await
        .map(|response| response.status().as_u16())
        .map_err(|error| error.to_string())
}

/// Polls every 2 s until JIM answers ready and every container of `project` is running and
/// healthy (Docker runs the first health checks some seconds after start), or `timeout`.
pub async fn wait_until_healthy(
    docker: &Docker,
    project: &str,
    port: u16,
    timeout: Duration,
) -> Result<Duration, String> {
    // One client for the whole wait, so its connection is reused between polls.
    let client = ready_client()?;
    let started = Instant::now();
    let mut last = String::from("no answer yet");
    while started.elapsed() < timeout {
        match ask_ready(&client, port).await {
            Ok(200) => match containers(docker, project).await {
                Ok(list) if !list.is_empty() && list.iter().all(ContainerStatus::is_good) => {
                    return Ok(started.elapsed());
                }
                Ok(list) => {
                    let waiting: Vec<String> = list
                        .iter()
                        .filter(|container| !container.is_good())
                        .map(|container| format!("{} is {}", container.service, container.health))
                        .collect();
                    last = format!("ready, but {}", waiting.join(", "));
                }
                Err(error) => last = error.to_string(),
            },
            Ok(code) => last = format!("{READY_PATH} answered {code}"),
            Err(error) => last = error,
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    Err(last)
}

/// The report shown when JIM did not become ready: each container that is not good, with its
/// last 20 log lines.
pub async fn not_ready_report(docker: &Docker, project: &str) -> String {
    let mut report = String::new();
    match containers(docker, project).await {
        Ok(list) => {
            for container in list.iter().filter(|container| !container.is_good()) {
                report.push_str(&format!(
                    "\n{} ({}): {} {}\n",
                    container.service, container.name, container.state, container.health
                ));
                for line in last_log_lines(docker, &container.name, 20).await.lines() {
                    report.push_str(&format!("    {line}\n"));
                }
            }
            if list.is_empty() {
                report.push_str("\nno container of the project exists\n");
            }
        }
        Err(error) => report.push_str(&format!("\ncannot list the containers: {error}\n")),
    }
    report
}
