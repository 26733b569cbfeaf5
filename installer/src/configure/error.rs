//! What can stop `configure`, each case naming the file, key or value it is about, with the next
//! action for the user.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while writing `.env`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigureError {
    /// Neither `.env` nor the `.env.example` template exists in the install folder.
    #[error("no `.env` or `.env.example` in `{folder}`")]
    NoTemplate {
        /// The compose folder that was searched.
        folder: PathBuf,
    },

    /// A file could not be read.
    #[error("cannot read `{path}`")]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },

    /// A file could not be written, or could not be put in place.
    #[error("cannot write `{path}`")]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },

    /// The answers file is not valid YAML, or holds a key that is not a question.
    #[error("cannot use the answers file `{path}`")]
    AnswersFile {
        /// The answers file.
        path: PathBuf,
        /// What the YAML reader found, with the line and column.
        #[source]
        source: serde_yaml::Error,
    },

    /// A value that JIM needs has no answer, no existing value and no default.
    #[error("no answer for `{key}` ({variable} in .env)")]
    MissingAnswer {
        /// The answers-file key, such as `sso.authority`.
        key: &'static str,
        /// The `.env` variable it fills.
        variable: &'static str,
        /// The `JIM_SETUP_*` variable that answers it.
        setup_variable: &'static str,
        /// The answers file given, if any.
        answers_file: Option<PathBuf>,
    },

    /// An answer or existing value is not acceptable.
    #[error("invalid value `{value}` for `{key}` from {origin}: {reason}")]
    InvalidAnswer {
        /// The answers-file key, such as `web.port`.
        key: &'static str,
        /// The value, or `********` for a secret.
        value: String,
        /// Where the value came from: the answers file, a `JIM_SETUP_*` variable or `.env`.
        origin: String,
        /// Why it is refused.
        reason: String,
    },

    /// The chosen web port is taken by another program on this host.
    #[error("port `{port}` is already in use on this host")]
    PortInUse {
        /// The port, with its address when one was given.
        port: String,
    },

    /// The connection test that the answers asked for failed.
    #[error("cannot connect to the database at `{host}`: {reason}")]
    DatabaseUnreachable {
        /// The database host, with its port.
        host: String,
        /// What the test saw.
        reason: String,
    },

    /// Prompts need a terminal, and no answers were given.
    #[error("`jim-install configure` needs a terminal to ask its questions, and none is attached")]
    NoTerminal,

    /// A prompt failed: the terminal went away or the user pressed Ctrl-C.
    #[error("the prompt was interrupted")]
    Prompt {
        /// The terminal's reason.
        #[source]
        source: io::Error,
    },

    /// The user declined to write the summary shown at the end of the wizard.
    #[error("nothing was written to `{path}`")]
    Cancelled {
        /// The `.env` file that was left as it was.
        path: PathBuf,
    },
}

impl ConfigureError {
    /// The next action for the user, shown after the error as `hint: ...`.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::NoTemplate { .. } => Some(
                "run `jim-install configure --dir DIR` with the install folder that holds \
                 `compose/.env.example` (copied from the bundle)"
                    .to_string(),
            ),
            Self::Read { .. } | Self::Write { .. } => {
                Some("check that the folder exists and that you may write to it".to_string())
            }
            Self::AnswersFile { .. } => Some(
                "the answers file takes `database`, `sso`, `web` and `log` sections; \
                 see `jim-install configure --help`"
                    .to_string(),
            ),
            Self::MissingAnswer {
                key,
                setup_variable,
                answers_file,
                ..
            } => Some(match answers_file {
                Some(path) => {
                    format!(
                        "add `{key}` to `{}` or set {setup_variable}",
                        path.display()
                    )
                }
                None => format!("pass `--answers FILE` with `{key}`, or set {setup_variable}"),
            }),
            Self::InvalidAnswer { key, .. } => Some(format!(
                "correct `{key}` and run `jim-install configure` again"
            )),
            Self::PortInUse { .. } => Some(
                "choose another port (`web.port` or JIM_SETUP_WEB_PORT), stop what listens \
                 there, or pass `--allow-port-in-use`"
                    .to_string(),
            ),
            Self::DatabaseUnreachable { .. } => Some(
                "check the host, name, user and password, or set \
                 `database.testConnection: false` to write the settings anyway"
                    .to_string(),
            ),
            Self::NoTerminal => Some(
                "answer the questions with `--answers FILE` or JIM_SETUP_* variables \
                 (see `jim-install configure --help`)"
                    .to_string(),
            ),
            Self::Prompt { .. } => Some("run `jim-install configure` again".to_string()),
            Self::Cancelled { .. } => {
                Some("run `jim-install configure` again to change the answers".to_string())
            }
        }
    }

    /// Whether the error comes from how the command was called or from its environment (exit
    /// code 2), rather than from a step that failed.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::NoTemplate { .. }
                | Self::AnswersFile { .. }
                | Self::MissingAnswer { .. }
                | Self::InvalidAnswer { .. }
                | Self::PortInUse { .. }
                | Self::NoTerminal
        )
    }
}
