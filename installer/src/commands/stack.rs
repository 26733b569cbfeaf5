//! `preflight`, `load`, `up`, `down`, `status` and `logs`: the commands that act on an
//! installed stack.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use jim_bundle::layout::BundleManifest;
use jim_install::compose::{ComposeTool, Stack};
use jim_install::configure::{DatabaseMode, EnvFile, database_mode};
use jim_install::exit::Exit;
use jim_install::load::{self, ImageToLoad, LoadOutcome};
use jim_install::preflight::{self, PreflightInput, Verdict};
use jim_install::state::{DEFAULT_PROJECT, InstallDir, default_dir};
use jim_install::{docker, ready};

/// Where the stack lives; shared by every command that acts on an installed stack.
#[derive(clap::Args, Debug, Clone)]
pub struct TargetArgs {
    /// The install folder (default `/opt/jim` as root, else `./jim`).
    #[arg(long, env = "JIM_INSTALL_DIR")]
    pub dir: Option<PathBuf>,
    /// The compose project name (default: the one recorded at install, else `jim`).
    #[arg(long, env = "JIM_COMPOSE_PROJECT")]
    pub project: Option<String>,
}

impl TargetArgs {
    pub fn install_dir(&self) -> InstallDir {
        InstallDir::new(self.dir.clone().unwrap_or_else(default_dir))
    }

    pub fn project(&self, dir: &InstallDir) -> String {
        self.project
            .clone()
            .or_else(|| dir.read_state().ok().flatten().map(|state| state.project))
            .unwrap_or_else(|| DEFAULT_PROJECT.to_string())
    }
}

/// The stack of an install folder, from its `.env`.
pub fn stack(dir: &InstallDir, project: &str) -> Result<(Stack, EnvFile)> {
    let env = EnvFile::read(&dir.env_file()).with_context(|| {
        format!(
            "no configuration at `{}`\nhint: run `jim-install configure --dir {}` first",
            dir.env_file().display(),
            dir.root.display()
        )
    })?;
    let tool = ComposeTool::find()?;
    let stack = Stack {
        tool,
        compose_dir: dir.compose_dir(),
        project: project.to_string(),
        bundled_database: database_mode(&env) == DatabaseMode::Bundled,
    };
    Ok((stack, env))
}

/// The published web port from `.env` (5200 by default).
pub fn web_port(env: &EnvFile) -> u16 {
    env.get("JIM_WEB_PORT")
        .and_then(|port| port.trim().parse().ok())
        .unwrap_or(5200)
}

/// Connects to Docker, turning a failure into the documented exit code.
pub async fn connect() -> Result<bollard::Docker, (Exit, anyhow::Error)> {
    docker::connect()
        .await
        .map_err(|error| (Exit::Docker, error.into()))
}

#[derive(clap::Args, Debug)]
pub struct PreflightArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Objects in the largest connected system, for the memory check.
    #[arg(long, default_value_t = 10_000)]
    pub objects: u64,
    /// The extracted bundle whose images will be loaded (for the disk check).
    #[arg(long)]
    pub bundle: Option<PathBuf>,
    /// The web port to check (default: JIM_WEB_PORT from .env, else 5200).
    #[arg(long)]
    pub web_port: Option<u16>,
    /// Print the checks as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs the preflight checks and prints them; returns whether none failed.
pub async fn preflight_checks(input: &PreflightInput, json: bool) -> bool {
    let docker = docker::connect().await.ok();
    let checks = preflight::run(docker.as_ref(), input).await;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&checks).unwrap_or_default()
        );
    } else {
        for check in &checks {
            let verdict = match check.verdict {
                Verdict::Pass => "PASS",
                Verdict::Warn => "WARN",
                Verdict::Fail => "FAIL",
            };
            eprintln!("{verdict}  {:<15} {}", check.name, check.detail);
            if let Some(hint) = &check.hint {
                eprintln!("      {:<15} hint: {hint}", "");
            }
        }
    }
    checks.iter().all(|check| check.verdict != Verdict::Fail)
}

