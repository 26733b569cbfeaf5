//! `jim-install backup`: the database and the key volume as one verified archive; and the
//! pieces every command that touches the data shares (the installed stack, the helper's
//! names, stopping the services, bringing the stack up with a bound on the wait).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bollard::Docker;
use jim_install::backup::BACKUPS_FOLDER;
use jim_install::backup::engine::{self, BackupSite, DatabaseTarget};
use jim_install::compose::Stack;
use jim_install::configure::EnvFile;
use jim_install::exit::Exit;
use jim_install::ready;
use jim_install::state::{InstallDir, InstallState};

use super::stack::{self, TargetArgs};

/// The JIM services; the database is not among them.
pub const JIM_SERVICES: [&str; 3] = ["jim.web", "jim.worker", "jim.scheduler"];

#[derive(clap::Args, Debug)]
pub struct BackupArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The folder for the archive (default: `backups/` in the install folder).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// An installed stack, ready for data commands.
pub struct Installed {
    pub dir: InstallDir,
    pub state: InstallState,
    pub stack: Stack,
    pub env: EnvFile,
    pub docker: Docker,
}

impl Installed {
    /// Reads the install folder and connects to Docker; `Err(exit)` after printing why not.
    pub async fn open(target: &TargetArgs) -> Result<std::result::Result<Self, Exit>> {
        let dir = target.install_dir();
        let state = dir.require_state()?;
        let project = target.project(&dir);
        let (stack, env) = stack::stack(&dir, &project)?;
        let docker = match stack::connect().await {
            Ok(docker) => docker,
            Err((exit, error)) => {
                eprintln!("error: {error:#}");
                return Ok(Err(exit));
            }
        };
        Ok(Ok(Self {
            dir,
            state,
            stack,
            env,
            docker,
        }))
    }

    /// Reads `.env` again and rebuilds the stack (after `.env` changed).
    pub fn reload(&mut self) -> Result<()> {
        let (stack, env) = stack::stack(&self.dir, &self.stack.project)?;
        self.stack = stack;
        self.env = env;
        self.state = self.dir.require_state()?;
        Ok(())
    }

    pub fn site(&self) -> BackupSite {
        BackupSite {
            project: self.stack.project.clone(),
            database: DatabaseTarget::from_env(&self.env),
            database_image: self
                .env
                .get("JIM_DB_IMAGE")
                .unwrap_or("postgres:18")
                .to_string(),
            version: self.state.version.clone(),
        }
    }

    /// The worker image the `.env` names.
    pub fn worker_image(&self) -> String {
        format!(
            "{}jim-worker:{}",
            self.env.get("DOCKER_REGISTRY").unwrap_or(""),
            self.env.get("JIM_VERSION").unwrap_or(&self.state.version)
        )
    }

    pub fn backups_dir(&self) -> PathBuf {
        self.dir.root.join(BACKUPS_FOLDER)
    }

    /// Starts the bundled database alone (a no-op for a database of the site's own).
    pub fn start_database(&self) -> Result<()> {
        if self.stack.bundled_database {
            self.stack
                .run(&[
                    "up",
                    "--detach",
                    "--pull",
                    "never",
                    "--no-deps",
                    "jim.database",
                ])
                .context("cannot start the bundled database")?;
        }
        Ok(())
    }

    /// Stops and removes the JIM service containers; volumes and the database stay.
    pub fn remove_services(&self) -> Result<()> {
        let mut arguments = vec!["rm", "--stop", "--force"];
        arguments.extend(JIM_SERVICES);
        self.stack
            .run(&arguments)
            .context("cannot stop the JIM services")?;
        Ok(())
    }

    /// `up`, bounded: gives up when a JIM container keeps restarting or `timeout` passes, then
    /// waits until ready and every container healthy. `Err` says what went wrong.
    pub async fn bring_up(&self, timeout: Duration) -> std::result::Result<(), String> {
        let started = Instant::now();
        let log = tempfile::tempfile().map_err(|error| error.to_string())?;
        let mut child = self
            .stack
            .command(&["up", "--detach", "--pull", "never", "--remove-orphans"])
            .stdout(Stdio::null())
            .stderr(log.try_clone().map_err(|error| error.to_string())?)
            .spawn()
            .map_err(|error| format!("cannot run compose: {error}"))?;
        loop {
            if let Some(status) = child.try_wait().map_err(|error| error.to_string())? {
                if !status.success() {
                    let text = read_log(log);
                    return Err(format!("`docker compose up` failed: {}", text.trim()));
                }
                break;
            }
            if let Some(service) = crash_looping(&self.docker, &self.stack.project).await {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{service} keeps restarting:{}",
                    ready::not_ready_report(&self.docker, &self.stack.project).await
                ));
            }
            if started.elapsed() >= timeout {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "not up within {} s:{}",
                    timeout.as_secs(),
                    ready::not_ready_report(&self.docker, &self.stack.project).await
                ));
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        let left = timeout.saturating_sub(started.elapsed());
        let port = stack::web_port(&self.env);
        ready::wait_until_healthy(&self.docker, &self.stack.project, port, left)
            .await
            .map(|_| ())
            .map_err(|last| {
                format!(
                    "not ready within {} s (last answer: {last})",
                    timeout.as_secs()
                )
            })
    }
}

fn read_log(mut file: std::fs::File) -> String {
    use std::io::{Read, Seek};
    let mut text = String::new();
    let _ = file.rewind();
    let _ = file.read_to_string(&mut text);
    text
}

/// A JIM service container of the project that has restarted more than twice.
async fn crash_looping(docker: &Docker, project: &str) -> Option<String> {
    let list = ready::containers(docker, project).await.ok()?;
    for container in list {
        if !JIM_SERVICES.contains(&container.service.as_str()) {
            continue;
        }
        let inspected = docker.inspect_container(&container.name, None).await.ok()?;
        if inspected.restart_count.unwrap_or(0) > 2 {
            return Some(container.service);
        }
    }
    None
}

pub async fn run(args: BackupArgs) -> Result<Exit> {
    let installed = match Installed::open(&args.target).await? {
        Ok(installed) => installed,
        Err(exit) => return Ok(exit),
    };
    installed.start_database()?;
    let folder = args.out.unwrap_or_else(|| installed.backups_dir());
    let folder = std::path::absolute(&folder).unwrap_or(folder);
    eprintln!(
        "backing up the database and the key volume of JIM {}",
        installed.state.version
    );
    let started = Instant::now();
    let (path, manifest) = engine::take_backup(&installed.docker, &installed.site(), &folder)
        .await
        .context("the backup failed; nothing was written")?;
    let total: u64 = manifest.parts.iter().map(|part| part.bytes).sum();
    eprintln!(
        "backed up JIM {} (schema {}) in {:.1} s: {} bytes",
        manifest.jim_version,
        manifest
            .schema_version
            .map_or("none".to_string(), |version| version.to_string()),
        started.elapsed().as_secs_f64(),
        total
    );
    println!("{}", path.display());
    Ok(Exit::Success)
}
