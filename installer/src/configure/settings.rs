//! The settings the wizard writes: how each answer is checked, what it defaults to, and how the
//! result lands in `.env`.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use rand::Rng;
use rand::distr::Alphanumeric;

use super::answers::Question;
use super::env_file::EnvFile;

/// `JIM_DB_HOSTNAME` of the database container that ships with JIM (compose profile `with-db`).
pub const BUNDLED_DATABASE_HOST: &str = "jim.database";

/// The web port when nothing else is given.
pub const DEFAULT_WEB_PORT: u16 = 5200;

/// The log levels the services accept, from the most to the least detailed.
pub const LOG_LEVELS: [&str; 6] = [
    "Verbose",
    "Debug",
    "Information",
    "Warning",
    "Error",
    "Fatal",
];

/// Values that a template carries in place of a real password.
const PASSWORD_PLACEHOLDERS: [&str; 2] = ["CHANGE_ME", "your_secure_password_here"];

/// The `.env` variables whose values are secrets: never shown, never logged.
pub const SECRET_VARIABLES: [&str; 3] = [
    "JIM_DB_PASSWORD",
    "JIM_SSO_SECRET",
    INFRASTRUCTURE_API_KEY_VARIABLE,
];

/// The variable of the optional administrator API key for automation.
pub const INFRASTRUCTURE_API_KEY_VARIABLE: &str = "JIM_INFRASTRUCTURE_API_KEY";

/// Where JIM's database runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseMode {
    /// The `jim.database` container of the stack; compose runs with `--profile with-db`.
    Bundled,
    /// A PostgreSQL server that the site runs itself.
    External,
}

impl DatabaseMode {
    /// `bundled` or `external`, as answers spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bundled => "bundled",
            Self::External => "external",
        }
    }
}

impl fmt::Display for DatabaseMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `env` points JIM at the bundled database: `JIM_DB_HOSTNAME` is `jim.database`, or is
/// unset, in which case the compose files fall back to `jim.database` too.
pub fn database_mode(env: &EnvFile) -> DatabaseMode {
    match env.get("JIM_DB_HOSTNAME").map(str::trim) {
        None | Some("") | Some(BUNDLED_DATABASE_HOST) => DatabaseMode::Bundled,
        Some(_) => DatabaseMode::External,
    }
}

/// The host port for `jim.web`, with an optional IPv4 address to publish it on only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebPort {
    /// The address to publish on; `None` publishes on every address.
    pub address: Option<Ipv4Addr>,
    /// The port number.
    pub port: u16,
}

impl fmt::Display for WebPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.address {
            Some(address) => write!(f, "{address}:{}", self.port),
            None => write!(f, "{}", self.port),
        }
    }
}

impl FromStr for WebPort {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (address, port) = match text.rsplit_once(':') {
            Some((address, port)) => {
                let address = address.parse::<Ipv4Addr>().map_err(|_| {
                    "expected a port such as 5200, or an IPv4 address and port such as \
                     127.0.0.1:5200"
                        .to_string()
                })?;
                (Some(address), port)
            }
            None => (None, text),
        };
        match port.parse::<u16>() {
            Ok(port) if port > 0 => Ok(Self { address, port }),
            _ => Err("expected a port number from 1 to 65535".to_string()),
        }
    }
}

/// Everything the wizard decides, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Bundled or external database.
    pub database_mode: DatabaseMode,
    /// `JIM_DB_HOSTNAME`: `jim.database`, or the external host with an optional `:port`.
    pub database_host: String,
    /// `JIM_DB_NAME`.
    pub database_name: String,
    /// `JIM_DB_USERNAME`.
    pub database_username: String,
    /// `JIM_DB_PASSWORD`.
    pub database_password: String,
    /// `JIM_SSO_AUTHORITY`.
    pub sso_authority: String,
    /// `JIM_SSO_CLIENT_ID`.
    pub sso_client_id: String,
    /// `JIM_SSO_SECRET`.
    pub sso_secret: String,
    /// `JIM_SSO_API_SCOPE`; may be empty.
    pub sso_api_scope: String,
    /// `JIM_SSO_CLAIM_TYPE`.
    pub sso_claim_type: String,
    /// `JIM_SSO_MV_ATTRIBUTE`.
    pub sso_mv_attribute: String,
    /// `JIM_SSO_INITIAL_ADMIN`.
    pub sso_initial_admin: String,
    /// `JIM_WEB_PORT`.
    pub web_port: WebPort,
    /// `JIM_LOG_LEVEL`, spelt as the services expect.
    pub log_level: String,
}

