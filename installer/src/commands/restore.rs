//! `jim-install restore ARCHIVE`: verify the archive, refuse one from a newer schema than the
//! installed images, then put back the keys and the database together and bring JIM up.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use jim_install::backup::{self, engine};
use jim_install::exit::Exit;

use super::backup::Installed;
use super::stack::TargetArgs;

#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    /// The backup archive written by `jim-install backup`.
    pub archive: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// How long to wait for JIM to be ready afterwards, in seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
}

pub async fn run(args: RestoreArgs) -> Result<Exit> {
    let verified = match backup::verify_archive(&args.archive) {
        Ok(verified) => verified,
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(Exit::VerificationFailed);
        }
    };
    eprintln!(
        "verified the backup of JIM {} taken {} (schema {})",
        verified.manifest.jim_version,
        verified.manifest.created_at,
        describe_schema(verified.manifest.schema_version)
    );
    let installed = match Installed::open(&args.target).await? {
        Ok(installed) => installed,
        Err(exit) => return Ok(exit),
    };

    // The images must know every migration the backup's database has applied.
    let image = installed.worker_image();
    let image_schema = engine::image_schema_version(&installed.docker, &image).await?;
    if verified.manifest.schema_version.unwrap_or(0) > image_schema {
        eprintln!(
            "error: the backup's database has schema {} but the installed images (`{image}`) \
             know only up to {image_schema}\nhint: install (or upgrade to) JIM {} or newer \
             first, then restore",
            describe_schema(verified.manifest.schema_version),
            verified.manifest.jim_version
        );
        return Ok(Exit::Usage);
    }

    eprintln!("stopping the JIM services and restoring the keys and the database");
    installed.remove_services()?;
    installed.start_database()?;
    engine::restore_backup(&installed.docker, &installed.site(), &verified)
        .await
        .context("the restore failed; the JIM services are stopped")?;
    eprintln!("restored; starting JIM");
    match installed.bring_up(Duration::from_secs(args.timeout)).await {
        Ok(()) => {
            eprintln!("JIM is ready with the restored data");
            Ok(Exit::Success)
        }
        Err(error) => {
            eprintln!("error: the data is restored but JIM is not ready: {error}");
            Ok(Exit::NotReady)
        }
    }
}

pub fn describe_schema(version: Option<i64>) -> String {
    version.map_or("none".to_string(), |version| version.to_string())
}
