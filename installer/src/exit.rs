//! The exit codes of `jim-install`, defined once; `docs/INSTALL.md` lists them.

use std::process::ExitCode;

/// Why the installer stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything worked.
    Success = 0,
    /// The bundle (or an archive) failed verification: nothing was loaded or installed.
    VerificationFailed = 1,
    /// A usage error or a problem with the environment: a bad flag, a missing file, no terminal
    /// and no answers.
    Usage = 2,
    /// The Docker Engine or Docker Compose is missing, stopped or unreachable.
    Docker = 3,
    /// A preflight check failed.
    Preflight = 4,
    /// The stack was brought up but did not become ready in time.
    NotReady = 5,
    /// Any other failure during a step; the message says which.
    Failure = 10,
}

impl Exit {
    /// Every exit code, in order.
    pub const ALL: [Exit; 7] = [
        Exit::Success,
        Exit::VerificationFailed,
        Exit::Usage,
        Exit::Docker,
        Exit::Preflight,
        Exit::NotReady,
        Exit::Failure,
    ];
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}
