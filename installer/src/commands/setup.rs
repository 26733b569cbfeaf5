//! `jim-install setup`: the connected path. Finds the release (the latest stable one, or
//! `--version`), downloads its compose files and `.env` template, checks each against the
//! release's `checksums.sha256` before writing any, then runs the same configure, preflight,
//! bring-up and readiness wait as `install`, with the images pulled from `DOCKER_REGISTRY`
//! instead of loaded from a bundle. `--download-only` writes the files and stops, so they can be
//! read before anything runs.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use jim_bundle::layout::{
    self, BundleLayout, RELEASE_CHECKSUMS_ASSET, ReleaseVersion, connected_setup_assets,
};
use jim_checksums::Sha256Digest;
use jim_install::configure::EnvFile;
use jim_install::exit::Exit;
use jim_install::preflight::PreflightInput;
use jim_install::release::download::{check_digest, fetch_small};
use jim_install::release::{Release, ReleaseError};
use jim_install::state::{InstallDir, InstallState};

use super::download::{ReleaseSourceArgs, report_release_error};
use super::stack::{self, TargetArgs};

/// Where JIM's images are published.
pub const DEFAULT_REGISTRY: &str = "ghcr.io/tetronio/";

#[derive(clap::Args, Debug)]
pub struct SetupArgs {
    #[command(flatten)]
    pub source: ReleaseSourceArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    /// The registry prefix of the JIM images, written to `.env` as DOCKER_REGISTRY (a trailing
    /// `/` is added when missing).
    #[arg(long, value_name = "HOST[:PORT]/PATH/", env = "DOCKER_REGISTRY",
          default_value = DEFAULT_REGISTRY)]
    pub registry: String,
    /// The bundled database's image, written to `.env` as JIM_DB_IMAGE (default: keep the
    /// value in `.env`, else the template's).
    #[arg(long, value_name = "REFERENCE", env = "JIM_DB_IMAGE")]
    pub database_image: Option<String>,
    /// Download and verify the files into the install folder, then stop.
    #[arg(long)]
    pub download_only: bool,
    /// Answers for the configuration questions (YAML); without a terminal this or
    /// `JIM_SETUP_*` variables are required.
    #[arg(long)]
    pub answers: Option<PathBuf>,
    /// Objects in the largest connected system, for the memory check.
    #[arg(long, default_value_t = 10_000)]
    pub objects: u64,
    /// Go on when a preflight check fails.
    #[arg(long)]
    pub ignore_preflight: bool,
    /// How long to wait for JIM to be ready, in seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
}

pub async fn run(args: SetupArgs) -> Result<Exit> {
    let dir = args.target.install_dir();
    let project = args.target.project(&dir);

    // 1. Find the release and fetch its files, each checked before anything is written.
    let (release, files) = match fetch_release_files(&args.source).await {
        Ok(found) => found,
        Err(error) => return Ok(report_release_error(&error)),
    };
    let release_folder = write_release_files(&dir, &release, &files)?;
    place_compose_files(&release_folder, &dir)?;
    eprintln!(
        "verified {} files of JIM {} against {RELEASE_CHECKSUMS_ASSET}; they are in `{}`",
        files.len() - 1,
        release.version,
        dir.compose_dir().display()
    );
    if args.download_only {
        eprintln!(
            "next: read the files, then run the same command without --download-only to \
             configure and start JIM"
        );
        println!("{}", dir.compose_dir().display());
        return Ok(Exit::Success);
    }

    // 2. Preflight; the images are pulled later, so their size is not known here.
    let existing_env = EnvFile::read(&dir.env_file()).ok();
    let input = PreflightInput {
        objects: args.objects,
        image_bytes: 0,
        web_port: existing_env.as_ref().map(stack::web_port).unwrap_or(5200),
        port_held_by_jim: stack::port_held_by_stack(&project).await,
    };
    if !stack::preflight_checks(&input, false).await && !args.ignore_preflight {
        eprintln!("hint: fix the failed checks, or pass --ignore-preflight to go on anyway");
        return Ok(Exit::Preflight);
    }
    let docker = match stack::connect().await {
        Ok(docker) => docker,
        Err((exit, error)) => return stack::report(exit, error),
    };

    // 3. Configure, then point the image variables at the registry and this release.
    let configured = super::configure::configure_for_install(&dir, args.answers.as_deref())?;
    if configured != Exit::Success {
        return Ok(configured);
    }
    set_image_variables(&dir, &release.version, &args)?;
    record_state(&dir, &release.version, &release_folder, &project)?;

    // 4. Pull what the engine lacks; every image the compose files name must then exist.
    let (stack, env) = stack::stack(&dir, &project)?;
    eprintln!(
        "pulling the images: {}",
        stack.describe(&["pull", "--policy", "missing"])
    );
    if let Err(error) = stack.pull() {
        eprintln!(
            "error: {error}\nhint: check that the registry `{}` is reachable from this host \
             (and `docker login` to it if it needs one), or set DOCKER_REGISTRY / --registry",
            env.get("DOCKER_REGISTRY").unwrap_or_default()
        );
        return Ok(Exit::Failure);
    }
    let missing = stack::check_compose_images(&docker, &stack).await?;
    if !missing.is_empty() {
        bail!(
            "the engine lacks images after the pull: {}\nhint: check DOCKER_REGISTRY, \
             JIM_VERSION and JIM_DB_IMAGE in `{}`",
            missing.join(", "),
            dir.env_file().display()
        );
    }

    // 5. Up, and wait until ready: the same as the offline path.
    let exit = stack::up_and_wait(&docker, &stack, stack::web_port(&env), args.timeout).await?;
    if exit == Exit::Success {
        eprintln!(
            "\nnext: `jim-install status --dir {0}` shows the stack; `jim-install logs --dir {0}` \
             its logs; `jim-install down --dir {0}` stops it (volumes are kept)",
            dir.root.display()
        );
    }
    Ok(exit)
}

