//! `jim-bundle`: builds the JIM release bundle offline and byte for byte reproducibly.
//!
//! This file only parses the command line and reports errors; each subcommand lives in
//! `commands/<verb>.rs` and calls into the library.

mod cli;
mod commands;
mod exit_status;
mod reporter;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::exit_status::ExitStatus;

fn main() -> ExitCode {
    // clap prints usage errors itself and exits with 2, the usage exit status.
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Plan(arguments) => commands::plan::run(&arguments),
        Command::Build(arguments) => commands::build::run(&arguments, cli.quiet),
        Command::Keygen(arguments) => commands::keygen::run(&arguments),
        Command::PostgresImage(arguments) => commands::postgres_image::run(&arguments),
        Command::ReleaseAssets(arguments) => commands::release_assets::run(&arguments),
    };
    match result {
        Ok(()) => ExitStatus::Success.into(),
        Err(error) => {
            report_error(&error);
            ExitStatus::for_error(&error).into()
        }
    }
}

/// Prints an error as `error:`, each cause as `Caused by:`, then the `hint:` if one applies.
fn report_error(error: &anyhow::Error) {
    eprintln!("error: {error}");
    for cause in error.chain().skip(1) {
        eprintln!("  Caused by: {cause}");
    }
    let hint = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<jim_bundle::Error>())
        .and_then(jim_bundle::Error::hint);
    if let Some(hint) = hint {
        eprintln!("hint: {hint}");
    }
}
