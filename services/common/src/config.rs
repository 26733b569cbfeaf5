//! Configuration from the upstream `JIM_*` environment variables.
//!
//! Every value is validated at start; a missing or malformed one stops the service with one
//! line that names the variable and says what is expected.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// A configuration value that is missing or malformed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("`{name}` is not set; expected {expected}")]
    Missing {
        name: &'static str,
        expected: &'static str,
    },
    #[error("`{name}` has the value `{value}`; expected {expected}")]
    Malformed {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// Reads variables by name; the process environment in production, a map in tests.
pub trait Environment {
    fn get(&self, name: &str) -> Option<String>;
}

/// The environment of the running process.
pub struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Environment for HashMap<&str, &str> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).map(|value| value.to_string())
    }
}

/// Returns the value of `name`, treating an empty value like a missing one.
fn optional(env: &dyn Environment, name: &str) -> Option<String> {
    env.get(name).filter(|value| !value.trim().is_empty())
}

fn required(
    env: &dyn Environment,
    name: &'static str,
    expected: &'static str,
) -> Result<String, ConfigError> {
    optional(env, name).ok_or(ConfigError::Missing { name, expected })
}

/// Where and how to reach PostgreSQL.
#[derive(Clone)]
pub struct DatabaseConfig {
    pub host: String,
    pub port: u16,
    pub name: String,
    pub username: String,
    pub password: String,
    /// How long a service keeps retrying an unreachable database before it exits.
    pub startup_wait: Duration,
}

impl fmt::Debug for DatabaseConfig {
    // The password never reaches a log line, not even at Verbose.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("DatabaseConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("name", &self.name)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl DatabaseConfig {
    /// Reads `JIM_DB_HOSTNAME` (host, or host:port), `JIM_DB_NAME`, `JIM_DB_USERNAME`,
    /// `JIM_DB_PASSWORD` and `JIM_DB_STARTUP_WAIT_SECONDS` (default 300).
    pub fn from_env(env: &dyn Environment) -> Result<Self, ConfigError> {
        let hostname = required(env, "JIM_DB_HOSTNAME", "a host name or host:port")?;
        let (host, port) = parse_host_port(&hostname)?;
        let name = required(env, "JIM_DB_NAME", "the name of the JIM database")?;
        let username = required(env, "JIM_DB_USERNAME", "the database user name")?;
        let password = required(env, "JIM_DB_PASSWORD", "the database password")?;
        let startup_wait = match optional(env, "JIM_DB_STARTUP_WAIT_SECONDS") {
            None => Duration::from_secs(300),
            Some(value) => Duration::from_secs(parse_number(
                "JIM_DB_STARTUP_WAIT_SECONDS",
                &value,
                "a whole number of seconds, such as 300",
            )?),
        };
        Ok(Self {
            host,
            port,
            name,
            username,
            password,
            startup_wait,
        })
    }

    /// The address shown in messages, without credentials.
    pub fn display_address(&self) -> String {
        format!("{}:{}/{}", self.host, self.port, self.name)
    }
}

fn parse_number(
    name: &'static str,
    value: &str,
    expected: &'static str,
) -> Result<u64, ConfigError> {
    value.trim().parse().map_err(|_| ConfigError::Malformed {
        name,
        value: value.to_string(),
        expected,
    })
}

fn parse_host_port(value: &str) -> Result<(String, u16), ConfigError> {
    let malformed = || ConfigError::Malformed {
        name: "JIM_DB_HOSTNAME",
        value: value.to_string(),
        expected: "a host name or host:port, such as `jim.database` or `db.example.org:5433`",
    };
    let value = value.trim();
    if value.contains('/') || value.contains('@') || value.contains(char::is_whitespace) {
        return Err(malformed());
    }
    match value.rsplit_once(':') {
        None => Ok((value.to_string(), 5432)),
        Some((host, port)) => {
            let port: u16 = port.parse().map_err(|_| malformed())?;
            if host.is_empty() || port == 0 {
                return Err(malformed());
            }
            Ok((host.to_string(), port))
        }
    }
}

/// The log levels by their upstream names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Verbose,
    Debug,
    Information,
    Warning,
    Error,
    Fatal,
}

impl LogLevel {
    const EXPECTED: &'static str = "one of Verbose, Debug, Information, Warning, Error, Fatal";

    fn parse(value: &str) -> Result<Self, ConfigError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "verbose" => Ok(Self::Verbose),
            "debug" => Ok(Self::Debug),
            "information" => Ok(Self::Information),
            "warning" => Ok(Self::Warning),
            "error" => Ok(Self::Error),
            "fatal" => Ok(Self::Fatal),
            _ => Err(ConfigError::Malformed {
                name: "JIM_LOG_LEVEL",
                value: value.to_string(),
                expected: Self::EXPECTED,
            }),
        }
    }

    /// The `tracing` level this name maps to; `Fatal` keeps only errors, as tracing has no
    /// level above error.
    pub fn tracing_level(self) -> tracing::Level {
        match self {
            Self::Verbose => tracing::Level::TRACE,
            Self::Debug => tracing::Level::DEBUG,
            Self::Information => tracing::Level::INFO,
            Self::Warning => tracing::Level::WARN,
            Self::Error | Self::Fatal => tracing::Level::ERROR,
        }
    }
}

