//! `jim-install verify` as a user runs it: exit codes, the result line on stdout, messages and
//! hints on stderr, and the `--json` report.

mod verify_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use jim_install::verify::{VerifyOptions, extract_verified};
use verify_support::{IMAGE, Keys, Member, TOP};

fn jim_install(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jim-install"))
        .arg("verify")
        .args(arguments)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write_archive(folder: &Path, members: &[Member]) -> PathBuf {
    let path = folder.join(format!("{TOP}.tar.gz"));
    verify_support::write_archive(&path, members);
    path
}

fn write_key(folder: &Path, keys: &Keys) -> PathBuf {
    let path = folder.join("release.pub");
    std::fs::write(&path, keys.public.to_text()).unwrap();
    path
}

#[test]
fn a_signed_bundle_verifies_with_the_trusted_key() {
    let folder = tempfile::tempdir().unwrap();
    let keys = Keys::generate();
    let archive = write_archive(folder.path(), &verify_support::valid_members(Some(&keys)));
    let key = write_key(folder.path(), &keys);

    let output = jim_install(&[
        archive.to_str().unwrap(),
        "--trust-key",
        key.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(
        stdout.starts_with(&format!("verified: `{TOP}` (8 files, ")),
        "{stdout}"
    );
    assert!(
        stdout.ends_with(&format!(
            "signed by the trusted key `{}`\n",
            keys.public.key_id()
        )),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 1);
    let stderr = text(&output.stderr);
    assert!(stderr.contains("all match"), "{stderr}");
    assert!(!stderr.contains("NOT checked"), "{stderr}");
}

#[test]
fn without_a_key_the_output_says_that_authenticity_was_not_checked() {
    if option_env!("JIM_RELEASE_PUBLIC_KEY").is_some() {
        // A release build trusts its built-in key, so an unsigned bundle fails there instead.
        return;
    }
    let folder = tempfile::tempdir().unwrap();
    let archive = write_archive(folder.path(), &verify_support::valid_members(None));

    let output = jim_install(&[archive.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("integrity only, authenticity not checked"),
        "{stdout}"
    );
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("warning: authenticity was NOT checked: no trusted key is set"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: pass `--trust-key FILE`"), "{stderr}");
}

#[test]
fn a_changed_image_fails_with_both_digests_and_a_hint() {
    let folder = tempfile::tempdir().unwrap();
    let mut members = verify_support::valid_members(None);
    let image = members
        .iter_mut()
        .find(|member| member.name() == format!("{TOP}/{IMAGE}"))
        .unwrap();
    image.data[0] ^= 0x01;
    let archive = write_archive(folder.path(), &members);

    let output = jim_install(&[archive.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stdout),
        format!("not verified: `{}`\n", archive.display())
    );
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: `{}` does not match its checksum manifest: checksum mismatch for `{IMAGE}`\n",
            archive.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("    expected: "), "{stderr}");
    assert!(stderr.contains("    computed: "), "{stderr}");
    assert!(
        stderr
            .ends_with("hint: copy the bundle again from the source media, then verify it again\n"),
        "{stderr}"
    );
}

#[test]
fn a_missing_bundle_or_key_is_a_usage_error() {
    let output = jim_install(&["/nonexistent/jim-release-1.0.0.tar.gz"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with(
            "error: cannot open the bundle `/nonexistent/jim-release-1.0.0.tar.gz`\n  Caused by: "
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: BUNDLE is the `jim-release-X.Y.Z.tar.gz` archive"),
        "{stderr}"
    );

    let folder = tempfile::tempdir().unwrap();
    let archive = write_archive(folder.path(), &verify_support::valid_members(None));
    let output = jim_install(&[
        archive.to_str().unwrap(),
        "--trust-key",
        "/nonexistent/release.pub",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr)
            .starts_with("error: cannot read the trusted key `/nonexistent/release.pub`"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_bundle_signed_by_another_key_fails() {
    let folder = tempfile::tempdir().unwrap();
    let signer = Keys::generate();
    let trusted = Keys::generate();
    let archive = write_archive(folder.path(), &verify_support::valid_members(Some(&signer)));
    let key = write_key(folder.path(), &trusted);

    let output = jim_install(&[
        archive.to_str().unwrap(),
        "--trust-key",
        key.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "is signed by key `{}`, not by the trusted key `{}`",
            signer.public.key_id(),
            trusted.public.key_id()
        )),
        "{stderr}"
    );
}

#[test]
fn json_reports_the_verdict_the_report_and_the_error() {
    let folder = tempfile::tempdir().unwrap();
    let keys = Keys::generate();
    let archive = write_archive(folder.path(), &verify_support::valid_members(Some(&keys)));
    let key = write_key(folder.path(), &keys);

    let output = jim_install(&[
        archive.to_str().unwrap(),
        "--trust-key",
        key.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(output.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["verified"], true);
    assert_eq!(json["exit_code"], 0);
    assert_eq!(json["error"], serde_json::Value::Null);
    assert_eq!(json["report"]["form"], "archive");
    assert_eq!(json["report"]["release"], TOP);
    assert_eq!(json["report"]["authenticity"]["status"], "verified");
    assert_eq!(
        json["report"]["authenticity"]["key_id"],
        keys.public.key_id()
    );
    assert_eq!(json["report"]["verified"].as_array().unwrap().len(), 8);
    assert_eq!(json["report"]["archive_sha256"].as_str().unwrap().len(), 64);

    let mut members = verify_support::valid_members(Some(&keys));
    members.push(Member::file(&format!("{TOP}/../evil"), b"escaped"));
    let hostile_folder = tempfile::tempdir().unwrap();
    let hostile = write_archive(hostile_folder.path(), &members);
    let output = jim_install(&[hostile.to_str().unwrap(), "--json"]);
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["verified"], false);
    assert_eq!(json["exit_code"], 1);
    assert_eq!(json["report"], serde_json::Value::Null);
    assert_eq!(
        json["error"]["message"],
        format!(
            "refused member `{TOP}/../evil`: it has a `..` component, which could write outside \
             the destination"
        )
    );
    assert!(
        json["error"]["hint"]
            .as_str()
            .unwrap()
            .starts_with("do not install this bundle")
    );
}

#[test]
fn an_extracted_folder_verifies_as_well() {
    let folder = tempfile::tempdir().unwrap();
    let keys = Keys::generate();
    let archive = write_archive(folder.path(), &verify_support::valid_members(Some(&keys)));
    let destination = folder.path().join(TOP);
    let options = VerifyOptions {
        trusted_key: Some(keys.public.clone()),
        ..VerifyOptions::default()
    };
    extract_verified(&archive, &destination, &options).unwrap();
    let key = write_key(folder.path(), &keys);

    let output = jim_install(&[
        destination.to_str().unwrap(),
        "--trust-key",
        key.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["report"]["form"], "folder");
    assert_eq!(json["report"]["archive_sha256"], serde_json::Value::Null);
}
