//! The questions asked on a terminal. Every default is the value `.env` already holds, so a
//! rerun only needs Enter; secrets are read without echo and never shown again.

use std::collections::BTreeMap;
use std::path::Path;

use console::{Term, style};
use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};
use dialoguer::{Confirm, Input, Password, Select};

use super::ConfigureError;
use super::answers::Question;
use super::checks::{self, DatabaseTarget, PortStatus};
use super::env_file::EnvFile;
use super::settings::{
    self, BUNDLED_DATABASE_HOST, DatabaseMode, LOG_LEVELS, Settings, SummaryEntry, WebPort,
};

/// Asks the questions on the terminal and returns the checked settings.
pub(crate) struct Wizard<'a> {
    /// What `.env` holds for each question, else the built-in default.
    defaults: BTreeMap<Question, String>,
    compose_folder: &'a Path,
    allow_port_in_use: bool,
    term: Term,
    theme: Box<dyn Theme>,
    /// Answers typed so far, which become the defaults if a section is asked again.
    typed: BTreeMap<Question, String>,
}

impl<'a> Wizard<'a> {
    /// A wizard that takes its defaults from `env`.
    pub(crate) fn new(env: &EnvFile, compose_folder: &'a Path, allow_port_in_use: bool) -> Self {
        let theme: Box<dyn Theme> = if console::colors_enabled_stderr() {
            Box::new(ColorfulTheme::default())
        } else {
            Box::new(SimpleTheme)
        };
        let defaults = Question::ALL
            .into_iter()
            .filter_map(|question| {
                settings::existing_value(env, question)
                    .or_else(|| settings::builtin_default(question))
                    .map(|value| (question, value))
            })
            .collect();
        Self {
            defaults,
            compose_folder,
            allow_port_in_use,
            term: Term::stderr(),
            theme,
            typed: BTreeMap::new(),
        }
    }

    /// Asks every question, in order: database, single sign-on, web port, log level.
    pub(crate) fn ask(&mut self) -> Result<Settings, ConfigureError> {
        self.heading("Database")?;
        let (database_mode, database_host, database_name, database_username, database_password) =
            self.ask_database()?;

        self.heading("Single sign-on (OpenID Connect)")?;
        let sso_authority = self.text(Question::SsoAuthority, "Issuer URL (authority)")?;
        let sso_client_id = self.text(Question::SsoClientId, "Client id")?;
        let sso_secret = self.secret(Question::SsoSecret, "Client secret")?;
        let sso_api_scope = self.text(Question::SsoApiScope, "API scope (may be empty)")?;
        let sso_claim_type = self.text(Question::SsoClaimType, "Claim that identifies a user")?;
        let sso_mv_attribute = self.text(
            Question::SsoMvAttribute,
            "Metaverse attribute holding that claim",
        )?;
        let sso_initial_admin = self.text(
            Question::SsoInitialAdmin,
            "Claim value of the first administrator",
        )?;

        self.heading("Web and logging")?;
        let web_port = self.web_port()?;
        let log_level = self.log_level()?;

        Ok(Settings {
            database_mode,
            database_host,
            database_name,
            database_username,
            database_password,
            sso_authority,
            sso_client_id,
            sso_secret,
            sso_api_scope,
            sso_claim_type,
            sso_mv_attribute,
            sso_initial_admin,
            web_port,
            log_level,
        })
    }

    /// Shows what will be written and asks whether to write it.
    pub(crate) fn confirm_write(
        &self,
        summary: &[SummaryEntry],
        env_path: &Path,
    ) -> Result<bool, ConfigureError> {
        self.heading("Summary")?;
        for entry in summary {
            let marker = if entry.changed { " (changed)" } else { "" };
            self.line(&format!("  {}={}{marker}", entry.key, entry.value))?;
        }
        Confirm::with_theme(self.theme.as_ref())
            .with_prompt(format!("Write {}?", env_path.display()))
            .default(true)
            .interact_on(&self.term)
            .map_err(prompt_error)
    }

    #[allow(clippy::type_complexity)]
    fn ask_database(
        &mut self,
    ) -> Result<(DatabaseMode, String, String, String, String), ConfigureError> {
        loop {
            let current = self.default_for(Question::DatabaseMode);
            let mode = Select::with_theme(self.theme.as_ref())
                .with_prompt("Where should JIM's database run?")
                .items([
                    "Bundled PostgreSQL (a container in this stack)",
                    "External PostgreSQL server",
                ])
                .default(usize::from(current.as_deref() == Some("external")))
                .interact_on(&self.term)
                .map_err(prompt_error)?;
            let name_question = Question::DatabaseName;
            let user_question = Question::DatabaseUsername;

            if mode == 0 {
                self.typed
                    .insert(Question::DatabaseMode, "bundled".to_string());
                let name = self.default_for(name_question).unwrap_or_default();
                let username = self.default_for(user_question).unwrap_or_default();
                let password = self
                    .default_for(Question::DatabasePassword)
                    .unwrap_or_else(settings::generate_password);
                let host = BUNDLED_DATABASE_HOST.to_string();
                return Ok((DatabaseMode::Bundled, host, name, username, password));
            }

            self.typed
                .insert(Question::DatabaseMode, "external".to_string());
            let host = self.text(
                Question::DatabaseHost,
                "Host (name or address, :port optional)",
            )?;
            let name = self.text(name_question, "Database name")?;
            let username = self.text(user_question, "User name")?;
            let password = self.secret(Question::DatabasePassword, "Password")?;

            let test = Confirm::with_theme(self.theme.as_ref())
                .with_prompt(format!("Test the connection to {host} now?"))
                .default(true)
                .interact_on(&self.term)
                .map_err(prompt_error)?;
            if test && !self.connection_accepted(&host, &name, &username, &password)? {
                continue;
            }
            return Ok((DatabaseMode::External, host, name, username, password));
        }
    }

