//! The exit statuses of `jim-bundle`, defined once.
//!
//! | status | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | the build failed (a write, an export, a check of the result) |
//! | 2 | usage or environment error: a wrong option, a missing input file or binary, no creation time, an unreachable Docker Engine |

use std::process::ExitCode;

/// Why `jim-bundle` exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything asked for was done.
    Success = 0,
    /// The work failed.
    Failure = 1,
    /// The command was called wrongly, or the machine lacks something it needs.
    UsageOrEnvironment = 2,
}

impl ExitStatus {
    /// The status for an error: usage and environment errors of the library give 2.
    pub fn for_error(error: &anyhow::Error) -> Self {
        let usage = error
            .chain()
            .filter_map(|cause| cause.downcast_ref::<jim_bundle::Error>())
            .any(jim_bundle::Error::is_usage_or_environment);
        if usage {
            ExitStatus::UsageOrEnvironment
        } else {
            ExitStatus::Failure
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(status as u8)
    }
}
