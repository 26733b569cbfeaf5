//! `jim-install configure`: writes the stack's `.env`, on a terminal or from answers.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use jim_install::configure::{
    self, ConfigureError, ConfigureOptions, ConfigureOutcome, DatabaseMode,
};
use jim_install::exit::Exit;
use jim_install::state::{InstallDir, default_dir};

const ANSWERS_HELP: &str = "\
Answers file (YAML; every key is optional, unknown keys are refused):
  database:  mode (bundled | external), host (host[:port]), name, username, password,
             testConnection (true | false; external only)
  sso:       authority (http(s) URL), clientId, secret, apiScope, claimType (default sub),
             mvAttribute (default \"Subject Identifier\"), initialAdmin
  web:       port (default 5200; or address:port, such as 127.0.0.1:5200)
  log:       level (Verbose, Debug, Information, Warning, Error, Fatal; default Information)

Environment variables override the file: JIM_SETUP_DB_MODE, JIM_SETUP_DB_HOST, JIM_SETUP_DB_NAME,
JIM_SETUP_DB_USERNAME, JIM_SETUP_DB_PASSWORD, JIM_SETUP_DB_TEST_CONNECTION,
JIM_SETUP_SSO_AUTHORITY, JIM_SETUP_SSO_CLIENT_ID, JIM_SETUP_SSO_SECRET, JIM_SETUP_SSO_API_SCOPE,
JIM_SETUP_SSO_CLAIM_TYPE, JIM_SETUP_SSO_MV_ATTRIBUTE, JIM_SETUP_SSO_INITIAL_ADMIN,
JIM_SETUP_WEB_PORT, JIM_SETUP_LOG_LEVEL.

With answers, nothing is asked: an unanswered question takes the value already in .env, else its
default; authority, clientId, secret and initialAdmin (and host and password for an external
database) have no default. The bundled database gets a random password once and keeps it.";

/// Writes `DIR/compose/.env`: database, single sign-on, web port and log level.
#[derive(clap::Args, Debug)]
#[command(after_long_help = ANSWERS_HELP)]
pub struct ConfigureArgs {
    /// The install folder; `.env` is written to DIR/compose/.env from DIR/compose/.env.example
    /// (default `/opt/jim` as root, else `./jim`).
    #[arg(long, value_name = "DIR", env = "JIM_INSTALL_DIR")]
    pub dir: Option<PathBuf>,
    /// Answer the questions from this YAML file instead of asking (see --help).
    #[arg(long, value_name = "FILE")]
    pub answers: Option<PathBuf>,
    /// Check the answers and print what would be written (secrets masked); write nothing.
    #[arg(long)]
    pub check: bool,
    /// Print the outcome as JSON on stdout (never any secret).
    #[arg(long)]
    pub json: bool,
    /// Accept a web port that another program on this host already uses.
    #[arg(long)]
    pub allow_port_in_use: bool,
}

/// Runs `jim-install configure`.
pub fn run(args: ConfigureArgs) -> Result<Exit> {
    let install_dir = args.dir.clone().unwrap_or_else(default_dir);
    let mut options = ConfigureOptions::new(install_dir);
    options.answers_file = args.answers.clone();
    options.check_only = args.check;
    options.allow_port_in_use = args.allow_port_in_use;

    let outcome = match configure::configure(&options) {
        Ok(outcome) => outcome,
        Err(error) => return Ok(report_error(&error)),
    };
    report_outcome(&outcome);
    if args.json {
        let json = serde_json::to_string_pretty(&outcome).context("cannot print the outcome")?;
        println!("{json}");
    } else if args.check {
        for entry in &outcome.summary {
            let marker = if entry.changed { "  (changed)" } else { "" };
            println!("{}={}{marker}", entry.key, entry.value);
        }
    }
    Ok(Exit::Success)
}

/// The configure step of `jim-install install`. Without a terminal and without answers, an
/// existing `.env` is kept as it is (checked, with every value as its own answer) instead of
/// stopping, so that a rerun of `install` from a script goes through.
pub fn configure_for_install(dir: &InstallDir, answers: Option<&Path>) -> Result<Exit> {
    let mut options = ConfigureOptions::new(dir.root.clone());
    options.answers_file = answers.map(Path::to_path_buf);
    options.never_prompt = answers.is_none()
        && options.setup_variables.is_empty()
        && !configure::terminal_attached()
        && dir.env_file().exists();

    match configure::configure(&options) {
        Ok(outcome) => {
            report_outcome(&outcome);
            Ok(Exit::Success)
        }
        Err(error) => Ok(report_error(&error)),
    }
}

/// Prints what happened on stderr.
fn report_outcome(outcome: &ConfigureOutcome) {
    for warning in &outcome.warnings {
        eprintln!("warning: {warning}");
    }
    let path = outcome.env_path.display();
    if outcome.generated_password {
        eprintln!("generated a random password for the bundled database");
    }
    match (&outcome.previous_path, outcome.written) {
        (Some(previous), true) => eprintln!(
            "wrote `{path}`: {} of {} settings changed; the previous file is kept as `{}`",
            outcome.changed_keys.len(),
            outcome.written_keys.len(),
            previous.display()
        ),
        (None, true) => eprintln!(
            "wrote `{path}` with {} settings",
            outcome.written_keys.len()
        ),
        (_, false) => {
            eprintln!("the answers are valid; nothing was written to `{path}` (--check)")
        }
    }
    let database = match outcome.database_mode {
        DatabaseMode::Bundled => "bundled (the stack starts with --profile with-db)",
        DatabaseMode::External => "external",
    };
    eprintln!("database: {database}; web port: {}", outcome.web_port);
}

/// Prints the error in the usual shape (error, cause, hint) and returns its exit code.
fn report_error(error: &ConfigureError) -> Exit {
    eprintln!("error: {error}");
    let mut cause = std::error::Error::source(error);
    while let Some(reason) = cause {
        eprintln!("  Caused by: {reason}");
        cause = reason.source();
    }
    if let Some(hint) = error.hint() {
        eprintln!("hint: {hint}");
    }
    if error.is_usage() {
        Exit::Usage
    } else {
        Exit::Failure
    }
}
