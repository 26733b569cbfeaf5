//! `jim-install install BUNDLE`: the whole path in one command, safe to run again.
//!
//! Verify while extracting into the install folder, preflight, load, configure, bring up,
//! wait until ready. Nothing is loaded from a bundle that fails verification, and each step
//! leaves what a rerun can finish: the extracted release and `.env` are kept, images already
//! present are skipped.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use jim_bundle::layout::{self, BundleManifest};
use jim_install::configure::EnvFile;
use jim_install::exit::Exit;
use jim_install::preflight::PreflightInput;
use jim_install::state::{InstallDir, InstallState};
use jim_install::verify::{self, VerifyOptions};

use super::stack::{self, TargetArgs};

#[derive(clap::Args, Debug)]
pub struct InstallArgs {
    /// The bundle: `jim-release-X.Y.Z.tar.gz`, or its extracted folder.
    pub bundle: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Answers for the configuration questions (YAML); without a terminal this or
    /// `JIM_SETUP_*` variables are required.
    #[arg(long)]
    pub answers: Option<PathBuf>,
    /// A public key (minisign) the bundle's signature must verify with.
    #[arg(long)]
    pub trust_key: Option<PathBuf>,
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

pub async fn run(args: InstallArgs) -> Result<Exit> {
    let dir = args.target.install_dir();
    let project = args.target.project(&dir);
    fs::create_dir_all(dir.releases_dir())
        .with_context(|| format!("cannot create the install folder `{}`", dir.root.display()))?;

    // 1. Verify while extracting: nothing else happens unless every byte checks out.
    let options = VerifyOptions {
        trusted_key: match &args.trust_key {
            Some(path) => Some(verify::read_trusted_key(path)?),
            None => verify::built_in_release_key()?,
        },
        replace_existing: false,
    };
    let release = match place_release(&args.bundle, &dir, &options) {
        Ok(release) => release,
        Err(error) => {
            eprintln!("error: {error:#}");
            return Ok(Exit::VerificationFailed);
        }
    };
    let manifest = BundleManifest::read(&release)?;
    eprintln!(
        "verified JIM {} in `{}`",
        manifest.version,
        release.display()
    );

    // 2. The compose files of this release, next to the site's .env.
    install_compose_files(&release, &dir)?;

    // 3. Preflight.
    let existing_env = EnvFile::read(&dir.env_file()).ok();
    let web_port = existing_env.as_ref().map(stack::web_port).unwrap_or(5200);
    let input = PreflightInput {
        objects: args.objects,
        image_bytes: manifest.images.iter().map(|image| image.size).sum(),
        web_port,
        port_held_by_jim: stack::port_held_by_stack(&project).await,
    };
    if !stack::preflight_checks(&input, false).await && !args.ignore_preflight {
        eprintln!("hint: fix the failed checks, or pass --ignore-preflight to go on anyway");
        return Ok(Exit::Preflight);
    }

    // 4. Load the images.
    let docker = match stack::connect().await {
        Ok(docker) => docker,
        Err((exit, error)) => return stack::report(exit, error),
    };
    stack::load_images(&docker, &release).await?;

    // 5. Configure, then point the compose variables at the images just loaded.
    let configured = super::configure::configure_for_install(&dir, args.answers.as_deref())?;
    if configured != Exit::Success {
        return Ok(configured);
    }
    set_image_variables(&dir, &manifest)?;
    dir.write_state(&InstallState {
        version: manifest.version.to_string(),
        release_folder: release
            .strip_prefix(&dir.root)
            .unwrap_or(&release)
            .to_string_lossy()
            .to_string(),
        project: project.clone(),
        installed_at: chrono::Utc::now().to_rfc3339(),
        compose_checksums: jim_install::upgrade::compose_checksums(
            &dir.compose_dir(),
            &layout::COMPOSE_FILES,
        ),
    })?;

    // 6. Every image the compose files name must now exist.
    let (stack, env) = stack::stack(&dir, &project)?;
    let missing = stack::check_compose_images(&docker, &stack).await?;
    if !missing.is_empty() {
        bail!(
            "the compose files name images the engine does not have: {}\n\
             hint: the bundle lacks them; build it with every image (`jim-bundle build`)",
            missing.join(", ")
        );
    }

    // 7. Up, and wait until ready.
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

/// Puts the verified release at `releases/jim-release-X.Y.Z`, or checks the one already there.
pub(crate) fn place_release(
    bundle: &Path,
    dir: &InstallDir,
    options: &VerifyOptions,
) -> Result<PathBuf> {
    if bundle.is_dir() {
        let report = verify::verify_folder(bundle, options)?.into_result()?;
        eprintln!("{}", report.summary());
        let manifest = BundleManifest::read(bundle)?;
        let destination = release_destination(dir, &manifest);
        if !destination.exists() {
            copy_tree(bundle, &destination)?;
        }
        return Ok(destination);
    }
    if !bundle.is_file() {
        bail!(
            "no bundle at `{}`\nhint: give the path of jim-release-X.Y.Z.tar.gz",
            bundle.display()
        );
    }

    // The version is known only inside the archive: extract to a fresh name, then rename.
    let incoming = dir
        .releases_dir()
        .join(format!(".incoming-{}", std::process::id()));
    let _ = fs::remove_dir_all(&incoming);
    let extracted = verify::extract_verified(bundle, &incoming, options)?;
    eprintln!("{}", extracted.report.summary());
    let manifest = BundleManifest::read(&extracted.root)?;
    let destination = release_destination(dir, &manifest);
    if destination.exists() {
        // The same release, installed before: the copy on disk is checked instead.
        fs::remove_dir_all(&incoming).ok();
        verify::verify_folder(&destination, options)?
            .into_result()
            .with_context(|| {
                format!(
                    "the installed copy `{}` no longer matches its checksums\nhint: remove it and \
                 run the install again",
                    destination.display()
                )
            })?;
    } else {
        fs::rename(&incoming, &destination)
            .with_context(|| format!("cannot move the release to `{}`", destination.display()))?;
    }
    Ok(destination)
}

fn release_destination(dir: &InstallDir, manifest: &BundleManifest) -> PathBuf {
    dir.releases_dir().join(format!(
        "{}{}",
        layout::RELEASE_NAME_PREFIX,
        manifest.version
    ))
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)
                .with_context(|| format!("cannot copy `{}`", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Copies the release's compose files and `.env` template into `compose/`. A file that exists
/// with other content was changed by hand: it is kept, and the install stops.
fn install_compose_files(release: &Path, dir: &InstallDir) -> Result<()> {
    let source = release.join(layout::COMPOSE_FOLDER);
    let target = dir.compose_dir();
    fs::create_dir_all(&target)?;
    let mut files: Vec<&str> = layout::COMPOSE_FILES.to_vec();
    files.push(layout::ENV_TEMPLATE_FILE);
    for file in files {
        let new = fs::read(source.join(file))
            .with_context(|| format!("the bundle has no `compose/{file}`"))?;
        let path = target.join(file);
        match fs::read(&path) {
            Ok(old) if old == new => {}
            Ok(_) if file == layout::ENV_TEMPLATE_FILE => fs::write(&path, &new)?,
            Ok(_) => bail!(
                "`{}` differs from the bundle's copy: it was changed by hand\nhint: put site \
                 changes in a separate compose file of your own, restore the original, and run \
                 the install again",
                path.display()
            ),
            Err(_) => fs::write(&path, &new)
                .with_context(|| format!("cannot write `{}`", path.display()))?,
        }
    }
    Ok(())
}

/// Sets `JIM_VERSION`, `DOCKER_REGISTRY` and `JIM_DB_IMAGE` to the loaded images.
pub(crate) fn set_image_variables(dir: &InstallDir, manifest: &BundleManifest) -> Result<()> {
    let path = dir.env_file();
    let mut env = EnvFile::read(&path)?;
    let mut changed = env.set("JIM_VERSION", manifest.version.as_str());
    changed |= env.set("DOCKER_REGISTRY", &manifest.registry_prefix);
    if let Some(database) = manifest.database_image() {
        changed |= env.set("JIM_DB_IMAGE", &database.reference);
    }
    if changed {
        env.write_atomic(&path)?;
    }
    Ok(())
}
