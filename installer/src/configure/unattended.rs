//! Settings from answers given ahead of time. Each value comes from the first of: the answer
//! (`JIM_SETUP_*` before the answers file), the existing `.env`, the installer's default. A value
//! that none of them gives stops the run with the key, the file and the variable to set.

use std::path::Path;

use super::ConfigureError;
use super::answers::{Answer, Answers, Origin, Question};
use super::env_file::EnvFile;
use super::settings::{self, BUNDLED_DATABASE_HOST, DatabaseMode, Settings};

/// The settings and what else the answers asked for.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub(crate) settings: Settings,
    /// Whether to test the connection to the external database before writing.
    pub(crate) test_connection: bool,
}

/// Resolves every setting from `answers`, then `env` (read from `env_path`), then defaults.
pub(crate) fn resolve(
    answers: &Answers,
    env: &EnvFile,
    env_path: &Path,
) -> Result<Resolved, ConfigureError> {
    let resolver = Resolver {
        answers,
        env,
        env_path,
    };

    // An answered host with no answered mode means an external database.
    let database_mode = match (
        answers.get(Question::DatabaseMode),
        answers.get(Question::DatabaseHost),
    ) {
        (None, Some(_)) => DatabaseMode::External,
        _ => match resolver.require(Question::DatabaseMode)?.as_str() {
            "external" => DatabaseMode::External,
            _ => DatabaseMode::Bundled,
        },
    };

    let (database_host, database_password) = match database_mode {
        DatabaseMode::Bundled => {
            if let Some(answer) = answers.get(Question::DatabaseHost)
                && answer.value.trim() != BUNDLED_DATABASE_HOST
            {
                return Err(invalid(
                    Question::DatabaseHost,
                    answer,
                    "a database host needs `database.mode: external` (JIM_SETUP_DB_MODE=external)"
                        .to_string(),
                ));
            }
            let password = match resolver.pick(Question::DatabasePassword)? {
                Some(password) => password,
                None => settings::generate_password(),
            };
            (BUNDLED_DATABASE_HOST.to_string(), password)
        }
        DatabaseMode::External => (
            resolver.require(Question::DatabaseHost)?,
            resolver.require(Question::DatabasePassword)?,
        ),
    };

    let web_port = resolver.require(Question::WebPort)?;
    let web_port = web_port
        .parse()
        .map_err(|reason| ConfigureError::InvalidAnswer {
            key: Question::WebPort.answers_key(),
            value: web_port,
            origin: "the answers".to_string(),
            reason,
        })?;

    let settings = Settings {
        database_mode,
        database_host,
        database_name: resolver.require(Question::DatabaseName)?,
        database_username: resolver.require(Question::DatabaseUsername)?,
        database_password,
        sso_authority: resolver.require(Question::SsoAuthority)?,
        sso_client_id: resolver.require(Question::SsoClientId)?,
        sso_secret: resolver.require(Question::SsoSecret)?,
        sso_api_scope: resolver.require(Question::SsoApiScope)?,
        sso_claim_type: resolver.require(Question::SsoClaimType)?,
        sso_mv_attribute: resolver.require(Question::SsoMvAttribute)?,
        sso_initial_admin: resolver.require(Question::SsoInitialAdmin)?,
        web_port,
        log_level: resolver.require(Question::LogLevel)?,
    };
    let test_connection = database_mode == DatabaseMode::External
        && resolver.require(Question::DatabaseTestConnection)? == "true";
    Ok(Resolved {
        settings,
        test_connection,
    })
}

struct Resolver<'a> {
    answers: &'a Answers,
    env: &'a EnvFile,
    env_path: &'a Path,
}

impl Resolver<'_> {
    /// The checked value for `question`, or `None` when nothing gives one.
    fn pick(&self, question: Question) -> Result<Option<String>, ConfigureError> {
        if let Some(answer) = self.answers.get(question) {
            return settings::validate(question, &answer.value)
                .map(Some)
                .map_err(|reason| invalid(question, answer, reason));
        }
        if let Some(value) = settings::existing_value(self.env, question) {
            let answer = Answer {
                value,
                origin: Origin::EnvFile(self.env_path.to_path_buf()),
            };
            return settings::validate(question, &answer.value)
                .map(Some)
                .map_err(|reason| invalid(question, &answer, reason));
        }
        Ok(settings::builtin_default(question))
    }

    /// Like [`Resolver::pick`], but a missing value is an error naming where to give it.
    fn require(&self, question: Question) -> Result<String, ConfigureError> {
        self.pick(question)?
            .ok_or_else(|| ConfigureError::MissingAnswer {
                key: question.answers_key(),
                variable: question.env_variable().unwrap_or("no variable"),
                setup_variable: question.setup_variable(),
                answers_file: self.answers.file().map(Path::to_path_buf),
            })
    }
}