pub async fn preflight_command(args: PreflightArgs) -> Result<Exit> {
    let dir = args.target.install_dir();
    let env = EnvFile::read(&dir.env_file()).ok();
    let web_port = args
        .web_port
        .or_else(|| env.as_ref().map(web_port))
        .unwrap_or(5200);
    let image_bytes = match &args.bundle {
        Some(bundle) => BundleManifest::read(bundle)?
            .images
            .iter()
            .map(|image| image.size)
            .sum(),
        None => 0,
    };
    let project = args.target.project(&dir);
    let held = port_held_by_stack(&project).await;
    let input = PreflightInput {
        objects: args.objects,
        image_bytes,
        web_port,
        port_held_by_jim: held,
    };
    Ok(if preflight_checks(&input, args.json).await {
        Exit::Success
    } else {
        Exit::Preflight
    })
}

/// True when the project's web container is running (so it holds the web port itself).
pub async fn port_held_by_stack(project: &str) -> bool {
    let Ok(docker) = docker::connect().await else {
        return false;
    };
    ready::containers(&docker, project)
        .await
        .map(|list| {
            list.iter()
                .any(|c| c.service == "jim.web" && c.state == "running")
        })
        .unwrap_or(false)
}

#[derive(clap::Args, Debug)]
pub struct LoadArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// An extracted, verified bundle folder (default: the installed release).
    pub bundle: Option<PathBuf>,
}

/// Loads every image of the bundle at `bundle_root`, with a progress bar per image.
pub async fn load_images(docker: &bollard::Docker, bundle_root: &std::path::Path) -> Result<()> {
    let manifest = BundleManifest::read(bundle_root)?;
    for image in &manifest.images {
        let file = bundle_root.join(&image.file);
        let bar = progress_bar(load::file_size(&file), &image.reference);
        let reporter = bar.clone();
        let outcome = load::load_image(
            docker,
            &ImageToLoad {
                file: file.clone(),
                reference: image.reference.clone(),
                image_id: Some(image.image_id.clone()),
            },
            move |sent| reporter.set_position(sent),
        )
        .await?;
        bar.finish_and_clear();
        match outcome {
            LoadOutcome::Loaded => eprintln!("loaded   {}", image.reference),
            LoadOutcome::AlreadyPresent => {
                eprintln!("present  {} (same ID; skipped)", image.reference)
            }
        }
    }
    Ok(())
}

/// After loading: every image the compose files name must exist in the engine.
pub async fn check_compose_images(docker: &bollard::Docker, stack: &Stack) -> Result<Vec<String>> {
    let mut missing = Vec::new();
    for image in stack.images()? {
        if docker::image_id(docker, &image).await?.is_none() {
            missing.push(image);
        }
    }
    Ok(missing)
}

pub async fn load_command(args: LoadArgs) -> Result<Exit> {
    let dir = args.target.install_dir();
    let bundle = match args.bundle {
        Some(bundle) => bundle,
        None => dir.release_dir(&dir.require_state()?),
    };
    let docker = match connect().await {
        Ok(docker) => docker,
        Err((exit, error)) => return report(exit, error),
    };
    load_images(&docker, &bundle).await?;
    if dir.env_file().exists() {
        let (stack, _) = stack(&dir, &args.target.project(&dir))?;
        let missing = check_compose_images(&docker, &stack).await?;
        if !missing.is_empty() {
            eprintln!(
                "error: the compose files name images the engine does not have: {}\n\
                 hint: check DOCKER_REGISTRY, JIM_VERSION and JIM_DB_IMAGE in `{}`",
                missing.join(", "),
                dir.env_file().display()
            );
            return Ok(Exit::Failure);
        }
    }
    Ok(Exit::Success)
}

fn progress_bar(length: u64, label: &str) -> ProgressBar {
    if std::env::var_os("JIM_NO_PROGRESS").is_some() || std::env::var_os("NO_COLOR").is_some() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(length);
    if let Ok(style) =
        ProgressStyle::with_template("{msg:30} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(label.to_string());
    bar
}

/// Prints an error and returns its exit code.
pub fn report(exit: Exit, error: anyhow::Error) -> Result<Exit> {
    eprintln!("error: {error:#}");
    Ok(exit)
}

#[derive(clap::Args, Debug)]
pub struct UpArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// How long to wait for JIM to be ready, in seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
}

