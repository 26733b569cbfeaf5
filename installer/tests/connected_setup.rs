//! The whole connected path against real servers on 127.0.0.1: a release server serving the
//! assets of a release that `jim-bundle` built, and a registry (Debian's `docker-registry`)
//! holding the project's images. `jim-install setup` finds the release, verifies its files,
//! configures, pulls the images (absent from the engine before) and brings up a ready JIM.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::release_server::{REPOSITORY, ReleaseServer};
use support::site::{Site, env_lines, free_port, jim_bundle, ready, run, text};

const REGISTRY_BINARY: &str = "/usr/bin/docker-registry";

/// A registry of the test's own, with its storage in a temporary folder, stopped when dropped.
struct Registry {
    child: Child,
    port: u16,
    _storage: tempfile::TempDir,
}

impl Registry {
    fn start() -> Self {
        assert!(
            Path::new(REGISTRY_BINARY).exists(),
            "`{REGISTRY_BINARY}` is missing: install it with `apt-get install docker-registry` \
             (.ci/run does)"
        );
        let storage = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = storage.path().join("config.yml");
        fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    \
                 rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                storage.path().join("data").display()
            ),
        )
        .unwrap();
        let child = Command::new(REGISTRY_BINARY)
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start docker-registry");
        let registry = Self {
            child,
            port,
            _storage: storage,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let output = run(Command::new("curl").args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                &format!("http://127.0.0.1:{port}/v2/"),
            ]));
            if String::from_utf8_lossy(&output.stdout) == "200" {
                return registry;
            }
            assert!(Instant::now() < deadline, "the registry did not start");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn prefix(&self) -> String {
        format!("127.0.0.1:{}/", self.port)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Image references removed from the engine when dropped.
struct Images(Vec<String>);

impl Drop for Images {
    fn drop(&mut self) {
        for image in &self.0 {
            let _ = Command::new("docker").args(["rmi", "-f", image]).output();
        }
    }
}

fn image_present(reference: &str) -> bool {
    run(Command::new("docker").args(["image", "inspect", reference]))
        .status
        .success()
}

fn docker(arguments: &[&str]) {
    let output = run(Command::new("docker").args(arguments));
    assert!(
        output.status.success(),
        "docker {arguments:?}: {}",
        text(&output)
    );
}

/// Writes the release assets of the bundle `archive` (built into its folder).
fn release_assets(archive: &Path, version: &str) -> PathBuf {
    let dist = archive.parent().unwrap();
    let assets = dist.join("assets");
    let output = run(Command::new(jim_bundle())
        .args(["release-assets", "--version", version, "--from"])
        .arg(dist)
        .arg("--out")
        .arg(&assets));
    assert!(output.status.success(), "release-assets: {}", text(&output));
    assets
}

#[test]
fn setup_pulls_the_images_from_the_registry_and_brings_up_a_ready_jim() {
    // Declared first so that it is dropped last, after the stack is down.
    let mut images = Images(Vec::new());
    let site = Site::new();
    let registry = Registry::start();
    let archive = site.build_bundle();
    let assets = release_assets(&archive, &site.version);

    // The project's images go into the registry, then leave the engine under every name.
    let release_folder = archive.with_file_name(format!("jim-release-{}", site.version));
    for tar in fs::read_dir(release_folder.join("docker-images")).unwrap() {
        docker(&["load", "-i", tar.unwrap().path().to_str().unwrap()]);
    }
    let local: Vec<String> = ["jim-web", "jim-worker", "jim-scheduler"]
        .iter()
        .map(|name| format!("{name}:{}", site.version))
        .chain([site.database_tag.clone()])
        .collect();
    let pulled: Vec<String> = local
        .iter()
        .map(|reference| format!("{}{reference}", registry.prefix()))
        .collect();
    images.0.extend(pulled.iter().cloned());
    images.0.extend(local.iter().cloned());
    for (reference, remote) in local.iter().zip(&pulled) {
        docker(&["tag", reference, remote]);
        docker(&["push", remote]);
        docker(&["rmi", reference, remote]);
    }
    for reference in local.iter().chain(&pulled) {
        assert!(
            !image_present(reference),
            "`{reference}` is still in the engine"
        );
    }

    let server = ReleaseServer::start();
    server.publish(&assets, &format!("v{}", site.version), false, true);
    let port = free_port();
    let answers = site.answers("database:\n  mode: bundled\n", port);
    let database_image = format!("{}{}", registry.prefix(), site.database_tag);
    let output = run(site
        .installer(&["setup"])
        .args([
            "--release-url",
            &server.api_url(),
            "--repository",
            REPOSITORY,
        ])
        .args([
            "--registry",
            &registry.prefix(),
            "--database-image",
            &database_image,
        ])
        .arg("--answers")
        .arg(&answers)
        .args(["--timeout", "420", "--ignore-preflight"]));
    assert!(output.status.success(), "setup: {}", text(&output));
    assert!(ready(port), "not ready on the published port after setup");

    // The images came from the registry: present now, under the registry's prefix only.
    for reference in &pulled {
        assert!(image_present(reference), "`{reference}` was not pulled");
    }
    for reference in &local {
        assert!(
            !image_present(reference),
            "`{reference}` appeared without the prefix"
        );
    }

    // `.env` names the registry and the release; the state records the version.
    let env = env_lines(&site.install_dir().join("compose/.env"));
    assert!(
        env.contains(&format!("DOCKER_REGISTRY={}", registry.prefix())),
        "{env:?}"
    );
    assert!(
        env.contains(&format!("JIM_VERSION={}", site.version)),
        "{env:?}"
    );
    assert!(
        env.contains(&format!("JIM_DB_IMAGE={database_image}")),
        "{env:?}"
    );
    let state: serde_json::Value =
        serde_json::from_slice(&fs::read(site.install_dir().join("install-state.json")).unwrap())
            .unwrap();
    assert_eq!(state["version"], site.version.as_str());
    assert_eq!(state["project"], site.project.as_str());

    // Every container runs healthy.
    let output = run(&mut site.installer(&["status", "--json"]));
    assert!(output.status.success(), "status: {}", text(&output));
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let containers = status["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 4, "{status}");
    for container in containers {
        assert_eq!(container["health"], "healthy", "{container}");
    }
}
