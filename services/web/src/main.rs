use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// JIM web service: the UI, the REST API, the OpenAPI document and the health endpoints.
#[derive(Parser)]
#[command(version, about)]
struct Arguments {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP (the default).
    Run,
    /// Exit 0 if this service's own /api/v1/health/ready answers 200, 1 if not.
    Healthcheck,
}

fn main() -> ExitCode {
    let arguments = Arguments::parse();
    match arguments.command.unwrap_or(Command::Run) {
        Command::Healthcheck => jim_web::healthcheck(),
        Command::Run => jim_web::main(),
    }
}
