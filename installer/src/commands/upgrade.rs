//! `jim-install upgrade BUNDLE`: from the installed version to a newer bundle, with the way
//! back ready before anything changes.
//!
//! The plan, in order: refuse edited compose files; verify the bundle; refuse one that is not
//! newer; preflight; warn about new `.env` keys; switch the enabled schedules off and wait for
//! running work; back up; load the new images (the old ones stay); stage the new files, keeping
//! `.previous` copies; set `JIM_VERSION`; bring the stack up (the worker migrates) and wait
//! until ready; switch the same schedules on again. A failure before the new version is ready
//! puts the previous files and images back, and the database from the backup when its schema
//! had changed, and brings the previous version up. Each step is written to the upgrade record
//! first, so that `rollback` can finish the job after a crash.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use jim_bundle::layout::{self, BundleManifest};
use jim_install::backup::engine::{self, Helper};
use jim_install::backup::{self};
use jim_install::compose::LOCAL_COMPOSE_FILE;
use jim_install::configure::{EnvFile, previous_path};
use jim_install::exit::Exit;
use jim_install::preflight::PreflightInput;
use jim_install::state::{InstallDir, InstallState};
use jim_install::upgrade::{
    self, Phase, UpgradeRecord, compare_versions, edited_compose_files, missing_env_keys, schedules,
};
use jim_install::verify::{self, VerifyOptions};

use super::backup::Installed;
use super::install;
use super::stack::{self, TargetArgs};

#[derive(clap::Args, Debug)]
pub struct UpgradeArgs {
    /// The new bundle: `jim-release-X.Y.Z.tar.gz`, or its extracted folder.
    pub bundle: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// A public key (minisign) the bundle's signature must verify with.
    #[arg(long)]
    pub trust_key: Option<PathBuf>,
    /// Go on when a preflight check fails.
    #[arg(long)]
    pub ignore_preflight: bool,
    /// Skip the backup. Without it, a failed upgrade whose migrations already ran cannot put
    /// the database back.
    #[arg(long)]
    pub no_backup: bool,
    /// How long to wait for running activities to finish, in seconds.
    #[arg(long, default_value_t = 600)]
    pub drain_timeout: u64,
    /// How long to wait for the new version to be ready, in seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// Print the steps and check what can be checked without changing anything.
    #[arg(long)]
    pub dry_run: bool,
}

/// The files an upgrade replaces and keeps a `.previous` copy of.
fn replaced_files(dir: &InstallDir) -> Vec<PathBuf> {
    layout::COMPOSE_FILES
        .iter()
        .map(|file| dir.compose_dir().join(file))
        .chain(std::iter::once(dir.env_file()))
        .collect()
}

