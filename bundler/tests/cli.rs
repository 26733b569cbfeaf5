//! The command line of `jim-bundle`: help, the plan, and the errors a release engineer meets
//! before any work starts, each with its exit status and hint. No test here builds a bundle.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use common::{jim_bundle, release_binaries, run, workspace_root};

/// The options every build test passes, with the output folder and extra arguments.
fn build_arguments(command: &str, out: &std::path::Path) -> Vec<String> {
    vec![
        command.to_owned(),
        "--version".to_owned(),
        "0.1.0".to_owned(),
        "--source".to_owned(),
        workspace_root().display().to_string(),
        "--out".to_owned(),
        out.display().to_string(),
    ]
}

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn every_command_has_help() {
    for (command, option) in [
        ("plan", "--include-image"),
        ("build", "--dry-run"),
        ("keygen", "--out-dir"),
        ("postgres-image", "--tag"),
    ] {
        let output = run(jim_bundle().args([command, "--help"]));
        assert!(
            output.status.success(),
            "{command} --help: {}",
            stderr_of(&output)
        );
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            text.contains(option),
            "`{command} --help` lacks {option}:\n{text}"
        );
    }
    let output = run(jim_bundle().arg("--help"));
    assert!(String::from_utf8_lossy(&output.stdout).contains("Exit status"));
}

#[test]
fn plan_prints_the_steps_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dist");
    let mut arguments = build_arguments("plan", &out);
    arguments.extend([
        "--binaries".into(),
        release_binaries().display().to_string(),
    ]);
    arguments.extend(["--include-image".into(), "postgres:18".into()]);
    let output = run(jim_bundle().args(&arguments));
    assert!(output.status.success(), "{}", stderr_of(&output));
    let plan = String::from_utf8_lossy(&output.stdout);

    for expected in [
        "plan for jim-release-0.1.0",
        "SOURCE_DATE_EPOCH 1767225600",
        "write image    docker-images/jim-web.tar (jim-web:0.1.0",
        "write image    docker-images/jim-worker.tar",
        "write image    docker-images/jim-scheduler.tar",
        "export image   docker-images/postgres-18.tar (postgres:18 from the Docker Engine)",
        "copy file      jim-install",
        "copy file      compose/docker-compose.override.yml",
        "set JIM_VERSION=0.1.0, set JIM_DB_IMAGE=postgres:18",
        "set ModuleVersion = '0.1.0'",
        "write file     docs/INSTALL.md",
        "check images   named by the compose files",
        "write file     checksums.sha256",
        "write archive  jim-release-0.1.0.tar.gz and jim-release-0.1.0.tar.gz.sha256",
    ] {
        assert!(
            plan.contains(expected),
            "the plan lacks `{expected}`:\n{plan}"
        );
    }
    assert!(!plan.contains("docker-compose.development.yml"), "{plan}");
    assert!(!plan.contains("check-config.sh"), "{plan}");
    assert!(!out.exists(), "plan must not create `{}`", out.display());

    // `build --dry-run` prints the same plan and writes nothing either; it needs no engine.
    arguments[0] = "build".into();
    arguments.push("--dry-run".into());
    let dry_run = run(jim_bundle()
        .args(&arguments)
        .env("DOCKER_HOST", "unix:///nonexistent.sock"));
    assert!(dry_run.status.success(), "{}", stderr_of(&dry_run));
    assert_eq!(String::from_utf8_lossy(&dry_run.stdout), plan);
    assert!(!out.exists());
}

#[test]
fn a_missing_installer_binary_stops_the_build_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let binaries = dir.path().join("bin");
    fs::create_dir(&binaries).unwrap();
    for name in ["jim-web", "jim-worker", "jim-scheduler"] {
        fs::write(binaries.join(name), b"service").unwrap();
    }
    let out = dir.path().join("dist");
    let mut arguments = build_arguments("build", &out);
    arguments.extend(["--binaries".into(), binaries.display().to_string()]);
    arguments.push("--no-database-image".into());

    let output = run(jim_bundle().args(&arguments));
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    let stderr = stderr_of(&output);
    let expected = format!(
        "error: missing installer binary `{}`",
        binaries.join("jim-install").display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(
        stderr.contains("hint: build it with `cargo build --release -p jim-install`"),
        "{stderr}"
    );
    assert!(!out.exists());
}