/// The release and its files (name, bytes), every one checked against the release's
/// checksums; the checksums asset itself comes last.
async fn fetch_release_files(
    source: &ReleaseSourceArgs,
) -> Result<(Release, Vec<(String, Vec<u8>)>), ReleaseError> {
    let (client, server) = source.connect()?;
    let release = source.find(&client, &server).await?;
    let checksums_asset = release.asset(RELEASE_CHECKSUMS_ASSET)?;
    let checksums_bytes = fetch_small(&client, checksums_asset, source.retry_policy()).await?;
    let checksums = jim_install::release::ReleaseChecksums::parse(
        &checksums_asset.name,
        release.version.as_str(),
        &checksums_bytes,
    )?;
    let mut files = Vec::new();
    for name in connected_setup_assets() {
        let asset = release.asset(name)?;
        let bytes = fetch_small(&client, asset, source.retry_policy()).await?;
        check_digest(
            name,
            &checksums.expected(name)?,
            &Sha256Digest::of_bytes(&bytes),
        )?;
        files.push((name.to_string(), bytes));
    }
    files.push((RELEASE_CHECKSUMS_ASSET.to_string(), checksums_bytes));
    Ok((release, files))
}

/// Keeps the release's files in `releases/jim-release-X.Y.Z/`: the compose files under
/// `compose/` as in a bundle, and the release's `checksums.sha256` beside them.
fn write_release_files(
    dir: &InstallDir,
    release: &Release,
    files: &[(String, Vec<u8>)],
) -> Result<PathBuf> {
    let folder = dir
        .releases_dir()
        .join(BundleLayout::new(release.version.clone()).folder_name());
    let compose = folder.join(layout::COMPOSE_FOLDER);
    fs::create_dir_all(&compose)
        .with_context(|| format!("cannot create `{}`", compose.display()))?;
    for (name, bytes) in files {
        let path = if name == RELEASE_CHECKSUMS_ASSET {
            folder.join(name)
        } else {
            compose.join(name)
        };
        write_atomic(&path, bytes)?;
    }
    Ok(folder)
}

/// Copies the compose files and `.env` template into `compose/`. A compose file that exists
/// with other content was changed by hand: it is kept, and setup stops.
fn place_compose_files(release_folder: &Path, dir: &InstallDir) -> Result<()> {
    let source = release_folder.join(layout::COMPOSE_FOLDER);
    let target = dir.compose_dir();
    fs::create_dir_all(&target)?;
    for file in connected_setup_assets() {
        let new = fs::read(source.join(file))?;
        let path = target.join(file);
        match fs::read(&path) {
            Ok(old) if old == new => {}
            Ok(_) if file != layout::ENV_TEMPLATE_FILE => bail!(
                "`{}` differs from the release's copy: it was changed by hand\nhint: put site \
                 changes in a compose file of your own, restore the original, and run setup again",
                path.display()
            ),
            _ => write_atomic(&path, &new)?,
        }
    }
    Ok(())
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let temporary = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    fs::write(&temporary, bytes)
        .and_then(|()| fs::rename(&temporary, path))
        .with_context(|| format!("cannot write `{}`", path.display()))
}

/// Records the installation like `install` does: the version, the release folder (here the
/// release's compose files and checksums, without images), the project, and the SHA-256 of
/// each compose file as installed, which `upgrade` compares to tell a file edited by hand.
fn record_state(
    dir: &InstallDir,
    version: &ReleaseVersion,
    release_folder: &Path,
    project: &str,
) -> Result<()> {
    let compose_checksums: std::collections::BTreeMap<String, String> = layout::COMPOSE_FILES
        .iter()
        .filter_map(|file| {
            let path = dir.compose_dir().join(file);
            jim_checksums::sha256_file(&path)
                .ok()
                .map(|digest| (file.to_string(), digest.to_hex()))
        })
        .collect();
    let state: InstallState = serde_json::from_value(serde_json::json!({
        "version": version.as_str(),
        "releaseFolder": release_folder
            .strip_prefix(&dir.root)
            .unwrap_or(release_folder)
            .to_string_lossy(),
        "project": project,
        "installedAt": chrono::Utc::now().to_rfc3339(),
        "composeChecksums": compose_checksums,
    }))
    .context("cannot form the install state")?;
    dir.write_state(&state)?;
    Ok(())
}

/// Sets `JIM_VERSION`, `DOCKER_REGISTRY` and (when given) `JIM_DB_IMAGE` in `.env`.
fn set_image_variables(dir: &InstallDir, version: &ReleaseVersion, args: &SetupArgs) -> Result<()> {
    let path = dir.env_file();
    let mut env = EnvFile::read(&path)?;
    let mut registry = args.registry.trim().to_string();
    if !registry.is_empty() && !registry.ends_with('/') {
        registry.push('/');
    }
    let mut changed = env.set("JIM_VERSION", version.as_str());
    changed |= env.set("DOCKER_REGISTRY", &registry);
    if let Some(image) = &args.database_image {
        changed |= env.set("JIM_DB_IMAGE", image);
    }
    if changed {
        env.write_atomic(&path)?;
    }
    eprintln!("images: {registry}jim-web:{version} (and worker, scheduler)");
    Ok(())
}
