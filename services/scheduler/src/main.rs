use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// JIM scheduler: enqueues worker tasks when schedules are due.
#[derive(Parser)]
#[command(version, about)]
struct Arguments {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the scheduler (the default).
    Run,
    /// Exit 0 if the heartbeat file is fresh (under 120 s), 1 if not; for Docker health checks.
    Healthcheck,
}

fn main() -> ExitCode {
    let arguments = Arguments::parse();
    match arguments.command.unwrap_or(Command::Run) {
        Command::Healthcheck => jim_scheduler::healthcheck(),
        Command::Run => jim_scheduler::main(),
    }
}
