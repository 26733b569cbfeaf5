//! Answers given ahead of time, for unattended installs: a YAML answers file and `JIM_SETUP_*`
//! environment variables. A variable overrides the same answer in the file.
//!
//! ```yaml
//! database: { mode: external, host: "db.example.org:5432", name: jim, username: jim,
//!             password: "...", testConnection: true }
//! sso: { authority: "https://login.example.org/realms/jim", clientId: jim-web, secret: "...",
//!        apiScope: jim-api, claimType: sub, mvAttribute: Subject Identifier,
//!        initialAdmin: "0f3c..." }
//! web: { port: 5200 }
//! log: { level: Information }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

use super::ConfigureError;

/// One question of the wizard, with the names it goes by in the answers file, in the
/// environment and in `.env`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Question {
    /// `bundled` or `external`.
    DatabaseMode,
    /// Host of an external database, optionally with `:port`.
    DatabaseHost,
    /// Name of the database.
    DatabaseName,
    /// Account JIM signs in with.
    DatabaseUsername,
    /// Password of that account.
    DatabasePassword,
    /// Whether to test the connection to an external database before writing.
    DatabaseTestConnection,
    /// Issuer URL of the OpenID Connect provider.
    SsoAuthority,
    /// Client id of the JIM registration.
    SsoClientId,
    /// Client secret of that registration.
    SsoSecret,
    /// Scope that grants access to the JIM API.
    SsoApiScope,
    /// Claim that identifies a user.
    SsoClaimType,
    /// Metaverse attribute that holds that claim's value.
    SsoMvAttribute,
    /// Claim value of the first administrator.
    SsoInitialAdmin,
    /// Host port of the web UI and API, optionally with an IPv4 address.
    WebPort,
    /// Log level of the services.
    LogLevel,
}

impl Question {
    /// Every question, in the order the wizard asks them.
    pub const ALL: [Question; 15] = [
        Self::DatabaseMode,
        Self::DatabaseHost,
        Self::DatabaseName,
        Self::DatabaseUsername,
        Self::DatabasePassword,
        Self::DatabaseTestConnection,
        Self::SsoAuthority,
        Self::SsoClientId,
        Self::SsoSecret,
        Self::SsoApiScope,
        Self::SsoClaimType,
        Self::SsoMvAttribute,
        Self::SsoInitialAdmin,
        Self::WebPort,
        Self::LogLevel,
    ];

    /// The dotted key in the answers file, such as `sso.clientId`.
    pub fn answers_key(self) -> &'static str {
        self.names().0
    }

    /// The environment variable that answers it, such as `JIM_SETUP_SSO_CLIENT_ID`.
    pub fn setup_variable(self) -> &'static str {
        self.names().1
    }

    /// The `.env` variable it fills, if it fills one directly.
    pub fn env_variable(self) -> Option<&'static str> {
        self.names().2
    }

    /// Whether the answer is a secret, never shown or logged.
    pub fn is_secret(self) -> bool {
        matches!(self, Self::DatabasePassword | Self::SsoSecret)
    }

    fn names(self) -> (&'static str, &'static str, Option<&'static str>) {
        match self {
            Self::DatabaseMode => ("database.mode", "JIM_SETUP_DB_MODE", None),
            Self::DatabaseHost => (
                "database.host",
                "JIM_SETUP_DB_HOST",
                Some("JIM_DB_HOSTNAME"),
            ),
            Self::DatabaseName => ("database.name", "JIM_SETUP_DB_NAME", Some("JIM_DB_NAME")),
            Self::DatabaseUsername => (
                "database.username",
                "JIM_SETUP_DB_USERNAME",
                Some("JIM_DB_USERNAME"),
            ),
            Self::DatabasePassword => (
                "database.password",
                "JIM_SETUP_DB_PASSWORD",
                Some("JIM_DB_PASSWORD"),
            ),
            Self::DatabaseTestConnection => (
                "database.testConnection",
                "JIM_SETUP_DB_TEST_CONNECTION",
                None,
            ),
            Self::SsoAuthority => (
                "sso.authority",
                "JIM_SETUP_SSO_AUTHORITY",
                Some("JIM_SSO_AUTHORITY"),
            ),
            Self::SsoClientId => (
                "sso.clientId",
                "JIM_SETUP_SSO_CLIENT_ID",
                Some("JIM_SSO_CLIENT_ID"),
            ),
            Self::SsoSecret => ("sso.secret", "JIM_SETUP_SSO_SECRET", Some("JIM_SSO_SECRET")),
            Self::SsoApiScope => (
                "sso.apiScope",
                "JIM_SETUP_SSO_API_SCOPE",
                Some("JIM_SSO_API_SCOPE"),
            ),
            Self::SsoClaimType => (
                "sso.claimType",
                "JIM_SETUP_SSO_CLAIM_TYPE",
                Some("JIM_SSO_CLAIM_TYPE"),
            ),
            Self::SsoMvAttribute => (
                "sso.mvAttribute",
                "JIM_SETUP_SSO_MV_ATTRIBUTE",
                Some("JIM_SSO_MV_ATTRIBUTE"),
            ),
            Self::SsoInitialAdmin => (
                "sso.initialAdmin",
                "JIM_SETUP_SSO_INITIAL_ADMIN",
                Some("JIM_SSO_INITIAL_ADMIN"),
            ),
            Self::WebPort => ("web.port", "JIM_SETUP_WEB_PORT", Some("JIM_WEB_PORT")),
            Self::LogLevel => ("log.level", "JIM_SETUP_LOG_LEVEL", Some("JIM_LOG_LEVEL")),
        }
    }
}

