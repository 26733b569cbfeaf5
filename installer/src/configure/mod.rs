//! Writes JIM's `.env`: the database, single sign-on, web port and log level, asked on a terminal
//! or taken from an answers file and `JIM_SETUP_*` variables. A rerun offers every current value
//! as the default and never replaces the database password. The file is edited in place
//! (comments and unknown keys survive) and replaced atomically, the old one kept as
//! `.env.previous`.

mod answers;
mod checks;
mod dotenv;
mod env_file;
mod error;
mod settings;
mod unattended;
mod wizard;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

pub use answers::{Answer, Answers, Origin, Question};
pub use checks::{DatabaseTarget, PortStatus, check_port, test_database_connection};
pub use env_file::{EnvFile, previous_path};
pub use error::ConfigureError;
pub use settings::{
    BUNDLED_DATABASE_HOST, DEFAULT_WEB_PORT, DatabaseMode, INFRASTRUCTURE_API_KEY_VARIABLE,
    LOG_LEVELS, SECRET_VARIABLES, Settings, SummaryEntry, WebPort, database_mode, generate_api_key,
    generate_password,
};

/// The prefix of the environment variables that answer the questions.
pub const SETUP_VARIABLE_PREFIX: &str = "JIM_SETUP_";

/// What `configure` is asked to do.
#[derive(Debug, Clone)]
pub struct ConfigureOptions {
    /// The install folder; `.env` is `compose/.env` inside it, from `compose/.env.example`.
    pub install_dir: PathBuf,
    /// A YAML answers file.
    pub answers_file: Option<PathBuf>,
    /// The `JIM_SETUP_*` variables (others are ignored); they override the answers file.
    pub setup_variables: BTreeMap<String, String>,
    /// Check the answers and report what would be written, but write nothing.
    pub check_only: bool,
    /// Accept a web port that another program already uses.
    pub allow_port_in_use: bool,
    /// Never ask, even on a terminal: take the answers, the current `.env` and the defaults.
    pub never_prompt: bool,
}

impl ConfigureOptions {
    /// Options for `install_dir` with the process's `JIM_SETUP_*` variables and nothing else set.
    pub fn new(install_dir: impl Into<PathBuf>) -> Self {
        Self {
            install_dir: install_dir.into(),
            answers_file: None,
            setup_variables: setup_variables_from_process(),
            check_only: false,
            allow_port_in_use: false,
            never_prompt: false,
        }
    }

    /// The folder of the compose files and `.env`.
    pub fn compose_folder(&self) -> PathBuf {
        self.install_dir.join("compose")
    }

    /// The `.env` file that `configure` writes.
    pub fn env_path(&self) -> PathBuf {
        self.compose_folder().join(".env")
    }
}

/// What `configure` did (or, with `check_only`, would do). Holds no secret.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConfigureOutcome {
    /// The `.env` file.
    pub env_path: PathBuf,
    /// Whether the file was written (false with `check_only`).
    pub written: bool,
    /// Where the previous `.env` was kept, when there was one and the new file was written.
    pub previous_path: Option<PathBuf>,
    /// Bundled or external database: compose needs `--profile with-db` for bundled.
    pub database_mode: DatabaseMode,
    /// The host port of the web UI and API.
    pub web_port: u16,
    /// Whether this run generated the bundled database's password (there was none before).
    pub generated_password: bool,
    /// Every key that `configure` sets, in file order.
    pub written_keys: Vec<String>,
    /// The keys whose values differ from the previous `.env` (from the template on a first run).
    pub changed_keys: Vec<String>,
    /// What was (or would be) written, secrets masked.
    pub summary: Vec<SummaryEntry>,
    /// Things the user should know that did not stop the run.
    pub warnings: Vec<String>,
}

/// The process's `JIM_SETUP_*` environment variables.
pub fn setup_variables_from_process() -> BTreeMap<String, String> {
    std::env::vars()
        .filter(|(name, _)| name.starts_with(SETUP_VARIABLE_PREFIX))
        .collect()
}

