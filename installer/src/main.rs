use std::process::ExitCode;

use clap::{Parser, Subcommand};
use jim_install::exit::Exit;

mod commands {
    pub mod backup;
    pub mod configure;
    pub mod download;
    pub mod install;
    pub mod restore;
    pub mod rollback;
    pub mod setup;
    pub mod stack;
    pub mod upgrade;
    pub mod verify;
}

use commands::stack::{LoadArgs, LogsArgs, PreflightArgs, StatusArgs, TargetArgs, UpArgs};

/// Installs JIM from a release bundle on a host with no network: verify, load, configure,
/// bring up, and wait until ready.
#[derive(Parser)]
#[command(version, about, after_help = EXIT_CODES)]
struct Arguments {
    #[command(subcommand)]
    command: Command,
}

const EXIT_CODES: &str = "Exit codes: 0 success, 1 verification failed, 2 usage or environment \
error, 3 Docker unreachable, 4 preflight failed, 5 not ready in time, 10 other failure.";

#[derive(Subcommand)]
enum Command {
    /// Check a bundle's checksums (and signature) without installing anything.
    Verify(commands::verify::VerifyArgs),
    /// Verify, load, configure, bring up and wait until ready; safe to run again.
    Install(commands::install::InstallArgs),
    /// Connected hosts: download the latest release's compose files, verify, configure, pull
    /// the images and bring JIM up.
    Setup(commands::setup::SetupArgs),
    /// Download and verify the release bundle (.tar.gz and .sha256) for transfer to media.
    Download(commands::download::DownloadArgs),
    /// Check that this host can run JIM.
    Preflight(PreflightArgs),
    /// Load the images of a bundle into the Docker Engine.
    Load(LoadArgs),
    /// Write the stack's `.env` (interactively, or from answers).
    Configure(commands::configure::ConfigureArgs),
    /// Start the stack and wait until JIM is ready.
    Up(UpArgs),
    /// Stop the stack; volumes are kept.
    Down(TargetArgs),
    /// Show each container's health and whether JIM is ready.
    Status(StatusArgs),
    /// Show the services' logs.
    Logs(LogsArgs),
    /// Back up the database and the key volume into one verified archive.
    Backup(commands::backup::BackupArgs),
    /// Verify a backup archive, then restore the keys and the database together.
    Restore(commands::restore::RestoreArgs),
    /// Upgrade to a newer bundle, with a backup first and the way back if it fails.
    Upgrade(commands::upgrade::UpgradeArgs),
    /// Return to the version before the last upgrade, with that upgrade's backup.
    Rollback(commands::rollback::RollbackArgs),
}

fn main() -> ExitCode {
    let arguments = Arguments::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return Exit::Failure.into();
        }
    };
    let result = match arguments.command {
        Command::Verify(args) => commands::verify::run(args),
        Command::Configure(args) => commands::configure::run(args),
        Command::Install(args) => runtime.block_on(commands::install::run(args)),
        Command::Setup(args) => runtime.block_on(commands::setup::run(args)),
        Command::Download(args) => runtime.block_on(commands::download::run(args)),
        Command::Preflight(args) => runtime.block_on(commands::stack::preflight_command(args)),
        Command::Load(args) => runtime.block_on(commands::stack::load_command(args)),
        Command::Up(args) => runtime.block_on(commands::stack::up_command(args)),
        Command::Down(args) => runtime.block_on(commands::stack::down_command(args)),
        Command::Status(args) => runtime.block_on(commands::stack::status_command(args)),
        Command::Logs(args) => runtime.block_on(commands::stack::logs_command(args)),
        Command::Backup(args) => runtime.block_on(commands::backup::run(args)),
        Command::Restore(args) => runtime.block_on(commands::restore::run(args)),
        Command::Upgrade(args) => runtime.block_on(commands::upgrade::run(args)),
        Command::Rollback(args) => runtime.block_on(commands::rollback::run(args)),
    };
    match result {
        Ok(exit) => exit.into(),
        Err(error) => {
            eprintln!("error: {error:#}");
            Exit::Failure.into()
        }
    }
}