impl Settings {
    /// The `.env` variables and values these settings write, in the order of the template.
    pub fn entries(&self) -> Vec<(&'static str, String)> {
        vec![
            ("JIM_DB_HOSTNAME", self.database_host.clone()),
            ("JIM_DB_NAME", self.database_name.clone()),
            ("JIM_DB_USERNAME", self.database_username.clone()),
            ("JIM_DB_PASSWORD", self.database_password.clone()),
            ("JIM_LOG_LEVEL", self.log_level.clone()),
            ("JIM_SSO_AUTHORITY", self.sso_authority.clone()),
            ("JIM_SSO_CLIENT_ID", self.sso_client_id.clone()),
            ("JIM_SSO_SECRET", self.sso_secret.clone()),
            ("JIM_SSO_API_SCOPE", self.sso_api_scope.clone()),
            ("JIM_SSO_CLAIM_TYPE", self.sso_claim_type.clone()),
            ("JIM_SSO_MV_ATTRIBUTE", self.sso_mv_attribute.clone()),
            ("JIM_SSO_INITIAL_ADMIN", self.sso_initial_admin.clone()),
            ("JIM_WEB_PORT", self.web_port.to_string()),
        ]
    }
}

/// The value `env` already holds for `question`, when it is a real value: empty values and
/// template placeholders do not count, and the host counts only for an external database.
pub fn existing_value(env: &EnvFile, question: Question) -> Option<String> {
    let value = match question {
        Question::DatabaseMode => return Some(database_mode(env).as_str().to_string()),
        Question::DatabaseTestConnection => return None,
        Question::DatabaseHost if database_mode(env) == DatabaseMode::Bundled => return None,
        Question::SsoApiScope => return env.get("JIM_SSO_API_SCOPE").map(str::to_string),
        other => env.get(other.env_variable()?)?,
    };
    if value.is_empty()
        || (question == Question::DatabasePassword && PASSWORD_PLACEHOLDERS.contains(&value))
    {
        return None;
    }
    Some(value.to_string())
}

/// The installer's own default for `question`, if it has one. Questions without a default must
/// be answered (the bundled database's password is generated instead).
pub fn builtin_default(question: Question) -> Option<String> {
    let value = match question {
        Question::DatabaseMode => DatabaseMode::Bundled.as_str(),
        Question::DatabaseName | Question::DatabaseUsername => "jim",
        Question::DatabaseTestConnection => "false",
        Question::SsoApiScope => "",
        Question::SsoClaimType => "sub",
        Question::SsoMvAttribute => "Subject Identifier",
        Question::LogLevel => "Information",
        Question::WebPort => return Some(DEFAULT_WEB_PORT.to_string()),
        Question::DatabaseHost
        | Question::DatabasePassword
        | Question::SsoAuthority
        | Question::SsoClientId
        | Question::SsoSecret
        | Question::SsoInitialAdmin => return None,
    };
    Some(value.to_string())
}