pub async fn run(args: UpgradeArgs) -> Result<Exit> {
    let dir = args.target.install_dir();
    let state = dir.require_state()?;
    if let Some(record) = upgrade::read_record(&dir)?
        && record.phase.unfinished()
    {
        eprintln!(
            "error: the upgrade from {} to {} did not finish (it stopped at `{:?}`)\n\
             hint: run `jim-install rollback --dir {}` to return to {}, then upgrade again",
            record.from_version,
            record.to_version,
            record.phase,
            dir.root.display(),
            record.from_version
        );
        return Ok(Exit::Usage);
    }

    // 1. Compose files edited by hand would be lost: stop before anything changes.
    let release_compose = dir.release_dir(&state).join(layout::COMPOSE_FOLDER);
    let edited = edited_compose_files(
        &dir.compose_dir(),
        &layout::COMPOSE_FILES,
        &state.compose_checksums,
        &release_compose,
    );
    if !edited.is_empty() {
        eprintln!(
            "error: {} in `{}` changed since JIM {} was installed; the upgrade would replace \
             {}\nhint: move your changes into `{}` in the same folder (the installer passes it \
             to compose and never overwrites it), put back the installed file (a copy is in \
             `{}`), and run the upgrade again",
            edited
                .iter()
                .map(|file| format!("`{file}`"))
                .collect::<Vec<_>>()
                .join(", "),
            dir.compose_dir().display(),
            state.version,
            if edited.len() == 1 { "it" } else { "them" },
            LOCAL_COMPOSE_FILE,
            release_compose.display()
        );
        return Ok(Exit::Usage);
    }
    if args.dry_run {
        print_plan(&dir, &state, &args);
        return Ok(Exit::Success);
    }

    // 2. Verify the bundle, and refuse one that is not newer.
    let options = VerifyOptions {
        trusted_key: match &args.trust_key {
            Some(path) => Some(verify::read_trusted_key(path)?),
            None => verify::built_in_release_key()?,
        },
        replace_existing: false,
    };
    let release = match install::place_release(&args.bundle, &dir, &options) {
        Ok(release) => release,
        Err(error) => {
            eprintln!("error: {error:#}");
            return Ok(Exit::VerificationFailed);
        }
    };
    let manifest = BundleManifest::read(&release)?;
    let to_version = manifest.version.to_string();
    match compare_versions(&to_version, &state.version) {
        std::cmp::Ordering::Equal => {
            eprintln!("JIM {to_version} is already installed; nothing to do");
            return Ok(Exit::Success);
        }
        std::cmp::Ordering::Less => {
            eprintln!(
                "error: the bundle holds JIM {to_version}, older than the installed {}\n\
                 hint: to go back after an upgrade use `jim-install rollback`; an older release \
                 cannot run on a newer database",
                state.version
            );
            return Ok(Exit::Usage);
        }
        std::cmp::Ordering::Greater => {}
    }
    eprintln!("upgrading JIM {} to {to_version}", state.version);

    // 3. Preflight, and the .env keys the new template adds.
    let mut installed = match Installed::open(&args.target).await? {
        Ok(installed) => installed,
        Err(exit) => return Ok(exit),
    };
    let input = PreflightInput {
        objects: 10_000,
        image_bytes: manifest.images.iter().map(|image| image.size).sum(),
        web_port: stack::web_port(&installed.env),
        port_held_by_jim: true,
    };
    if !stack::preflight_checks(&input, false).await && !args.ignore_preflight {
        eprintln!("hint: fix the failed checks, or pass --ignore-preflight to go on anyway");
        return Ok(Exit::Preflight);
    }
    let template = EnvFile::read(
        &release
            .join(layout::COMPOSE_FOLDER)
            .join(layout::ENV_TEMPLATE_FILE),
    )?;
    for key in missing_env_keys(&template, &installed.env) {
        eprintln!(
            "warning: the new `.env.example` sets `{key}`, which `{}` lacks; its default \
             applies (see docs/CONFIGURATION.md)",
            installed.dir.env_file().display()
        );
    }

    // 4. The record, then quiet: schedules off, running work drained.
    let now = chrono::Utc::now().to_rfc3339();
    let mut record = UpgradeRecord {
        from_version: state.version.clone(),
        to_version: to_version.clone(),
        from_release_folder: state.release_folder.clone(),
        to_release_folder: relative(&dir, &release),
        backup: None,
        from_schema_version: None,
        disabled_schedules: Vec::new(),
        phase: Phase::Draining,
        started_at: now.clone(),
        updated_at: now,
        message: None,
    };
    upgrade::write_record(&dir, &record)?;
    installed.start_database()?;
    let helper = Helper::start(&installed.docker, &installed.site()).await?;
    let drained = drain(&helper, &mut record, &dir, args.drain_timeout).await;
    helper.remove().await;
    if let Err(error) = drained {
        eprintln!("error: {error:#}");
        return give_up_before_switching(&mut installed, &mut record, &error.to_string()).await;
    }

    // 5. The backup.
    if args.no_backup {
        eprintln!("warning: no backup taken (--no-backup)");
    } else {
        eprintln!("backing up the database and the key volume");
        match engine::take_backup(
            &installed.docker,
            &installed.site(),
            &installed.backups_dir(),
        )
        .await
        {
            Ok((path, manifest)) => {
                eprintln!("backup: {}", path.display());
                record.backup = Some(path.to_string_lossy().to_string());
                record.from_schema_version = manifest.schema_version;
            }
            Err(error) => {
                let message = format!("the backup failed: {error}");
                eprintln!("error: {message}");
                return give_up_before_switching(&mut installed, &mut record, &message).await;
            }
        }
    }
    record.advance(&dir, Phase::BackedUp, None)?;

    // 6. Switch: images, files, JIM_VERSION, up.
    record.advance(&dir, Phase::Switching, None)?;
    let switched = switch(&mut installed, &release, &manifest).await;
    let outcome = match switched {
        Ok(()) => installed
            .bring_up(Duration::from_secs(args.timeout))
            .await
            .map_err(|error| anyhow::anyhow!(error)),
        Err(error) => Err(error),
    };
    match outcome {
        Ok(()) => {
            finish(&mut installed, &mut record, &release).await?;
            eprintln!(
                "JIM {to_version} is ready; the previous version's files are kept as `.previous`, \
                 its images are kept, and `jim-install rollback --dir {}` returns to {}",
                dir.root.display(),
                record.from_version
            );
            println!("http://localhost:{}/", stack::web_port(&installed.env));
            Ok(Exit::Success)
        }
        Err(error) => {
            eprintln!(
                "error: JIM {to_version} did not become ready: {error:#}\n\
                 going back to JIM {}",
                record.from_version
            );
            let message = format!("the upgrade to {to_version} failed: {error:#}");
            match go_back(&mut installed, &mut record, false, args.timeout, &message).await {
                Ok(restored) => {
                    eprintln!(
                        "JIM {} is running again{}; the upgrade to {to_version} was undone",
                        record.from_version,
                        if restored {
                            ", with the database and keys from the backup taken before the upgrade"
                        } else {
                            " (its database schema had not changed)"
                        }
                    );
                    eprintln!(
                        "hint: `jim-install logs --dir {}` may still show why {to_version} \
                         failed; fix the cause and upgrade again",
                        dir.root.display()
                    );
                    Ok(Exit::Failure)
                }
                Err(back) => {
                    eprintln!(
                        "error: going back to JIM {} failed too: {back:#}\nhint: run \
                         `jim-install rollback --dir {}` once the cause is fixed",
                        record.from_version,
                        dir.root.display()
                    );
                    Ok(Exit::Failure)
                }
            }
        }
    }
}