/// Where a value came from, named in error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The answers file at this path.
    AnswersFile(PathBuf),
    /// This `JIM_SETUP_*` environment variable.
    SetupVariable(&'static str),
    /// The existing `.env` (or its template) at this path.
    EnvFile(PathBuf),
    /// The installer's own default.
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AnswersFile(path) => write!(f, "`{}`", path.display()),
            Self::SetupVariable(name) => write!(f, "{name}"),
            Self::EnvFile(path) => write!(f, "`{}`", path.display()),
            Self::Default => write!(f, "the default"),
        }
    }
}

/// One answer and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The text of the answer, not yet validated.
    pub value: String,
    /// Where it came from.
    pub origin: Origin,
}

/// The answers given ahead of time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers {
    values: BTreeMap<Question, Answer>,
    file: Option<PathBuf>,
}

impl Answers {
    /// Reads the answers file (if any) and then the `JIM_SETUP_*` entries of `variables`, which
    /// override the file. Variables that are not questions of this wizard are ignored: other
    /// steps of the installer read them.
    pub fn load(
        file: Option<&Path>,
        variables: &BTreeMap<String, String>,
    ) -> Result<Self, ConfigureError> {
        let mut answers = Self {
            values: BTreeMap::new(),
            file: file.map(Path::to_path_buf),
        };
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigureError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            answers.add_document(path, &text)?;
        }
        for question in Question::ALL {
            if let Some(value) = variables.get(question.setup_variable()) {
                answers.values.insert(
                    question,
                    Answer {
                        value: value.clone(),
                        origin: Origin::SetupVariable(question.setup_variable()),
                    },
                );
            }
        }
        Ok(answers)
    }

    /// Whether nothing was answered at all.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The answer to `question`, if one was given.
    pub fn get(&self, question: Question) -> Option<&Answer> {
        self.values.get(&question)
    }

    /// The answers file, if one was given.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    fn add_document(&mut self, path: &Path, text: &str) -> Result<(), ConfigureError> {
        let answers_error = |source| ConfigureError::AnswersFile {
            path: path.to_path_buf(),
            source,
        };
        // An empty file (or one holding only comments) is valid: it answers nothing.
        let is_empty = text
            .lines()
            .all(|line| line.trim().is_empty() || line.trim_start().starts_with('#'));
        if is_empty {
            return Ok(());
        }
        // Read straight from the text, so that errors carry the section, line and column.
        let document: Document = serde_yaml::from_str(text).map_err(answers_error)?;

        let database = document.database.unwrap_or_default();
        let sso = document.sso.unwrap_or_default();
        let pairs = [
            (Question::DatabaseMode, database.mode),
            (Question::DatabaseHost, database.host),
            (Question::DatabaseName, database.name),
            (Question::DatabaseUsername, database.username),
            (Question::DatabasePassword, database.password),
            (Question::DatabaseTestConnection, database.test_connection),
            (Question::SsoAuthority, sso.authority),
            (Question::SsoClientId, sso.client_id),
            (Question::SsoSecret, sso.secret),
            (Question::SsoApiScope, sso.api_scope),
            (Question::SsoClaimType, sso.claim_type),
            (Question::SsoMvAttribute, sso.mv_attribute),
            (Question::SsoInitialAdmin, sso.initial_admin),
            (Question::WebPort, document.web.unwrap_or_default().port),
            (Question::LogLevel, document.log.unwrap_or_default().level),
        ];
        for (question, value) in pairs {
            if let Some(value) = value {
                self.values.insert(
                    question,
                    Answer {
                        value,
                        origin: Origin::AnswersFile(path.to_path_buf()),
                    },
                );
            }
        }
        Ok(())
    }
}

