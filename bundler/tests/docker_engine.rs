//! Images written by the bundler load into the real Docker Engine and run: the tag, the user,
//! the health check and the labels arrive, the entrypoint runs, volume folders belong to the
//! service user, and the engine reports the container healthy with no shell in the image.
//!
//! These tests need a running Docker Engine and `gcc` with static glibc (`libc6-dev`); they
//! fail, never skip, when either is missing. Nothing is pulled: the images have no base.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jim_bundle::image::{
    HealthCheck, ImageFile, ImageSpec, Owner, RootFilesystem, SourceDateEpoch, labels, write_image,
};
use serde_json::Value;

/// A tiny program standing in for a service binary. Its subcommands let the tests look
/// inside a container that has no shell.
const PROGRAM: &str = r#"
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "healthcheck") == 0) {
        return 0;
    }
    if (argc > 2 && strcmp(argv[1], "stat") == 0) {
        struct stat st;
        if (stat(argv[2], &st) != 0) { perror("stat"); return 2; }
        printf("%u:%u %o\n", st.st_uid, st.st_gid, st.st_mode & 07777);
        return 0;
    }
    if (argc > 2 && strcmp(argv[1], "write") == 0) {
        int fd = open(argv[2], O_CREAT | O_WRONLY, 0644);
        if (fd < 0) { perror("open"); return 3; }
        if (write(fd, "ok", 2) != 2) { perror("write"); return 4; }
        close(fd);
        printf("wrote %s\n", argv[2]);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "serve") == 0) {
        printf("serving\n");
        fflush(stdout);
        for (;;) sleep(1);
    }
    printf("hello from the jim test image as %u:%u\n", getuid(), getgid());
    return 0;
}
"#;

/// Runs the docker CLI and returns its output, panicking if it cannot be started.
fn docker(arguments: &[&str]) -> Output {
    Command::new("docker")
        .args(arguments)
        .output()
        .expect("the docker CLI must be installed to run this test")
}