    /// Runs the connection test; on failure, lets the user keep the answers anyway.
    fn connection_accepted(
        &self,
        host: &str,
        name: &str,
        username: &str,
        password: &str,
    ) -> Result<bool, ConfigureError> {
        self.line(&format!("  Connecting to {host} as {username}..."))?;
        let target = DatabaseTarget {
            host,
            name,
            username,
            password,
        };
        match checks::test_database_connection(&target) {
            Ok(()) => {
                self.line(&format!(
                    "  {} signed in to database {name}",
                    style("ok:").green()
                ))?;
                Ok(true)
            }
            Err(reason) => {
                self.line(&format!(
                    "  {} cannot connect to {host}: {reason}",
                    style("warning:").yellow().bold()
                ))?;
                let choice = Select::with_theme(self.theme.as_ref())
                    .with_prompt("The database did not accept the connection")
                    .items(["Change the database answers", "Keep these answers anyway"])
                    .default(0)
                    .interact_on(&self.term)
                    .map_err(prompt_error)?;
                Ok(choice == 1)
            }
        }
    }

    fn web_port(&mut self) -> Result<WebPort, ConfigureError> {
        let compose_folder = self.compose_folder;
        let allow_port_in_use = self.allow_port_in_use;
        let answer = self.text_checked(
            Question::WebPort,
            "Web port (or address:port)",
            move |value: &str| {
                let port: WebPort = value.parse()?;
                match checks::check_port(port, compose_folder) {
                    PortStatus::InUse if !allow_port_in_use => Err(format!(
                        "port {port} is already in use on this host; choose another \
                         (or rerun with --allow-port-in-use)"
                    )),
                    _ => Ok(()),
                }
            },
        )?;
        answer
            .parse()
            .map_err(|reason| ConfigureError::InvalidAnswer {
                key: Question::WebPort.answers_key(),
                value: answer,
                origin: "the terminal".to_string(),
                reason,
            })
    }

    fn log_level(&mut self) -> Result<String, ConfigureError> {
        let current = self.default_for(Question::LogLevel);
        let default = LOG_LEVELS
            .iter()
            .position(|level| Some(*level) == current.as_deref())
            .unwrap_or(2);
        let index = Select::with_theme(self.theme.as_ref())
            .with_prompt("Log level")
            .items(LOG_LEVELS)
            .default(default)
            .interact_on(&self.term)
            .map_err(prompt_error)?;
        Ok(LOG_LEVELS[index].to_string())
    }

    /// Asks for a line of text, with the current value as the default.
    fn text(&mut self, question: Question, prompt: &str) -> Result<String, ConfigureError> {
        self.text_checked(question, prompt, |_| Ok(()))
    }

    /// Like [`Wizard::text`], with a further check after the answer's own validation.
    fn text_checked(
        &mut self,
        question: Question,
        prompt: &str,
        mut check: impl FnMut(&str) -> Result<(), String>,
    ) -> Result<String, ConfigureError> {
        let mut input = Input::<String>::with_theme(self.theme.as_ref())
            .with_prompt(prompt)
            .allow_empty(question == Question::SsoApiScope)
            .validate_with(move |value: &String| -> Result<(), String> {
                settings::validate(question, value)?;
                check(value)
            });
        if let Some(default) = self.default_for(question).filter(|value| !value.is_empty()) {
            input = input.default(default);
        }
        let answer = input.interact_text_on(&self.term).map_err(prompt_error)?;
        let answer = settings::validate(question, &answer).map_err(|reason| {
            ConfigureError::InvalidAnswer {
                key: question.answers_key(),
                value: answer.clone(),
                origin: "the terminal".to_string(),
                reason,
            }
        })?;
        self.typed.insert(question, answer.clone());
        Ok(answer)
    }

    /// Asks for a secret without echo. When one is already set, Enter keeps it.
    fn secret(&mut self, question: Question, prompt: &str) -> Result<String, ConfigureError> {
        let current = self.default_for(question);
        let prompt = match current {
            Some(_) => format!("{prompt} (Enter keeps the current one)"),
            None => prompt.to_string(),
        };
        let typed = Password::with_theme(self.theme.as_ref())
            .with_prompt(prompt)
            .allow_empty_password(current.is_some())
            .validate_with(move |value: &String| -> Result<(), String> {
                if value.is_empty() {
                    return Ok(());
                }
                settings::validate(question, value).map(|_| ())
            })
            .interact_on(&self.term)
            .map_err(prompt_error)?;
        let secret = match current {
            Some(current) if typed.is_empty() => current,
            _ => typed,
        };
        self.typed.insert(question, secret.clone());
        Ok(secret)
    }

    /// What was typed earlier in this run, else what `.env` holds, else the built-in default.
    fn default_for(&self, question: Question) -> Option<String> {
        self.typed
            .get(&question)
            .or_else(|| self.defaults.get(&question))
            .cloned()
    }

    fn heading(&self, title: &str) -> Result<(), ConfigureError> {
        self.line("")?;
        self.line(&style(title).bold().to_string())
    }

    fn line(&self, text: &str) -> Result<(), ConfigureError> {
        self.term
            .write_line(text)
            .map_err(|source| ConfigureError::Prompt { source })
    }
}

fn prompt_error(error: dialoguer::Error) -> ConfigureError {
    ConfigureError::Prompt {
        source: error.into(),
    }
}