/// Checks the answer to `question` and returns it in the form `.env` takes, or the reason it is
/// refused.
pub fn validate(question: Question, value: &str) -> Result<String, String> {
    if value.chars().any(char::is_control) {
        return Err("must be one line of text without control characters".to_string());
    }
    let trimmed = value.trim();
    match question {
        Question::DatabaseMode => match trimmed.to_ascii_lowercase().as_str() {
            "bundled" => Ok("bundled".to_string()),
            "external" => Ok("external".to_string()),
            _ => Err("expected `bundled` or `external`".to_string()),
        },
        Question::DatabaseTestConnection => match trimmed.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Ok("true".to_string()),
            "false" | "no" | "0" => Ok("false".to_string()),
            _ => Err("expected `true` or `false`".to_string()),
        },
        Question::DatabaseHost => validate_host(trimmed),
        Question::SsoAuthority => validate_url(trimmed),
        Question::WebPort => trimmed.parse::<WebPort>().map(|port| port.to_string()),
        Question::LogLevel => LOG_LEVELS
            .iter()
            .find(|level| level.eq_ignore_ascii_case(trimmed))
            .map(|level| level.to_string())
            .ok_or_else(|| format!("expected one of {}", LOG_LEVELS.join(", "))),
        Question::SsoApiScope => Ok(trimmed.to_string()),
        // Secrets are kept exactly as typed: leading or trailing spaces may be part of them.
        Question::DatabasePassword | Question::SsoSecret if value.is_empty() => {
            Err("must not be empty".to_string())
        }
        Question::DatabasePassword | Question::SsoSecret => Ok(value.to_string()),
        Question::DatabaseName
        | Question::DatabaseUsername
        | Question::SsoClientId
        | Question::SsoClaimType
        | Question::SsoMvAttribute
        | Question::SsoInitialAdmin => {
            if trimmed.is_empty() {
                Err("must not be empty".to_string())
            } else {
                Ok(trimmed.to_string())
            }
        }
    }
}

/// A host name or IPv4 address with an optional `:port`, as the services read `JIM_DB_HOSTNAME`.
fn validate_host(value: &str) -> Result<String, String> {
    let expected = "expected a host name or IPv4 address with an optional `:port`, \
                    such as `db.example.org` or `10.0.0.5:5433`";
    let (host, port) = match value.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (value, None),
    };
    let host_is_valid = !host.is_empty()
        && !host.starts_with(['-', '.'])
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if !host_is_valid {
        return Err(expected.to_string());
    }
    if host == BUNDLED_DATABASE_HOST {
        return Err(format!(
            "`{BUNDLED_DATABASE_HOST}` is the bundled database; choose the bundled mode for it"
        ));
    }
    if let Some(port) = port {
        match port.parse::<u16>() {
            Ok(number) if number > 0 => {}
            _ => return Err(format!("`{port}` is not a port from 1 to 65535")),
        }
    }
    Ok(value.to_string())
}

/// An `http://` or `https://` URL with a host.
fn validate_url(value: &str) -> Result<String, String> {
    let lower = value.to_ascii_lowercase();
    let rest = ["https://", "http://"]
        .iter()
        .find_map(|scheme| lower.strip_prefix(scheme).map(|_| &value[scheme.len()..]))
        .ok_or_else(|| "expected an http:// or https:// URL".to_string())?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || value.contains(char::is_whitespace) {
        return Err("expected a URL with a host and no spaces".to_string());
    }
    Ok(value.to_string())
}

/// A new password for the bundled database: 32 letters and digits from the operating system's
/// random source (through the thread's cryptographic generator).
pub fn generate_password() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

/// A new infrastructure API key: `jim_ak_` and 64 lowercase hexadecimal characters.
pub fn generate_api_key() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    format!("jim_ak_{}", hex::encode(bytes))
}

/// One line of the summary shown before writing (or printed by `--check`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SummaryEntry {
    /// The `.env` variable.
    pub key: String,
    /// Its value as shown: secrets masked, `(empty)` for an empty value.
    pub value: String,
    /// Whether the value differs from the one in the current `.env`.
    pub changed: bool,
}

