//! Preflight: is this host able to run JIM? Each check says PASS, WARN or FAIL with a hint.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use bollard::Docker;
use serde::Serialize;

use crate::compose::ComposeTool;
use crate::docker::{self, MINIMUM_API_VERSION};

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
}

/// One check and its result.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub verdict: Verdict,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Check {
    fn new(name: &'static str, verdict: Verdict, detail: String, hint: Option<&str>) -> Self {
        Self {
            name,
            verdict,
            detail,
            hint: hint.map(String::from),
        }
    }
}

/// What the checks are measured against.
#[derive(Debug, Clone)]
pub struct PreflightInput {
    /// Objects in the largest connected system, for the memory table.
    pub objects: u64,
    /// Bytes of the image tars to load (their unpacked size is about the same).
    pub image_bytes: u64,
    /// The web port to publish.
    pub web_port: u16,
    /// Skip the port check (a rerun on a host where JIM already holds the port).
    pub port_held_by_jim: bool,
}

/// The deployment guide's host memory table: (minimum, recommended) GiB for `objects`.
pub fn memory_needed_gib(objects: u64) -> (u64, u64) {
    match objects {
        0..=10_000 => (4, 8),
        10_001..=50_000 => (8, 16),
        50_001..=100_000 => (20, 24),
        _ => (24, 32),
    }
}

/// Runs every check. `docker` is `None` when the engine could not be reached.
pub async fn run(docker: Option<&Docker>, input: &PreflightInput) -> Vec<Check> {
    let mut checks = Vec::new();

    let Some(docker) = docker else {
        checks.push(Check::new(
            "docker engine",
            Verdict::Fail,
            format!("not reachable at `{}`", docker::endpoint()),
            Some("start Docker (`sudo systemctl start docker`) or set DOCKER_HOST"),
        ));
        return checks;
    };
    match docker::versions(docker).await {
        Ok((version, api)) => {
            let good =
                docker::parse_api_version(&api).is_some_and(|api| api >= MINIMUM_API_VERSION);
            checks.push(Check::new(
                "docker engine",
                if good { Verdict::Pass } else { Verdict::Fail },
                format!("Engine {version}, API {api}"),
                (!good).then_some("Docker Engine 20.10 (API 1.41) or newer is needed"),
            ));
        }
        Err(error) => checks.push(Check::new(
            "docker engine",
            Verdict::Fail,
            error.to_string(),
            Some("check the engine's log (`journalctl -u docker`)"),
        )),
    }

    checks.push(match ComposeTool::find() {
        Ok(tool) => Check::new(
            "docker compose",
            Verdict::Pass,
            format!("{} {}", tool.program.join(" "), tool.version),
            None,
        ),
        Err(error) => Check::new("docker compose", Verdict::Fail, error.to_string(), None),
    });

    let info = docker.info().await.ok();
    let architecture = info
        .as_ref()
        .and_then(|info| info.architecture.clone())
        .unwrap_or_default();
    let amd64 = matches!(architecture.as_str(), "x86_64" | "amd64");
    checks.push(Check::new(
        "architecture",
        if amd64 { Verdict::Pass } else { Verdict::Fail },
        format!("engine reports `{architecture}`; the images are linux/amd64"),
        (!amd64).then_some("run JIM on an x86_64 host"),
    ));

    let memory = info
        .as_ref()
        .and_then(|info| info.mem_total)
        .unwrap_or(0)
        .max(0) as u64;
    let (minimum, recommended) = memory_needed_gib(input.objects);
    let gib = memory as f64 / f64::from(1u32 << 30);
    let verdict = if gib + 0.5 < minimum as f64 {
        Verdict::Fail
    } else if gib + 0.5 < recommended as f64 {
        Verdict::Warn
    } else {
        Verdict::Pass
    };
    checks.push(Check::new(
        "memory",
        verdict,
        format!(
            "{gib:.1} GiB; for {} objects the guide asks {minimum} GiB, recommends {recommended} GiB",
            input.objects
        ),
        (verdict != Verdict::Pass).then_some("add memory, or size for fewer objects with --objects"),
    ));

    let root = info
        .as_ref()
        .and_then(|info| info.docker_root_dir.clone())
        .unwrap_or_default();
    checks.push(disk_check(&root, input.image_bytes));

    checks.push(port_check(input.web_port, input.port_held_by_jim));
    checks
}

fn disk_check(root: &str, needed: u64) -> Check {
    let available = if root.is_empty() {
        None
    } else {
        free_bytes(Path::new(root))
    };
    match available {
        None => Check::new(
            "disk",
            Verdict::Warn,
            format!("cannot tell the free space of Docker's folder `{root}`"),
            Some("make sure it has room for the images"),
        ),
        Some(free) => {
            // Images and the layers they unpack to need about twice the tars, plus room to grow.
            let wanted = needed.saturating_mul(2) + (2 << 30);
            let verdict = if free < needed {
                Verdict::Fail
            } else if free < wanted {
                Verdict::Warn
            } else {
                Verdict::Pass
            };
            Check::new(
                "disk",
                verdict,
                format!(
                    "{:.1} GiB free in `{root}`; the images need about {:.1} GiB",
                    free as f64 / f64::from(1u32 << 30),
                    needed as f64 / f64::from(1u32 << 30)
                ),
                (verdict != Verdict::Pass).then_some("free space where Docker keeps its data"),
            )
        }
    }
}

/// Free bytes of the file system holding `path`, from `df` (no unsafe system calls needed).
fn free_bytes(path: &Path) -> Option<u64> {
    let output = Command::new("df")
        .args(["-P", "-B1"])
        .arg(path)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines().nth(1)?.split_whitespace().nth(3)?.parse().ok()
}

fn port_check(port: u16, held_by_jim: bool) -> Check {
    if held_by_jim {
        return Check::new(
            "web port",
            Verdict::Pass,
            format!("{port} is JIM's own"),
            None,
        );
    }
    match TcpListener::bind(("0.0.0.0", port)) {
        Ok(_) => Check::new("web port", Verdict::Pass, format!("{port} is free"), None),
        Err(error) => Check::new(
            "web port",
            Verdict::Fail,
            format!("{port} is in use: {error}"),
            Some("choose another port (JIM_WEB_PORT, or the wizard's web port question)"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_table_follows_the_guide() {
        assert_eq!(memory_needed_gib(5_000), (4, 8));
        assert_eq!(memory_needed_gib(50_000), (8, 16));
        assert_eq!(memory_needed_gib(100_000), (20, 24));
        assert_eq!(memory_needed_gib(250_000), (24, 32));
    }

    #[test]
    fn a_port_in_use_fails() {
        let listener = TcpListener::bind("0.0.0.0:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(port_check(port, false).verdict, Verdict::Fail);
        assert_eq!(port_check(port, true).verdict, Verdict::Pass);
    }
}