/// Runs the docker CLI and returns its stdout, panicking with its stderr on failure.
fn docker_ok(arguments: &[&str]) -> String {
    let output = docker(arguments);
    assert!(
        output.status.success(),
        "`docker {}` failed ({}):\n{}{}",
        arguments.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Fails loudly when the engine is not reachable, rather than skipping.
fn require_docker() {
    let output = docker(&["version", "--format", "{{.Server.Version}}"]);
    assert!(
        output.status.success(),
        "the Docker Engine is not reachable; these tests need it running:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Compiles the test program statically into `folder`.
fn build_program(folder: &Path) -> PathBuf {
    let source = folder.join("jim-hello.c");
    let binary = folder.join("jim-hello");
    fs::write(&source, PROGRAM).unwrap();
    let output = Command::new("gcc")
        .args(["-static", "-Os", "-o"])
        .arg(&binary)
        .arg(&source)
        .output()
        .expect("gcc must be installed to build the test binary (apt-get install gcc libc6-dev)");
    assert!(
        output.status.success(),
        "gcc -static failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    binary
}

/// A repository name no other run uses.
fn unique_repository() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("jim-test-{}-{nanos:x}", std::process::id())
}

/// Removes what a test created in the engine, even when the test panics.
struct Cleanup {
    images: Vec<String>,
    containers: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for container in &self.containers {
            let _ = docker(&["rm", "--force", "--volumes", container]);
        }
        for image in &self.images {
            let _ = docker(&["image", "rm", "--force", image]);
        }
    }
}

fn inspect_image(reference: &str) -> Value {
    let text = docker_ok(&["image", "inspect", reference]);
    let mut list: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(list.len(), 1);
    list.remove(0)
}

fn created() -> SourceDateEpoch {
    SourceDateEpoch::from_unix_seconds(1_767_225_600).unwrap()
}

#[test]
fn service_image_loads_runs_and_becomes_healthy() {
    require_docker();
    let dir = tempfile::tempdir().unwrap();
    let binary = build_program(dir.path());
    let repository = unique_repository();

    let mut spec = ImageSpec::new(&repository, "0.1.0", created());
    spec.files
        .push(ImageFile::from_path(&binary, "/app/jim-hello", 0o755));
    spec.entrypoint = vec!["/app/jim-hello".into()];
    spec.exposed_ports = vec!["8080".into()];
    spec.env = vec![("JIM_LOG_LEVEL".into(), "info".into())];
    spec.working_dir = Some("/app".into());
    spec.volumes = vec!["/var/lib/jim".into()];
    let mut check = HealthCheck::exec(["/app/jim-hello", "healthcheck"]);
    check.interval = Duration::from_secs(1);
    check.timeout = Duration::from_secs(3);
    check.start_period = Duration::from_secs(1);
    spec.healthcheck = Some(check);
    spec.insert_oci_labels("0.1.0", "0123abcd", "https://example.invalid/jim");

    let archive = dir.path().join("image.tar");
    let written = write_image(&spec, &archive).unwrap();
    let reference = written.reference.clone();
    let mut cleanup = Cleanup {
        images: vec![reference.clone()],
        containers: Vec::new(),
    };

    let loaded = docker_ok(&["load", "--input", archive.to_str().unwrap()]);
    assert!(
        loaded.contains(&format!("Loaded image: {reference}")),
        "{loaded}"
    );

    // The engine sees what the specification said.
    let image = inspect_image(&reference);
    assert_eq!(image["Id"], format!("sha256:{}", written.image_id));
    assert_eq!(image["RepoTags"], serde_json::json!([reference]));
    assert_eq!(image["Architecture"], "amd64");
    assert_eq!(image["Os"], "linux");
    assert_eq!(image["Created"], "2026-01-01T00:00:00Z");
    let config = &image["Config"];
    assert_eq!(config["User"], "1654");
    assert_eq!(config["Entrypoint"], serde_json::json!(["/app/jim-hello"]));
    assert_eq!(config["WorkingDir"], "/app");
    assert!(config["ExposedPorts"].get("8080/tcp").is_some(), "{config}");
    assert!(
        config["Volumes"].is_null(),
        "volume folders must not be declared: {config}"
    );
    assert_eq!(
        config["Healthcheck"]["Test"],
        serde_json::json!(["CMD", "/app/jim-hello", "healthcheck"])
    );
    assert_eq!(config["Healthcheck"]["Interval"], 1_000_000_000u64);
    assert_eq!(config["Healthcheck"]["Retries"], 3);
    assert_eq!(config["Labels"][labels::VERSION], "0.1.0");
    assert_eq!(config["Labels"][labels::REVISION], "0123abcd");
    assert_eq!(config["Labels"][labels::CREATED], "2026-01-01T00:00:00Z");
    let env = config["Env"].as_array().unwrap();
    assert!(
        env.iter().any(|value| value == "JIM_LOG_LEVEL=info"),
        "{env:?}"
    );

    // The entrypoint runs as the service user. A bare uid with no `/etc/group` in the image
    // runs with group 0, which is how the engine resolves it.
    let hello = docker_ok(&["run", "--rm", &reference]);
    assert_eq!(hello.trim(), "hello from the jim test image as 1654:0");

    // The volume folder belongs to that user, in the image and in a fresh volume over it.
    let stat = docker_ok(&["run", "--rm", &reference, "stat", "/var/lib/jim"]);
    assert_eq!(stat.trim(), "1654:1654 755");
    let wrote = docker_ok(&[
        "run",
        "--rm",
        "--volume",
        "/var/lib/jim",
        &reference,
        "write",
        "/var/lib/jim/probe",
    ]);
    assert_eq!(wrote.trim(), "wrote /var/lib/jim/probe");

    // The engine runs the exec-form health check without a shell and reports healthy.
    let container = format!("{repository}-serve");
    cleanup.containers.push(container.clone());
    docker_ok(&["run", "--detach", "--name", &container, &reference, "serve"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut status = String::new();
    while Instant::now() < deadline {
        status = docker_ok(&[
            "inspect",
            "--format",
            "{{.State.Health.Status}}",
            &container,
        ])
        .trim()
        .to_owned();
        if status == "healthy" || status == "unhealthy" {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(status, "healthy", "health status of `{container}`");
}

#[test]
fn root_filesystem_image_keeps_links_and_owners() {
    require_docker();
    let dir = tempfile::tempdir().unwrap();
    let binary = build_program(dir.path());
    let repository = unique_repository();

    // A small root filesystem, like Debian packages extracted into a folder.
    let root = dir.path().join("rootfs");
    fs::create_dir_all(root.join("usr/lib/tool")).unwrap();
    fs::create_dir_all(root.join("usr/bin")).unwrap();
    fs::create_dir_all(root.join("srv/data")).unwrap();
    fs::copy(&binary, root.join("usr/lib/tool/jim-hello")).unwrap();
    std::os::unix::fs::symlink("../lib/tool/jim-hello", root.join("usr/bin/tool")).unwrap();

    let mut spec = ImageSpec::new(&repository, "tree", created());
    let mut tree = RootFilesystem::new(&root);
    tree.owners
        .subtrees
        .insert("/srv/data".into(), Owner::new(999, 998));
    spec.root_filesystem = Some(tree);
    spec.user = "999:998".into();
    spec.entrypoint = vec!["/usr/bin/tool".into()];

    let archive = dir.path().join("image.tar");
    let written = write_image(&spec, &archive).unwrap();
    let reference = written.reference.clone();
    let _cleanup = Cleanup {
        images: vec![reference.clone()],
        containers: Vec::new(),
    };

    docker_ok(&["load", "--input", archive.to_str().unwrap()]);
    assert_eq!(
        inspect_image(&reference)["Id"],
        format!("sha256:{}", written.image_id)
    );

    // The entrypoint is reached through the symbolic link.
    let hello = docker_ok(&["run", "--rm", &reference]);
    assert_eq!(hello.trim(), "hello from the jim test image as 999:998");
    let data = docker_ok(&["run", "--rm", &reference, "stat", "/srv/data"]);
    assert_eq!(data.trim(), "999:998 755");
    let program = docker_ok(&["run", "--rm", &reference, "stat", "/usr/lib/tool/jim-hello"]);
    assert_eq!(program.trim(), "0:0 755");
}