/// The answers file as written. Unknown keys are refused, so a misspelt key is never ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    database: Option<DatabaseSection>,
    sso: Option<SsoSection>,
    web: Option<WebSection>,
    log: Option<LogSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DatabaseSection {
    #[serde(default, deserialize_with = "scalar_text")]
    mode: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    host: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    username: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    password: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    test_connection: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SsoSection {
    #[serde(default, deserialize_with = "scalar_text")]
    authority: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    client_id: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    secret: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    api_scope: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    claim_type: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    mv_attribute: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    initial_admin: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebSection {
    #[serde(default, deserialize_with = "scalar_text")]
    port: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogSection {
    #[serde(default, deserialize_with = "scalar_text")]
    level: Option<String>,
}

/// Takes a string, number or boolean as its text, so that `port: 5200` and a password such as
/// `password: 123456` need no quotes. `~` (null) counts as no answer.
fn scalar_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    use serde::de::Error;
    match serde_yaml::Value::deserialize(deserializer)? {
        serde_yaml::Value::Null => Ok(None),
        serde_yaml::Value::String(text) => Ok(Some(text)),
        serde_yaml::Value::Number(number) => Ok(Some(number.to_string())),
        serde_yaml::Value::Bool(flag) => Ok(Some(flag.to_string())),
        _ => Err(D::Error::custom(
            "expected a single value (text or a number), not a list or a map",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str, variables: &[(&str, &str)]) -> Result<Answers, ConfigureError> {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let path = folder.path().join("answers.yml");
        std::fs::write(&path, text).expect("write answers");
        let variables = variables
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        Answers::load(Some(&path), &variables)
    }

    #[test]
    fn file_answers_are_read_with_their_origin() {
        let answers = load_text(
            "database: {mode: external, host: db:5433, password: 123456}\n\
             sso: {clientId: jim-web, mvAttribute: Subject Identifier}\n\
             web: {port: 8080}\nlog: {level: Debug}\n",
            &[],
        )
        .expect("valid answers");
        let value = |question| answers.get(question).map(|answer| answer.value.as_str());
        assert_eq!(value(Question::DatabaseMode), Some("external"));
        assert_eq!(value(Question::DatabasePassword), Some("123456"));
        assert_eq!(value(Question::SsoClientId), Some("jim-web"));
        assert_eq!(value(Question::SsoMvAttribute), Some("Subject Identifier"));
        assert_eq!(value(Question::WebPort), Some("8080"));
        assert_eq!(value(Question::SsoAuthority), None);
        assert!(matches!(
            answers.get(Question::LogLevel).map(|answer| &answer.origin),
            Some(Origin::AnswersFile(_))
        ));
    }

    #[test]
    fn setup_variables_override_the_file() {
        let answers = load_text(
            "web: {port: 8080}\n",
            &[
                ("JIM_SETUP_WEB_PORT", "9090"),
                ("JIM_SETUP_AUTO_START", "true"),
            ],
        )
        .expect("valid answers");
        let port = answers.get(Question::WebPort).expect("a port");
        assert_eq!(port.value, "9090");
        assert_eq!(port.origin, Origin::SetupVariable("JIM_SETUP_WEB_PORT"));
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let error = load_text("sso: {clientid: x}\n", &[]).expect_err("misspelt key");
        let chain = format!(
            "{error} / {}",
            std::error::Error::source(&error).expect("cause")
        );
        assert!(chain.contains("answers.yml"), "{chain}");
        assert!(chain.contains("clientid"), "{chain}");

        let error = load_text("webb: {port: 1}\n", &[]).expect_err("unknown section");
        let cause = std::error::Error::source(&error)
            .expect("cause")
            .to_string();
        assert!(cause.contains("webb"), "{cause}");
    }

    #[test]
    fn empty_file_and_no_variables_mean_no_answers() {
        assert!(load_text("", &[]).expect("empty is valid").is_empty());
        assert!(
            Answers::load(None, &BTreeMap::new())
                .expect("nothing")
                .is_empty()
        );
    }

    #[test]
    fn lists_are_not_answers() {
        let error = load_text("web: {port: [1, 2]}\n", &[]).expect_err("a list");
        assert!(matches!(error, ConfigureError::AnswersFile { .. }));
    }
}