/// Brings the stack up and waits for readiness; prints the address or the unhealthy containers.
pub async fn up_and_wait(
    docker: &bollard::Docker,
    stack: &Stack,
    port: u16,
    timeout: u64,
) -> Result<Exit> {
    eprintln!(
        "starting JIM: {}",
        stack.describe(&["up", "--detach", "--pull", "never"])
    );
    // The figure reported counts from before `up`, which itself waits for the worker's health.
    let started = std::time::Instant::now();
    stack.up()?;
    eprintln!("waiting up to {timeout} s for JIM to be ready");
    let timeout_duration = Duration::from_secs(timeout);
    match ready::wait_until_healthy(docker, &stack.project, port, timeout_duration).await {
        Ok(_) => {
            eprintln!(
                "JIM is ready and every container healthy after {} s",
                started.elapsed().as_secs()
            );
            println!("http://localhost:{port}/");
            Ok(Exit::Success)
        }
        Err(last) => {
            eprintln!(
                "error: JIM was not ready within {timeout} s (last answer: {last})\n\
                 containers that are not healthy:{}",
                ready::not_ready_report(docker, &stack.project).await
            );
            eprintln!(
                "hint: `jim-install logs` shows more; fix the cause and run `jim-install up`"
            );
            Ok(Exit::NotReady)
        }
    }
}

pub async fn up_command(args: UpArgs) -> Result<Exit> {
    let dir = args.target.install_dir();
    let (stack, env) = stack(&dir, &args.target.project(&dir))?;
    let docker = match connect().await {
        Ok(docker) => docker,
        Err((exit, error)) => return report(exit, error),
    };
    up_and_wait(&docker, &stack, web_port(&env), args.timeout).await
}

pub async fn down_command(args: TargetArgs) -> Result<Exit> {
    let dir = args.install_dir();
    let (stack, _) = stack(&dir, &args.project(&dir))?;
    stack.down()?;
    eprintln!("JIM is stopped; its volumes (database, keys, logs) are kept");
    Ok(Exit::Success)
}

#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Print the status as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub async fn status_command(args: StatusArgs) -> Result<Exit> {
    let dir = args.target.install_dir();
    let project = args.target.project(&dir);
    let env = EnvFile::read(&dir.env_file()).ok();
    let port = env.as_ref().map(web_port).unwrap_or(5200);
    let docker = match connect().await {
        Ok(docker) => docker,
        Err((exit, error)) => return report(exit, error),
    };
    let containers = ready::containers(&docker, &project).await?;
    let ready_code = ready::check_ready(port).await.ok();
    let version = dir.read_state().ok().flatten().map(|state| state.version);
    let healthy = !containers.is_empty()
        && containers.iter().all(ready::ContainerStatus::is_good)
        && ready_code == Some(200);
    if args.json {
        let status = serde_json::json!({
            "version": version,
            "project": project,
            "url": format!("http://localhost:{port}/"),
            "ready": ready_code == Some(200),
            "containers": containers,
        });
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        println!(
            "JIM {} (project `{project}`)",
            version.as_deref().unwrap_or("(not recorded)")
        );
        for container in &containers {
            println!(
                "  {:<15} {:<10} {}",
                container.service, container.state, container.health
            );
        }
        match ready_code {
            Some(200) => println!("ready: http://localhost:{port}/"),
            Some(code) => println!("not ready: {} answered {code}", ready::READY_PATH),
            None => println!("not ready: nothing answers on port {port}"),
        }
    }
    Ok(if healthy {
        Exit::Success
    } else {
        Exit::NotReady
    })
}

#[derive(clap::Args, Debug)]
pub struct LogsArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// One service, such as `jim.worker` (default: all).
    pub service: Option<String>,
    /// How many lines from the end.
    #[arg(long, default_value_t = 100)]
    pub tail: u32,
}

pub async fn logs_command(args: LogsArgs) -> Result<Exit> {
    let dir = args.target.install_dir();
    let (stack, _) = stack(&dir, &args.target.project(&dir))?;
    print!("{}", stack.logs(args.service.as_deref(), args.tail)?);
    Ok(Exit::Success)
}
