//! `jim-install verify BUNDLE`: checks a bundle's integrity and, with a trusted key, who signed
//! it, without extracting or loading anything.
//!
//! Messages go to stderr; stdout carries one result line, or the `--json` report.
//!
//! Known gap: there is no progress bar yet, so a multi-gigabyte archive is read silently until
//! the result is printed.

use std::error::Error as _;
use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use jim_install::exit::Exit;
use jim_install::verify::{self, Authenticity, VerifyError, VerifyOptions, VerifyReport};
use serde_json::json;

/// Verify a release bundle, the `.tar.gz` archive or the folder extracted from it.
#[derive(Debug, Clone, clap::Args)]
pub struct VerifyArgs {
    /// The bundle: `jim-release-X.Y.Z.tar.gz`, or the folder extracted from it.
    pub bundle: PathBuf,

    /// The release public key (a minisign `.pub` file) the bundle's signature must verify
    /// with. It replaces the key built into this installer, if there is one.
    #[arg(long, value_name = "FILE")]
    pub trust_key: Option<PathBuf>,

    /// Print a machine-readable report on stdout instead of the result line.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command with the process's stdout and stderr.
pub fn run(args: VerifyArgs) -> anyhow::Result<Exit> {
    run_with_output(&args, &mut io::stdout().lock(), &mut io::stderr().lock())
}

/// Runs the command, writing results to `stdout` and messages to `stderr`.
pub fn run_with_output(
    args: &VerifyArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let outcome = trusted_key(args).and_then(|trusted_key| {
        let options = VerifyOptions {
            trusted_key,
            ..VerifyOptions::default()
        };
        verify::verify_bundle(&args.bundle, &options)?.into_result()
    });

    let exit = match &outcome {
        Ok(report) => {
            describe_success(report, stderr).context("cannot write to stderr")?;
            Exit::Success
        }
        Err(error) => {
            describe_error(error, stderr).context("cannot write to stderr")?;
            error.exit()
        }
    };

    if args.json {
        let document = json_document(&outcome, exit);
        serde_json::to_writer_pretty(&mut *stdout, &document)
            .context("cannot write the JSON report to stdout")?;
        writeln!(stdout).context("cannot write the JSON report to stdout")?;
    } else {
        writeln!(stdout, "{}", result_line(&args.bundle, &outcome))
            .context("cannot write the result to stdout")?;
    }
    Ok(exit)
}

/// The key to trust: `--trust-key`, else the one built into this installer, else none.
fn trusted_key(args: &VerifyArgs) -> Result<Option<verify::PublicKey>, VerifyError> {
    match &args.trust_key {
        Some(path) => verify::read_trusted_key(path).map(Some),
        None => verify::built_in_release_key(),
    }
}

/// The result line on stdout.
fn result_line(bundle: &std::path::Path, outcome: &Result<VerifyReport, VerifyError>) -> String {
    let Ok(report) = outcome else {
        return format!("not verified: `{}`", bundle.display());
    };
    let name = report
        .release
        .clone()
        .unwrap_or_else(|| report.bundle.display().to_string());
    let authenticity = match &report.authenticity {
        Authenticity::Verified { key_id, .. } => format!("signed by the trusted key `{key_id}`"),
        Authenticity::NotChecked { .. } => "integrity only, authenticity not checked".to_owned(),
    };
    format!(
        "verified: `{name}` ({} files, {}); {authenticity}",
        report.verified.len(),
        human_size(report.bytes_hashed)
    )
}

/// What a verified bundle gets on stderr, most importantly whether its origin was checked.
fn describe_success(report: &VerifyReport, stderr: &mut dyn Write) -> io::Result<()> {
    writeln!(
        stderr,
        "Checked {} files ({}) of `{}` against `checksums.sha256`: all match.",
        report.verified.len(),
        human_size(report.bytes_hashed),
        report.bundle.display()
    )?;
    match &report.authenticity {
        Authenticity::Verified {
            key_id,
            trusted_comment,
        } => writeln!(
            stderr,
            "The checksum manifest is signed by the trusted key `{key_id}` ({trusted_comment})."
        ),
        Authenticity::NotChecked { signature_key_id } => {
            let signature = match signature_key_id {
                Some(key_id) => format!(" (the bundle is signed by key `{key_id}`, unchecked)"),
                None => " (the bundle is not signed)".to_owned(),
            };
            writeln!(
                stderr,
                "warning: authenticity was NOT checked: no trusted key is set{signature}, so \
                 only integrity was verified; anyone could have written matching checksums"
            )?;
            writeln!(
                stderr,
                "hint: pass `--trust-key FILE` with the release public key to check who signed \
                 the bundle"
            )
        }
    }
}

/// An error in the house format: what failed, its causes, the findings, then a hint.
fn describe_error(error: &VerifyError, stderr: &mut dyn Write) -> io::Result<()> {
    writeln!(stderr, "error: {error}")?;
    let mut cause = error.source();
    while let Some(source) = cause {
        writeln!(stderr, "  Caused by: {source}")?;
        cause = source.source();
    }
    if let VerifyError::NotVerified { report } = error {
        for mismatch in &report.mismatched {
            writeln!(stderr, "  checksum mismatch for `{}`", mismatch.path)?;
            writeln!(stderr, "    expected: {}", mismatch.expected)?;
            writeln!(stderr, "    computed: {}", mismatch.computed)?;
        }
        for path in &report.missing {
            writeln!(
                stderr,
                "  missing: `{path}` is listed in the checksum manifest"
            )?;
        }
        for path in &report.unlisted {
            writeln!(
                stderr,
                "  unlisted: `{path}` is not in the checksum manifest"
            )?;
        }
    }
    writeln!(stderr, "hint: {}", error.hint())
}

/// The `--json` document: the verdict, the exit code, the report and the error.
fn json_document(outcome: &Result<VerifyReport, VerifyError>, exit: Exit) -> serde_json::Value {
    let (report, error) = match outcome {
        Ok(report) => (Some(report), None),
        Err(error) => {
            let report = match error {
                VerifyError::NotVerified { report } => Some(report.as_ref()),
                _ => None,
            };
            let mut causes = Vec::new();
            let mut cause = error.source();
            while let Some(source) = cause {
                causes.push(source.to_string());
                cause = source.source();
            }
            let error = json!({
                "message": error.to_string(),
                "causes": causes,
                "hint": error.hint(),
            });
            (report, Some(error))
        }
    };
    json!({
        "verified": outcome.is_ok(),
        "exit_code": exit as u8,
        "report": report,
        "error": error,
    })
}

/// A byte count the way people read it.
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}