/// Where and how much to log.
#[derive(Debug, Clone)]
pub struct LogConfig {
    pub level: LogLevel,
    pub path: PathBuf,
    pub requests: bool,
}

impl LogConfig {
    /// Reads `JIM_LOG_LEVEL`, `JIM_LOG_PATH` and `JIM_LOG_REQUESTS` (default false).
    pub fn from_env(env: &dyn Environment) -> Result<Self, ConfigError> {
        let level = LogLevel::parse(&required(env, "JIM_LOG_LEVEL", LogLevel::EXPECTED)?)?;
        let path = PathBuf::from(required(env, "JIM_LOG_PATH", "a folder for the log files")?);
        if !path.is_absolute() {
            return Err(ConfigError::Malformed {
                name: "JIM_LOG_PATH",
                value: path.display().to_string(),
                expected: "an absolute folder path, such as /var/log/jim",
            });
        }
        let requests = match optional(env, "JIM_LOG_REQUESTS") {
            None => false,
            Some(value) => parse_bool("JIM_LOG_REQUESTS", &value)?,
        };
        Ok(Self {
            level,
            path,
            requests,
        })
    }
}

/// Parses `true`/`false` (any case), as the upstream `.env` files write them.
pub fn parse_bool(name: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ConfigError::Malformed {
            name,
            value: value.to_string(),
            expected: "true or false",
        }),
    }
}

/// The heartbeat file a service touches so that its `healthcheck` can tell it is alive.
pub fn heartbeat_path(env: &dyn Environment) -> PathBuf {
    optional(env, "JIM_HEARTBEAT_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/healthcheck"))
}

/// Reads an optional whole number of seconds, with a default.
pub fn seconds(
    env: &dyn Environment,
    name: &'static str,
    default: u64,
) -> Result<Duration, ConfigError> {
    match optional(env, name) {
        None => Ok(Duration::from_secs(default)),
        Some(value) => Ok(Duration::from_secs(parse_number(
            name,
            &value,
            "a whole number of seconds",
        )?)),
    }
}

/// Reads an optional value, treating an empty one as unset.
pub fn optional_value(env: &dyn Environment, name: &str) -> Option<String> {
    optional(env, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database_env(hostname: &str) -> HashMap<&'static str, &str> {
        HashMap::from([
            ("JIM_DB_HOSTNAME", hostname),
            ("JIM_DB_NAME", "jim"),
            ("JIM_DB_USERNAME", "jim"),
            ("JIM_DB_PASSWORD", "secret"),
        ])
    }

    #[test]
    fn hostname_without_port_uses_5432() {
        let config = DatabaseConfig::from_env(&database_env("jim.database")).unwrap();
        assert_eq!((config.host.as_str(), config.port), ("jim.database", 5432));
    }

    #[test]
    fn hostname_with_port_is_split() {
        let config = DatabaseConfig::from_env(&database_env("db.example.org:5433")).unwrap();
        assert_eq!(
            (config.host.as_str(), config.port),
            ("db.example.org", 5433)
        );
    }

    #[test]
    fn malformed_port_names_the_variable() {
        let error = DatabaseConfig::from_env(&database_env("db:notaport")).unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with("`JIM_DB_HOSTNAME` has the value `db:notaport`"),
            "{message}"
        );
    }

    #[test]
    fn missing_password_names_the_variable() {
        let mut env = database_env("jim.database");
        env.remove("JIM_DB_PASSWORD");
        let error = DatabaseConfig::from_env(&env).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`JIM_DB_PASSWORD` is not set; expected the database password"
        );
    }

    #[test]
    fn password_is_not_in_debug_output() {
        let config = DatabaseConfig::from_env(&database_env("jim.database")).unwrap();
        assert!(!format!("{config:?}").contains("secret"));
    }

    #[test]
    fn log_levels_use_upstream_names() {
        let env = HashMap::from([
            ("JIM_LOG_LEVEL", "Warning"),
            ("JIM_LOG_PATH", "/var/log/jim"),
        ]);
        let config = LogConfig::from_env(&env).unwrap();
        assert_eq!(config.level, LogLevel::Warning);
        assert!(!config.requests);

        let env = HashMap::from([("JIM_LOG_LEVEL", "Loud"), ("JIM_LOG_PATH", "/var/log/jim")]);
        let message = LogConfig::from_env(&env).unwrap_err().to_string();
        assert!(
            message.contains("`JIM_LOG_LEVEL`") && message.contains("Verbose"),
            "{message}"
        );
    }

    #[test]
    fn relative_log_path_is_refused() {
        let env = HashMap::from([("JIM_LOG_LEVEL", "Debug"), ("JIM_LOG_PATH", "logs")]);
        assert!(
            LogConfig::from_env(&env)
                .unwrap_err()
                .to_string()
                .contains("absolute")
        );
    }
}