fn relative(dir: &InstallDir, path: &Path) -> String {
    path.strip_prefix(&dir.root)
        .unwrap_or(path)
        .to_string_lossy()
        .to_string()
}

fn print_plan(dir: &InstallDir, state: &InstallState, args: &UpgradeArgs) {
    let steps = [
        "compose files: unchanged since install (checked)".to_string(),
        format!(
            "verify `{}` and refuse it unless it is newer than {}",
            args.bundle.display(),
            state.version
        ),
        "preflight; warn about .env keys the new .env.example adds".to_string(),
        format!(
            "switch enabled schedules off, record them in `{}`, wait up to {} s for running \
             activities",
            dir.root.join(upgrade::RECORD_FILE).display(),
            args.drain_timeout
        ),
        if args.no_backup {
            "no backup (--no-backup)".to_string()
        } else {
            format!(
                "back up the database and keys into `{}`",
                dir.root.join(backup::BACKUPS_FOLDER).display()
            )
        },
        "load the new images (the old ones stay)".to_string(),
        "keep `.previous` copies of the compose files and .env, stage the new files, set \
         JIM_VERSION"
            .to_string(),
        format!(
            "docker compose up; the worker migrates; wait up to {} s until ready",
            args.timeout
        ),
        "switch the recorded schedules on again".to_string(),
        "on failure: previous files, images and (if the schema changed) the backup's database, \
         then the previous version up"
            .to_string(),
    ];
    for (number, step) in steps.iter().enumerate() {
        println!("{}. {step}", number + 1);
    }
}

async fn drain(
    helper: &Helper,
    record: &mut UpgradeRecord,
    dir: &InstallDir,
    timeout: u64,
) -> Result<()> {
    helper.wait_for_database(Duration::from_secs(120)).await?;
    record.from_schema_version = helper.schema_version().await?;
    record.disabled_schedules = schedules::disable_enabled(helper).await?;
    upgrade::write_record(dir, record)?;
    eprintln!(
        "switched off {} enabled schedule(s); waiting up to {timeout} s for running activities",
        record.disabled_schedules.len()
    );
    let running = schedules::wait_until_idle(helper, Duration::from_secs(timeout)).await?;
    if running > 0 {
        bail!(
            "{running} activit(ies) or task(s) still run after {timeout} s\nhint: wait for them \
             (or cancel them), or pass a longer --drain-timeout"
        );
    }
    Ok(())
}

/// Before anything was switched: switch the schedules on again and close the record.
async fn give_up_before_switching(
    installed: &mut Installed,
    record: &mut UpgradeRecord,
    message: &str,
) -> Result<Exit> {
    enable_schedules(installed, record).await?;
    record.advance(&installed.dir, Phase::RolledBack, Some(message.to_string()))?;
    eprintln!(
        "nothing was changed; JIM {} runs as before with its schedules",
        record.from_version
    );
    Ok(Exit::Failure)
}

async fn enable_schedules(installed: &Installed, record: &UpgradeRecord) -> Result<()> {
    if record.disabled_schedules.is_empty() {
        return Ok(());
    }
    let helper = Helper::start(&installed.docker, &installed.site()).await?;
    let result = async {
        helper.wait_for_database(Duration::from_secs(120)).await?;
        schedules::enable(&helper, &record.disabled_schedules).await
    }
    .await;
    helper.remove().await;
    result?;
    eprintln!(
        "switched {} schedule(s) on again",
        record.disabled_schedules.len()
    );
    Ok(())
}

