//! `jim-install rollback`: back to the version before the last upgrade, with the database and
//! keys of the backup that upgrade took. It also finishes an upgrade that stopped half-way.

use anyhow::Result;
use jim_install::exit::Exit;
use jim_install::upgrade::{self, Phase};

use super::backup::Installed;
use super::stack::TargetArgs;
use super::upgrade::go_back;

#[derive(clap::Args, Debug)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// How long to wait for JIM to be ready, in seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
}

pub async fn run(args: RollbackArgs) -> Result<Exit> {
    let dir = args.target.install_dir();
    let Some(mut record) = upgrade::read_record(&dir)? else {
        eprintln!(
            "error: no upgrade was recorded in `{}`; there is nothing to roll back\n\
             hint: to restore data, use `jim-install restore ARCHIVE`",
            dir.root.display()
        );
        return Ok(Exit::Usage);
    };
    if record.phase == Phase::RolledBack {
        eprintln!(
            "the upgrade from {} to {} was already rolled back; JIM {} is installed",
            record.from_version, record.to_version, record.from_version
        );
        return Ok(Exit::Success);
    }
    let mut installed = match Installed::open(&args.target).await? {
        Ok(installed) => installed,
        Err(exit) => return Ok(exit),
    };
    eprintln!(
        "rolling back JIM {} to {}{}",
        record.to_version,
        record.from_version,
        record
            .backup
            .as_deref()
            .map(|backup| format!(" with the backup `{backup}`"))
            .unwrap_or_default()
    );
    // After a finished upgrade the data changed under the new version: the backup is the way
    // back. During an unfinished one, the backup is needed only if the schema moved.
    let always_restore = record.phase == Phase::Completed;
    let message = format!(
        "rolled back from {} by `jim-install rollback`",
        record.to_version
    );
    match go_back(
        &mut installed,
        &mut record,
        always_restore,
        args.timeout,
        &message,
    )
    .await
    {
        Ok(_) => {
            eprintln!("JIM {} is ready again", record.from_version);
            Ok(Exit::Success)
        }
        Err(error) => {
            eprintln!("error: the rollback did not finish: {error:#}");
            Ok(Exit::Failure)
        }
    }
}
