//! Edits made to shipped files on their way into the bundle: the release version into
//! `.env.example` and the PowerShell module manifest, and the database image into
//! `.env.example`. Each edit replaces whole lines and fails when the line is missing, so a
//! renamed variable is noticed at build time rather than by a customer.

use std::fmt;
use std::path::Path;

use crate::Error;

/// One edit of a text file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineEdit {
    /// Sets `NAME=value` in an environment file (every line that assigns `NAME`).
    EnvAssignment {
        /// The variable name, such as `JIM_VERSION`.
        name: &'static str,
        /// The new value, written as is.
        value: String,
    },
    /// Sets `ModuleVersion = '...'` in a PowerShell module manifest.
    PowerShellModuleVersion {
        /// The new version: numbers only, as PowerShell requires.
        value: String,
    },
}

impl LineEdit {
    /// The start of the line this edit looks for, after leading spaces.
    fn prefix(&self) -> &'static str {
        match self {
            LineEdit::EnvAssignment { name, .. } => name,
            LineEdit::PowerShellModuleVersion { .. } => "ModuleVersion",
        }
    }

    /// The replacement for `line`, or `None` when the line is not the one this edit sets.
    fn apply_to_line(&self, line: &str) -> Option<String> {
        let indent_length = line.len() - line.trim_start().len();
        let (indent, content) = line.split_at(indent_length);
        match self {
            LineEdit::EnvAssignment { name, value } => content
                .strip_prefix(name)
                .filter(|rest| rest.starts_with('='))
                .map(|_| format!("{indent}{name}={value}")),
            LineEdit::PowerShellModuleVersion { value } => content
                .strip_prefix("ModuleVersion")
                .filter(|rest| rest.trim_start().starts_with('='))
                .map(|_| format!("{indent}ModuleVersion = '{value}'")),
        }
    }
}

impl fmt::Display for LineEdit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineEdit::EnvAssignment { name, value } => write!(f, "{name}={value}"),
            LineEdit::PowerShellModuleVersion { value } => write!(f, "ModuleVersion = '{value}'"),
        }
    }
}

/// Applies `edits` to `text`; `path` names the file in errors. Line endings are kept.
pub fn apply_edits(text: &str, edits: &[LineEdit], path: &Path) -> Result<String, Error> {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
    for edit in edits {
        let mut found = false;
        for line in &mut lines {
            let ending_length = line.len() - line.trim_end_matches(['\n', '\r']).len();
            let (content, ending) = line.split_at(line.len() - ending_length);
            if let Some(replacement) = edit.apply_to_line(content) {
                *line = format!("{replacement}{ending}");
                found = true;
            }
        }
        if !found {
            return Err(Error::TemplateLineMissing {
                path: path.to_owned(),
                prefix: edit.prefix(),
            });
        }
    }
    Ok(lines.concat())
}

/// The numeric `MAJOR.MINOR.PATCH` part of a release version, which is all PowerShell accepts
/// as a `ModuleVersion`.
pub fn numeric_version(version: &str) -> &str {
    version.split_once('-').map_or(version, |(core, _)| core)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_and_module_versions_are_set() {
        let env = "# JIM_VERSION= is the tag\nJIM_VERSION=0.1.0\nJIM_DB_IMAGE=postgres:18\r\n";
        let edits = [
            LineEdit::EnvAssignment {
                name: "JIM_VERSION",
                value: "2.0.0".into(),
            },
            LineEdit::EnvAssignment {
                name: "JIM_DB_IMAGE",
                value: "jim-postgres:15-debian".into(),
            },
        ];
        let edited = apply_edits(env, &edits, Path::new(".env.example")).unwrap();
        assert_eq!(
            edited,
            "# JIM_VERSION= is the tag\nJIM_VERSION=2.0.0\nJIM_DB_IMAGE=jim-postgres:15-debian\r\n"
        );

        let psd1 = "@{\n    RootModule = 'JIM.psm1'\n    ModuleVersion = '0.1.0'\n}\n";
        let edit = LineEdit::PowerShellModuleVersion {
            value: numeric_version("2.0.0-rc.1").into(),
        };
        let edited = apply_edits(psd1, &[edit], Path::new("JIM.psd1")).unwrap();
        assert!(edited.contains("    ModuleVersion = '2.0.0'\n"), "{edited}");
    }

    #[test]
    fn a_missing_line_is_an_error_naming_the_file() {
        let edit = LineEdit::EnvAssignment {
            name: "JIM_VERSION",
            value: "1.0.0".into(),
        };
        let error =
            apply_edits("JIM_VERSIONS=1\n", &[edit], Path::new("x/.env.example")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`x/.env.example` has no line starting with `JIM_VERSION` to set to the release value"
        );
    }
}