/// Whether questions can be asked: prompts draw on stderr and read the keyboard through stdin.
pub fn terminal_attached() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Works out the settings (from the answers, or by asking on the terminal), checks them, and
/// writes `.env` unless `check_only` is set. Without answers and without a terminal it stops at
/// once with [`ConfigureError::NoTerminal`] rather than wait for input that cannot come.
pub fn configure(options: &ConfigureOptions) -> Result<ConfigureOutcome, ConfigureError> {
    let answers = Answers::load(options.answers_file.as_deref(), &options.setup_variables)?;
    // An answers file, even an empty one, or any answering variable means: ask nothing.
    let unattended = options.never_prompt || answers.file().is_some() || !answers.is_empty();
    if !unattended && !terminal_attached() {
        return Err(ConfigureError::NoTerminal);
    }

    let compose_folder = options.compose_folder();
    let env_path = options.env_path();
    let (mut env, source_path, first_run) = load_current(&compose_folder, &env_path)?;
    let mut warnings = Vec::new();

    let mut wizard = None;
    let settings = if unattended {
        let resolved = unattended::resolve(&answers, &env, &source_path)?;
        check_answers(&resolved, &compose_folder, options, &mut warnings)?;
        resolved.settings
    } else {
        let wizard = wizard.insert(wizard::Wizard::new(
            &env,
            &compose_folder,
            options.allow_port_in_use,
        ));
        wizard.ask()?
    };

    let previous = env.clone();
    let generated_password = settings.database_mode == DatabaseMode::Bundled
        && answers.get(Question::DatabasePassword).is_none()
        && settings::existing_value(&previous, Question::DatabasePassword).is_none();
    let written_keys = apply(&mut env, &settings);
    let changed_keys: Vec<String> = written_keys
        .iter()
        .filter(|key| previous.get(key) != env.get(key))
        .cloned()
        .collect();
    let summary = written_keys
        .iter()
        .map(|key| SummaryEntry {
            key: key.clone(),
            value: settings::display_value(key, env.get(key).unwrap_or_default()),
            changed: changed_keys.contains(key),
        })
        .collect::<Vec<_>>();

    if !options.check_only {
        if let Some(wizard) = &wizard
            && !wizard.confirm_write(&summary, &env_path)?
        {
            return Err(ConfigureError::Cancelled { path: env_path });
        }
        env.write_atomic(&env_path)?;
    }

    let previous_path = (!options.check_only && !first_run).then(|| previous_path(&env_path));
    Ok(ConfigureOutcome {
        env_path,
        written: !options.check_only,
        previous_path,
        database_mode: settings.database_mode,
        web_port: settings.web_port.port,
        generated_password,
        written_keys,
        changed_keys,
        summary,
        warnings,
    })
}

/// The current `.env`, or the template when there is none yet; the path it came from; and
/// whether this is the first run (no `.env`).
fn load_current(
    compose_folder: &Path,
    env_path: &Path,
) -> Result<(EnvFile, PathBuf, bool), ConfigureError> {
    if env_path.exists() {
        return Ok((EnvFile::read(env_path)?, env_path.to_path_buf(), false));
    }
    let template = compose_folder.join(".env.example");
    if template.exists() {
        return Ok((EnvFile::read(&template)?, template, true));
    }
    Err(ConfigureError::NoTemplate {
        folder: compose_folder.to_path_buf(),
    })
}

/// The checks that unattended answers get before anything is written: the port, and the
/// database connection when the answers ask for that test.
fn check_answers(
    resolved: &unattended::Resolved,
    compose_folder: &Path,
    options: &ConfigureOptions,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigureError> {
    let settings = &resolved.settings;
    if check_port(settings.web_port, compose_folder) == PortStatus::InUse {
        if !options.allow_port_in_use {
            return Err(ConfigureError::PortInUse {
                port: settings.web_port.to_string(),
            });
        }
        warnings.push(format!(
            "port {} is in use on this host; kept because of --allow-port-in-use",
            settings.web_port
        ));
    }
    if resolved.test_connection {
        let target = DatabaseTarget {
            host: &settings.database_host,
            name: &settings.database_name,
            username: &settings.database_username,
            password: &settings.database_password,
        };
        test_database_connection(&target).map_err(|reason| {
            ConfigureError::DatabaseUnreachable {
                host: settings.database_host.clone(),
                reason,
            }
        })?;
    }
    Ok(())
}

/// Writes `settings` into `env`, and an infrastructure API key when there is none; returns the
/// keys set, in file order.
fn apply(env: &mut EnvFile, settings: &Settings) -> Vec<String> {
    for (key, value) in settings.entries() {
        env.set(key, &value);
    }
    if env
        .get(INFRASTRUCTURE_API_KEY_VARIABLE)
        .is_none_or(str::is_empty)
    {
        env.set(INFRASTRUCTURE_API_KEY_VARIABLE, &generate_api_key());
    }

    let mut set_keys: Vec<&str> = settings.entries().iter().map(|(key, _)| *key).collect();
    set_keys.push(INFRASTRUCTURE_API_KEY_VARIABLE);
    env.keys()
        .into_iter()
        .filter(|key| set_keys.contains(key))
        .map(str::to_string)
        .collect()
}