/// Loads the new images, keeps `.previous` copies, stages the new files and sets the image
/// variables.
async fn switch(
    installed: &mut Installed,
    release: &Path,
    manifest: &BundleManifest,
) -> Result<()> {
    stack::load_images(&installed.docker, release).await?;
    let dir = installed.dir.clone();
    for path in replaced_files(&dir) {
        fs::copy(&path, previous_path(&path))
            .with_context(|| format!("cannot keep a copy of `{}`", path.display()))?;
    }
    let source = release.join(layout::COMPOSE_FOLDER);
    let mut files: Vec<&str> = layout::COMPOSE_FILES.to_vec();
    files.push(layout::ENV_TEMPLATE_FILE);
    for file in files {
        let target = dir.compose_dir().join(file);
        let temporary = dir.compose_dir().join(format!(".{file}.new"));
        fs::copy(source.join(file), &temporary)
            .and_then(|_| fs::rename(&temporary, &target))
            .with_context(|| format!("cannot write `{}`", target.display()))?;
    }
    install::set_image_variables(&dir, manifest)?;
    installed.reload()?;
    let missing = stack::check_compose_images(&installed.docker, &installed.stack).await?;
    if !missing.is_empty() {
        bail!(
            "the compose files name images the engine does not have: {}",
            missing.join(", ")
        );
    }
    Ok(())
}

/// The new version is ready: schedules on, state and record written.
async fn finish(
    installed: &mut Installed,
    record: &mut UpgradeRecord,
    release: &Path,
) -> Result<()> {
    enable_schedules(installed, record).await?;
    let dir = installed.dir.clone();
    let previous = installed.state.clone();
    dir.write_state(&InstallState {
        version: record.to_version.clone(),
        release_folder: relative(&dir, release),
        project: previous.project,
        installed_at: chrono::Utc::now().to_rfc3339(),
        compose_checksums: upgrade::compose_checksums(&dir.compose_dir(), &layout::COMPOSE_FILES),
    })?;
    installed.reload()?;
    record.advance(&dir, Phase::Completed, Some("upgraded".into()))?;
    Ok(())
}

/// Returns to the version before the upgrade: previous files and images, the database and keys
/// from the backup when `always_restore` or when the schema changed, the stack up, the recorded
/// schedules on. Returns whether the backup was restored.
pub async fn go_back(
    installed: &mut Installed,
    record: &mut UpgradeRecord,
    always_restore: bool,
    timeout: u64,
    message: &str,
) -> Result<bool> {
    let dir = installed.dir.clone();
    if matches!(record.phase, Phase::Draining | Phase::BackedUp) {
        enable_schedules(installed, record).await?;
        record.advance(&dir, Phase::RolledBack, Some(message.to_string()))?;
        return Ok(false);
    }

    // Files and images of the previous version.
    installed.remove_services()?;
    for path in replaced_files(&dir) {
        let previous = previous_path(&path);
        if previous.exists() {
            fs::copy(&previous, &path)
                .with_context(|| format!("cannot put back `{}`", path.display()))?;
        }
    }
    dir.write_state(&InstallState {
        version: record.from_version.clone(),
        release_folder: record.from_release_folder.clone(),
        project: installed.stack.project.clone(),
        installed_at: chrono::Utc::now().to_rfc3339(),
        compose_checksums: upgrade::compose_checksums(&dir.compose_dir(), &layout::COMPOSE_FILES),
    })?;
    installed.reload()?;
    let from_release = dir.root.join(&record.from_release_folder);
    if from_release.is_dir() {
        stack::load_images(&installed.docker, &from_release).await?;
    }

    // The database, when the new version changed it (or when asked).
    installed.start_database()?;
    let helper = Helper::start(&installed.docker, &installed.site()).await?;
    let schema = async {
        helper.wait_for_database(Duration::from_secs(120)).await?;
        helper.schema_version().await
    }
    .await;
    helper.remove().await;
    let schema = schema?;
    let restore = always_restore || schema != record.from_schema_version;
    if restore {
        let Some(archive) = record.backup.clone() else {
            bail!(
                "the database schema changed ({:?} → {:?}) and the upgrade took no backup\n\
                 hint: restore a backup of JIM {} with `jim-install restore`",
                record.from_schema_version,
                schema,
                record.from_version
            );
        };
        eprintln!("restoring the database and keys from `{archive}`");
        let verified = backup::verify_archive(Path::new(&archive))?;
        engine::restore_backup(&installed.docker, &installed.site(), &verified).await?;
    }

    installed
        .bring_up(Duration::from_secs(timeout))
        .await
        .map_err(|error| anyhow::anyhow!("JIM {} is not ready: {error}", record.from_version))?;
    enable_schedules(installed, record).await?;
    record.advance(&dir, Phase::RolledBack, Some(message.to_string()))?;
    Ok(restore)
}