#[test]
fn usage_errors_exit_with_two_and_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dist");
    let binaries = release_binaries().display().to_string();

    // A version that is not MAJOR.MINOR.PATCH.
    let mut arguments = build_arguments("plan", &out);
    arguments[2] = "v1.0".into();
    let output = run(jim_bundle().args(&arguments));
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_of(&output).contains("invalid release version `v1.0`"));
    assert!(stderr_of(&output).contains("hint: give the version as MAJOR.MINOR.PATCH"));

    // No database image and no `--no-database-image`.
    let mut arguments = build_arguments("plan", &out);
    arguments.extend(["--binaries".into(), binaries.clone()]);
    let output = run(jim_bundle().args(&arguments));
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("no database image"), "{stderr}");
    assert!(stderr.contains("--no-database-image"), "{stderr}");

    // An image named by digest.
    let mut arguments = build_arguments("plan", &out);
    arguments.extend(["--binaries".into(), binaries.clone()]);
    arguments.extend(["--include-image".into(), "postgres@sha256:0123".into()]);
    let output = run(jim_bundle().args(&arguments));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr_of(&output).contains("not by digest"),
        "{}",
        stderr_of(&output)
    );

    // A flag clap does not know.
    let output = run(jim_bundle().args(["build", "--no-such-flag"]));
    assert_eq!(output.status.code(), Some(2));
    assert!(!out.exists());
}

#[test]
fn an_image_tar_without_tags_is_refused_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let tar_path = dir.path().join("untagged.tar");
    let mut builder = tar::Builder::new(fs::File::create(&tar_path).unwrap());
    let manifest = br#"[{"Config":"blobs/sha256/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","RepoTags":null,"Layers":[]}]"#;
    let mut header = tar::Header::new_gnu();
    header.set_size(manifest.len() as u64);
    header.set_mode(0o644);
    builder
        .append_data(&mut header, "manifest.json", &manifest[..])
        .unwrap();
    builder.finish().unwrap();

    let out = dir.path().join("dist");
    let mut arguments = build_arguments("plan", &out);
    arguments.extend([
        "--binaries".into(),
        release_binaries().display().to_string(),
    ]);
    arguments.extend([
        "--image-tar".into(),
        format!("postgres-18.tar={}", tar_path.display()),
    ]);
    let output = run(jim_bundle().args(&arguments));
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("is not a tagged image archive"), "{stderr}");
    assert!(stderr.contains("no `RepoTags`"), "{stderr}");
    assert!(
        stderr.contains("hint: write the archive with `docker save"),
        "{stderr}"
    );
}

#[test]
fn include_image_with_an_unreachable_engine_fails_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dist");
    let mut arguments = build_arguments("build", &out);
    arguments.extend([
        "--binaries".into(),
        release_binaries().display().to_string(),
    ]);
    arguments.extend(["--include-image".into(), "postgres:18".into()]);
    let output = run(jim_bundle()
        .args(&arguments)
        .env("DOCKER_HOST", "unix:///nonexistent.sock"));

    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("error: cannot reach the Docker Engine at `unix:///nonexistent.sock`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: start the Docker Engine or point DOCKER_HOST"),
        "{stderr}"
    );
    assert!(stderr.contains("--image-tar NAME=FILE"), "{stderr}");
    assert!(!out.join("jim-release-0.1.0").exists());
    assert!(!out.join("jim-release-0.1.0.tar.gz").exists());
}

#[test]
fn keygen_writes_a_private_secret_key_and_keeps_existing_keys() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let output = run(jim_bundle().arg("keygen").arg("--out-dir").arg(&keys));
    assert!(output.status.success(), "{}", stderr_of(&output));

    let secret = fs::metadata(keys.join("jim-release.key")).unwrap();
    assert_eq!(secret.permissions().mode() & 0o777, 0o600);
    let public = fs::read_to_string(keys.join("jim-release.pub")).unwrap();
    assert!(
        public.starts_with("untrusted comment: minisign public key"),
        "{public}"
    );

    let again = run(jim_bundle().arg("keygen").arg("--out-dir").arg(&keys));
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr_of(&again).contains("already exists"),
        "{}",
        stderr_of(&again)
    );
    assert_eq!(
        fs::read_to_string(keys.join("jim-release.pub")).unwrap(),
        public
    );
}
