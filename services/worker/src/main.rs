use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// JIM worker: owns the database schema and runs queued tasks.
#[derive(Parser)]
#[command(version, about)]
struct Arguments {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the worker (the default).
    Run,
    /// Exit 0 if the heartbeat file is fresh (under 60 s), 1 if not; for Docker health checks.
    Healthcheck,
    /// Print the newest schema version (migration) this worker brings, for the installer.
    SchemaVersion,
}

fn main() -> ExitCode {
    let arguments = Arguments::parse();
    match arguments.command.unwrap_or(Command::Run) {
        Command::Healthcheck => jim_worker::healthcheck(),
        Command::Run => jim_worker::main(),
        Command::SchemaVersion => jim_worker::print_schema_version(&jim_common::database::MIGRATOR),
    }
}