/// How a value appears in summaries: secrets are masked, empty values say so.
pub fn display_value(variable: &str, value: &str) -> String {
    if value.is_empty() {
        "(empty)".to_string()
    } else if SECRET_VARIABLES.contains(&variable) {
        "********".to_string()
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_mode_follows_the_host() {
        let mode = |text| database_mode(&EnvFile::parse(text));
        assert_eq!(
            mode("JIM_DB_HOSTNAME=jim.database\n"),
            DatabaseMode::Bundled
        );
        assert_eq!(mode("# nothing\n"), DatabaseMode::Bundled);
        assert_eq!(mode("JIM_DB_HOSTNAME=db:5433\n"), DatabaseMode::External);
    }

    #[test]
    fn hosts_are_checked() {
        assert!(validate(Question::DatabaseHost, "db.example.org").is_ok());
        assert!(validate(Question::DatabaseHost, "10.0.0.5:5433").is_ok());
        for bad in [
            "", "db:0", "db:99999", "db:x", "user@db", "db/x", "-db", "::1",
        ] {
            assert!(
                validate(Question::DatabaseHost, bad).is_err(),
                "`{bad}` accepted"
            );
        }
    }

    #[test]
    fn authority_must_be_an_http_url() {
        assert!(
            validate(
                Question::SsoAuthority,
                "https://login.example.org/realms/jim"
            )
            .is_ok()
        );
        assert!(validate(Question::SsoAuthority, "HTTP://idp:8080").is_ok());
        for bad in ["login.example.org", "https://", "ftp://x", "https://a b"] {
            assert!(
                validate(Question::SsoAuthority, bad).is_err(),
                "`{bad}` accepted"
            );
        }
    }

    #[test]
    fn web_port_takes_an_optional_ipv4_address() {
        assert_eq!(
            validate(Question::WebPort, " 8080 "),
            Ok("8080".to_string())
        );
        assert_eq!(
            validate(Question::WebPort, "127.0.0.1:5200"),
            Ok("127.0.0.1:5200".to_string())
        );
        for bad in ["0", "65536", "web", "[::1]:5200", "localhost:5200"] {
            assert!(
                validate(Question::WebPort, bad).is_err(),
                "`{bad}` accepted"
            );
        }
    }

    #[test]
    fn log_levels_are_spelt_as_the_services_expect() {
        assert_eq!(
            validate(Question::LogLevel, "debug"),
            Ok("Debug".to_string())
        );
        assert!(validate(Question::LogLevel, "Trace").is_err());
    }

    #[test]
    fn secrets_keep_their_spaces_but_not_line_breaks() {
        assert_eq!(
            validate(Question::SsoSecret, " a b "),
            Ok(" a b ".to_string())
        );
        assert!(validate(Question::SsoSecret, "").is_err());
        assert!(validate(Question::DatabasePassword, "a\nb").is_err());
    }

    #[test]
    fn placeholders_and_empty_values_are_not_existing_values() {
        let env = EnvFile::parse("JIM_DB_PASSWORD=CHANGE_ME\nJIM_SSO_AUTHORITY=\nJIM_DB_NAME=x\n");
        assert_eq!(existing_value(&env, Question::DatabasePassword), None);
        assert_eq!(existing_value(&env, Question::SsoAuthority), None);
        assert_eq!(
            existing_value(&env, Question::DatabaseName),
            Some("x".to_string())
        );
        assert_eq!(existing_value(&env, Question::DatabaseHost), None);
    }

    #[test]
    fn generated_secrets_have_the_documented_shape() {
        let password = generate_password();
        assert_eq!(password.len(), 32);
        assert!(password.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(password, generate_password());

        let key = generate_api_key();
        let hex = key.strip_prefix("jim_ak_").expect("the prefix");
        assert_eq!(hex.len(), 64);
        assert!(hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
    }

    #[test]
    fn summaries_mask_secrets() {
        assert_eq!(display_value("JIM_SSO_SECRET", "s3cret"), "********");
        assert_eq!(display_value("JIM_SSO_CLIENT_ID", "jim-web"), "jim-web");
        assert_eq!(display_value("JIM_SSO_API_SCOPE", ""), "(empty)");
    }
}
