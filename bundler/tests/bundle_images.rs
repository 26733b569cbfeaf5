//! The images of a bundle in the real Docker Engine, loaded with the plain `docker load -i`
//! an administrator runs. The database image is exported from the engine by the bundler
//! (`--include-image`), so this also proves that an exported tar loads back with its tag.
//!
//! Then the stack runs without Compose: the bundled PostgreSQL on a user network under the
//! alias `jim.database`, and a container of each JIM image against it, until the worker has
//! migrated the database and `jim-web healthcheck` reports ready.
//!
//! Needs the Docker Engine, the release binaries and PostgreSQL 15 from Debian; nothing is
//! pulled. Every image, container and network gets a unique name and is removed at the end.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{
    DockerCleanup, docker_ok, jim_bundle, release_binaries, require_docker, run, run_ok,
    unique_name, workspace_root, write_postgres_image,
};
use jim_bundle::layout::{BundleManifest, Service};
use serde_json::Value;

const VERSION: &str = "0.1.0";
const DATABASE_FILE: &str = "jim-postgres-15.tar";

fn inspect(reference: &str) -> Value {
    let text = docker_ok(&["image", "inspect", reference]);
    let mut list: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(list.len(), 1, "{text}");
    list.remove(0)
}

/// Waits until `check` returns true, failing with `what` after `limit`.
fn wait_for(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("timed out after {limit:?} waiting for {what}");
}