/// The error for a refused answer; a secret's value is masked.
fn invalid(question: Question, answer: &Answer, reason: String) -> ConfigureError {
    let value = if question.is_secret() {
        "********".to_string()
    } else {
        answer.value.clone()
    };
    ConfigureError::InvalidAnswer {
        key: question.answers_key(),
        value,
        origin: answer.origin.to_string(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const SSO: [(&str, &str); 4] = [
        (
            "JIM_SETUP_SSO_AUTHORITY",
            "https://idp.example.org/realms/jim",
        ),
        ("JIM_SETUP_SSO_CLIENT_ID", "jim-web"),
        ("JIM_SETUP_SSO_SECRET", "client-secret"),
        ("JIM_SETUP_SSO_INITIAL_ADMIN", "admin-sub"),
    ];

    fn answers(pairs: &[(&str, &str)]) -> Answers {
        let variables: BTreeMap<String, String> = pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        Answers::load(None, &variables).expect("answers from variables")
    }

    fn resolve_text(env: &str, pairs: &[(&str, &str)]) -> Result<Resolved, ConfigureError> {
        resolve(
            &answers(pairs),
            &EnvFile::parse(env),
            Path::new("/install/compose/.env"),
        )
    }

    #[test]
    fn bundled_database_gets_a_generated_password_and_defaults() {
        let resolved = resolve_text("JIM_DB_PASSWORD=CHANGE_ME\n", &SSO).expect("complete");
        let settings = resolved.settings;
        assert_eq!(settings.database_mode, DatabaseMode::Bundled);
        assert_eq!(settings.database_host, "jim.database");
        assert_eq!(settings.database_name, "jim");
        assert_eq!(settings.database_password.len(), 32);
        assert_eq!(settings.sso_claim_type, "sub");
        assert_eq!(settings.sso_mv_attribute, "Subject Identifier");
        assert_eq!(settings.web_port.port, 5200);
        assert_eq!(settings.log_level, "Information");
    }

    #[test]
    fn existing_password_is_kept() {
        let resolved = resolve_text("JIM_DB_PASSWORD=kept\n", &SSO).expect("complete");
        assert_eq!(resolved.settings.database_password, "kept");
    }

    #[test]
    fn missing_required_answer_names_the_key_and_variable() {
        let error = resolve_text("", &SSO[..3]).expect_err("no initial admin");
        assert!(error.to_string().contains("sso.initialAdmin"), "{error}");
        let hint = error.hint().expect("a hint");
        assert!(hint.contains("JIM_SETUP_SSO_INITIAL_ADMIN"), "{hint}");
    }

    #[test]
    fn a_host_alone_means_external_and_needs_a_password() {
        let mut pairs = SSO.to_vec();
        pairs.push(("JIM_SETUP_DB_HOST", "db.example.org:5433"));
        let error = resolve_text("JIM_DB_PASSWORD=CHANGE_ME\n", &pairs).expect_err("no password");
        assert!(error.to_string().contains("database.password"), "{error}");

        pairs.push(("JIM_SETUP_DB_PASSWORD", "p"));
        let resolved = resolve_text("", &pairs).expect("complete");
        assert_eq!(resolved.settings.database_mode, DatabaseMode::External);
        assert_eq!(resolved.settings.database_host, "db.example.org:5433");
    }

    #[test]
    fn invalid_values_name_their_origin_and_hide_secrets() {
        let mut pairs = SSO.to_vec();
        pairs.push(("JIM_SETUP_LOG_LEVEL", "Loud"));
        let error = resolve_text("", &pairs).expect_err("bad level");
        let message = error.to_string();
        assert!(
            message.contains("`Loud`") && message.contains("JIM_SETUP_LOG_LEVEL"),
            "{message}"
        );

        let error = resolve_text("JIM_SSO_AUTHORITY=idp\n", &SSO[1..]).expect_err("bad URL");
        assert!(
            error.to_string().contains("/install/compose/.env"),
            "{error}"
        );

        let mut pairs = SSO.to_vec();
        pairs.push(("JIM_SETUP_DB_PASSWORD", "hidden\nvalue"));
        let error = resolve_text("", &pairs).expect_err("bad password");
        assert!(!error.to_string().contains("hidden"), "{error}");
    }

    #[test]
    fn bundled_mode_refuses_an_external_host() {
        let mut pairs = SSO.to_vec();
        pairs.push(("JIM_SETUP_DB_MODE", "bundled"));
        pairs.push(("JIM_SETUP_DB_HOST", "db.example.org"));
        let error = resolve_text("", &pairs).expect_err("conflicting answers");
        assert!(error.to_string().contains("database.host"), "{error}");
    }
}
