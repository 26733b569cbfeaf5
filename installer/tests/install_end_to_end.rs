//! The whole air-gap path against the real Docker Engine and Compose v2: `jim-bundle` builds a
//! bundle from the release binaries and a PostgreSQL image made from Debian's packages, then
//! `jim-install install` takes the `.tar.gz` to a ready JIM, `status` reports it, a second
//! `install` changes nothing, and `down` stops it. Each test uses its own version tag and
//! compose project, and removes its containers, networks, volumes and images.

mod support;

use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use support::site::{Site, env_lines, free_port, ready, run, text};

#[test]
fn install_from_the_archive_with_the_bundled_database_then_again_then_down() {
    let site = Site::new();
    let archive = site.build_bundle();
    let port = free_port();
    let answers = site.answers("database:\n  mode: bundled\n", port);

    let started = Instant::now();
    let output = run(site
        .installer(&["install"])
        .arg(&archive)
        .arg("--answers")
        .arg(&answers)
        .args(["--timeout", "420", "--ignore-preflight"]));
    assert!(output.status.success(), "install: {}", text(&output));
    eprintln!("install took {} s", started.elapsed().as_secs());
    assert!(ready(port), "not ready on the published port after install");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains(&format!("http://localhost:{port}/")),
        "{}",
        text(&output)
    );

    // Every container of the project is running and healthy.
    let output = run(&mut site.installer(&["status", "--json"]));
    assert!(output.status.success(), "status: {}", text(&output));
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(status["ready"], true);
    let containers = status["containers"].as_array().unwrap();
    let services: Vec<&str> = containers
        .iter()
        .map(|container| container["service"].as_str().unwrap())
        .collect();
    assert_eq!(
        services,
        ["jim.database", "jim.scheduler", "jim.web", "jim.worker"]
    );
    for container in containers {
        assert_eq!(container["state"], "running", "{container}");
        assert_eq!(container["health"], "healthy", "{container}");
    }

    // The .env holds the loaded image tags and a generated database password, mode 0600.
    let env_path = site.install_dir().join("compose/.env");
    let first = env_lines(&env_path);
    assert!(
        first.contains(&format!("JIM_VERSION={}", site.version)),
        "{first:?}"
    );
    assert!(
        first.contains(&format!("JIM_DB_IMAGE={}", site.database_tag)),
        "{first:?}"
    );
    let password = first
        .iter()
        .find(|line| line.starts_with("JIM_DB_PASSWORD="))
        .unwrap()
        .clone();
    assert_eq!(password.len(), "JIM_DB_PASSWORD=".len() + 32, "{password}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        fs::metadata(&env_path).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // A second install changes nothing it should not: same .env, no image loaded twice.
    let output = run(site
        .installer(&["install"])
        .arg(&archive)
        .arg("--answers")
        .arg(&answers)
        .args(["--timeout", "300", "--ignore-preflight"]));
    assert!(output.status.success(), "second install: {}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("loaded   "),
        "an image was loaded twice: {}",
        text(&output)
    );
    assert_eq!(
        stderr.matches("(same ID; skipped)").count(),
        4,
        "{}",
        text(&output)
    );
    assert_eq!(env_lines(&env_path), first);

    // Down stops every container and keeps the volumes.
    let output = run(&mut site.installer(&["down"]));
    assert!(output.status.success(), "down: {}", text(&output));
    let output = run(Command::new("docker").args([
        "ps",
        "-q",
        "--filter",
        &format!("label=com.docker.compose.project={}", site.project),
    ]));
    assert!(
        String::from_utf8_lossy(&output.stdout).trim().is_empty(),
        "containers remain"
    );
    let output = run(Command::new("docker").args(["volume", "ls", "-q"]));
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .contains(&format!("{}_jim-db-volume", site.project)),
        "down removed the database volume"
    );
}

#[test]
fn install_with_an_external_database_the_profile_does_not_manage() {
    let site = Site::new();
    let archive = site.build_bundle();
    let port = free_port();

    // The site's own PostgreSQL: a container outside the compose project, on a network of
    // its own, that JIM reaches by name once it joins the stack's network.
    let database = format!("{}-external-db", site.project);
    let answers = site.answers(
        &format!(
            "database:\n  mode: external\n  host: {database}:5432\n  name: identity\n  \
             username: jimapp\n  password: external-secret-123\n  testConnection: false\n"
        ),
        port,
    );
    let mut site = site;
    site.extra_containers.push(database.clone());

    // Compose creates the stack's network at `up`; the database joins it as soon as it exists.
    // Start-up order does not matter: the services retry the database meanwhile.
    let network = format!("{}_jim-network", site.project);
    let mut install = site
        .installer(&["install"])
        .arg(&archive)
        .arg("--answers")
        .arg(&answers)
        .args(["--timeout", "420", "--ignore-preflight"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let inspect = run(Command::new("docker").args(["network", "inspect", &network]));
        if inspect.status.success() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the stack's network never appeared"
        );
        if let Some(status) = install.try_wait().unwrap() {
            let output = install.wait_with_output().unwrap();
            panic!("install ended before up ({status}): {}", text(&output));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let output = run(Command::new("docker").args([
        "run",
        "-d",
        "--name",
        &database,
        "--network",
        &network,
        "-e",
        "POSTGRES_DB=identity",
        "-e",
        "POSTGRES_USER=jimapp",
        "-e",
        "POSTGRES_PASSWORD=external-secret-123",
        &site.database_tag,
    ]));
    assert!(
        output.status.success(),
        "external database: {}",
        text(&output)
    );

    let output = install.wait_with_output().unwrap();
    assert!(output.status.success(), "install: {}", text(&output));
    assert!(ready(port));

    // The bundled database was not started: the profile stayed off.
    let output = run(&mut site.installer(&["status", "--json"]));
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let services: Vec<&str> = status["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|container| container["service"].as_str().unwrap())
        .collect();
    assert_eq!(
        services,
        ["jim.scheduler", "jim.web", "jim.worker"],
        "{status}"
    );
    let env = env_lines(&site.install_dir().join("compose/.env"));
    assert!(
        env.contains(&format!("JIM_DB_HOSTNAME={database}:5432")),
        "{env:?}"
    );

    // The site's database leaves the stack's network first, so that `down` can remove it.
    let _ = run(Command::new("docker").args(["network", "disconnect", "-f", &network, &database]));
    let output = run(&mut site.installer(&["down"]));
    assert!(output.status.success(), "down: {}", text(&output));
}

#[test]
fn no_docker_engine_gives_the_documented_exit_code_and_a_hint() {
    let site = Site::new();
    let output = run(site
        .installer(&["status"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock"));
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot reach the Docker Engine"),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
}