#[test]
fn bundle_images_load_start_and_migrate_the_bundled_database() {
    require_docker();
    let dir = tempfile::tempdir().unwrap();
    let mut cleanup = DockerCleanup::default();
    let name = unique_name("bundle");
    let prefix = format!("{name}/");

    // The database image goes into the engine first, so the bundler can export it by tag.
    let database_reference = format!("{name}/postgres:15-debian");
    let database_tar = dir.path().join("postgres.tar");
    write_postgres_image(&database_reference, &database_tar);
    cleanup.images.push(database_reference.clone());
    docker_ok(&["load", "-i", database_tar.to_str().unwrap()]);

    let out = dir.path().join("dist");
    let started = Instant::now();
    run_ok(
        jim_bundle()
            .args(["build", "--version", VERSION, "--registry-prefix", &prefix])
            .arg("--source")
            .arg(workspace_root())
            .arg("--binaries")
            .arg(release_binaries())
            .arg("--out")
            .arg(&out)
            .arg("--include-image")
            .arg(format!("{database_reference}={DATABASE_FILE}"))
            .args(["--database-image-name", DATABASE_FILE]),
    );
    eprintln!(
        "built the bundle in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let tree = out.join(format!("jim-release-{VERSION}"));
    let manifest = BundleManifest::read(&tree).unwrap();

    // The exported database image must load back by itself, so remove the original first.
    docker_ok(&["image", "rm", &database_reference]);
    let mut references = Vec::new();
    for image in &manifest.images {
        cleanup.images.push(image.reference.clone());
        let loaded = docker_ok(&["load", "-i", tree.join(&image.file).to_str().unwrap()]);
        assert!(
            loaded.contains(&format!("Loaded image: {}", image.reference)),
            "`docker load -i {}` said:\n{loaded}",
            image.file
        );
        assert_eq!(inspect(&image.reference)["Id"], image.image_id);
        references.push(image.reference.clone());
    }
    assert_eq!(
        manifest.database_image().unwrap().reference,
        database_reference
    );

    // The service images carry the user, the health check and the labels.
    for service in Service::ALL {
        let reference = format!("{prefix}{}:{VERSION}", service.name());
        assert!(references.contains(&reference), "{references:?}");
        let config = inspect(&reference)["Config"].clone();
        let program = format!("/app/{}", service.name());
        assert_eq!(config["User"], "1654:1654");
        assert_eq!(config["Entrypoint"], serde_json::json!([program]));
        assert_eq!(
            config["Healthcheck"]["Test"],
            serde_json::json!(["CMD", program, "healthcheck"])
        );
        assert_eq!(config["Healthcheck"]["Interval"], 30_000_000_000u64);
        assert_eq!(config["Healthcheck"]["Timeout"], 5_000_000_000u64);
        assert_eq!(config["Healthcheck"]["StartPeriod"], 300_000_000_000u64);
        assert_eq!(config["Healthcheck"]["Retries"], 3);
        let labels = &config["Labels"];
        assert_eq!(labels["org.opencontainers.image.version"], VERSION);
        assert_eq!(labels["org.opencontainers.image.title"], service.name());
        assert_eq!(
            labels["org.opencontainers.image.created"],
            "2026-01-01T00:00:00Z"
        );
        assert!(
            labels["org.opencontainers.image.revision"]
                .as_str()
                .is_some_and(|r| !r.is_empty())
        );
        assert!(
            labels["org.opencontainers.image.source"]
                .as_str()
                .is_some_and(|s| !s.is_empty())
        );
        assert!(
            config["Env"]
                .to_string()
                .contains("JIM_LOG_PATH=/var/log/jim"),
            "{config}"
        );
        let web_port = config["ExposedPorts"].get("80/tcp").is_some();
        assert_eq!(web_port, service == Service::Web, "{config}");
    }

    // The bundled database on a user network, reachable as jim.database.
    let network = unique_name("network");
    docker_ok(&["network", "create", &network]);
    cleanup.networks.push(network.clone());
    let database = format!("{name}-database");
    cleanup.containers.push(database.clone());
    docker_ok(&[
        "run",
        "--detach",
        "--name",
        &database,
        "--network",
        &network,
        "--network-alias",
        "jim.database",
        "--env",
        "POSTGRES_DB=jim",
        "--env",
        "POSTGRES_USER=jim",
        "--env",
        "POSTGRES_PASSWORD=bundle-test-password",
        &database_reference,
    ]);
    wait_for(
        "the bundled database to accept connections",
        Duration::from_secs(120),
        || {
            run(Command::new("docker").args([
                "exec",
                &database,
                "pg_isready",
                "--host=127.0.0.1",
                "--username=jim",
                "--dbname=jim",
            ]))
            .status
            .success()
        },
    );

    // A container of each service, configured as the compose file configures it.
    let environment = [
        "JIM_DB_HOSTNAME=jim.database",
        "JIM_DB_NAME=jim",
        "JIM_DB_USERNAME=jim",
        "JIM_DB_PASSWORD=bundle-test-password",
        "JIM_LOG_LEVEL=Information",
    ];
    let mut containers = Vec::new();
    for service in Service::ALL {
        let container = format!("{name}-{}", service.name());
        cleanup.containers.push(container.clone());
        let reference = format!("{prefix}{}:{VERSION}", service.name());
        let mut arguments = vec![
            "run",
            "--detach",
            "--name",
            &container,
            "--network",
            &network,
            "--read-only",
            "--tmpfs",
            "/tmp:uid=1654,gid=1654",
        ];
        // Fresh volumes over the image's folders, as compose mounts them: they take the
        // folders' owner, so the service user can write its logs and keys.
        for folder in ["/var/log/jim", "/data/keys", "/connector-files"] {
            arguments.extend(["--volume", folder]);
        }
        for variable in &environment {
            arguments.extend(["--env", variable]);
        }
        arguments.push(&reference);
        docker_ok(&arguments);
        containers.push((service, container));
    }

    let worker = &containers[1].1;
    wait_for(
        "the worker to migrate the database",
        Duration::from_secs(180),
        || {
            let output = run(Command::new("docker").args(["logs", worker]));
            let logs = String::from_utf8_lossy(&output.stdout);
            if logs.contains("left maintenance mode") {
                return true;
            }
            // A service that exited will not recover: say why at once.
            for (service, container) in &containers {
                let state = docker_ok(&["inspect", "--format", "{{.State.Running}}", container]);
                if state.trim() != "true" {
                    let output = run(Command::new("docker").args(["logs", container]));
                    panic!(
                        "{service} exited:\n{}{}",
                        String::from_utf8_lossy(&output.stdout),
                        String::from_utf8_lossy(&output.stderr)
                    );
                }
            }
            false
        },
    );
    let (_, web) = &containers[0];
    wait_for("jim-web to report ready", Duration::from_secs(60), || {
        run(Command::new("docker").args(["exec", web, "/app/jim-web", "healthcheck"]))
            .status
            .success()
    });
    for (service, container) in &containers {
        let state = docker_ok(&["inspect", "--format", "{{.State.Running}}", container]);
        assert_eq!(state.trim(), "true", "{service} is not running");
    }
    let applied = docker_ok(&[
        "exec",
        &database,
        "psql",
        "--username=jim",
        "--dbname=jim",
        "--tuples-only",
        "--command=SELECT count(*) FROM _sqlx_migrations",
    ]);
    assert!(applied.trim().parse::<u32>().unwrap() >= 1, "{applied}");

    // The database stops cleanly within docker's default grace time.
    let stopped = Instant::now();
    docker_ok(&["stop", &database]);
    assert!(
        stopped.elapsed() < Duration::from_secs(10),
        "the database did not stop quickly"
    );
    let logs = run(Command::new("docker").args(["logs", &database]));
    assert!(
        String::from_utf8_lossy(&logs.stderr).contains("database system is shut down"),
        "the database did not shut down cleanly"
    );
    drop(cleanup);
}
