//! Upgrades against the real Docker Engine and Compose v2, on one installed site shared by the
//! phases (each Docker install costs minutes): version A is installed with data and schedules;
//! an edited compose file stops `upgrade` before it changes anything; a release whose worker
//! migrates and then fails is undone by the upgrade itself; a release with a new migration
//! upgrades with the data and schedules as they were; `rollback` returns to A.

mod support;

use std::fs;

use support::site::{Site, free_port, ready, run, text};

fn read(path: &std::path::Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn upgrade_keeps_data_refuses_edits_goes_back_by_itself_and_rolls_back() {
    let site = Site::new();
    let id = site.version.rsplit('.').next().unwrap().to_string();
    let archive_a = site.build_bundle();
    let port = free_port();
    let answers = site.answers("database:\n  mode: bundled\n", port);
    let output = run(site
        .installer(&["install"])
        .arg(&archive_a)
        .arg("--answers")
        .arg(&answers)
        .args(["--timeout", "420", "--ignore-preflight"]));
    assert!(output.status.success(), "install: {}", text(&output));
    site.insert_sample_data();
    let before = site.sample_data();
    let enabled: usize = site
        .psql("SELECT count(*) FROM schedules WHERE enabled")
        .parse()
        .unwrap();
    assert!(before.contains("Paused import=false"), "{before}");
    assert!(before.contains("Hourly HR import=true"), "{before}");

    let dir = site.install_dir();
    let state_file = dir.join("install-state.json");
    let production = dir.join("compose/docker-compose.production.yml");
    let env_file = dir.join("compose/.env");

    // Bundles B (a new migration) and C (migrates, then the worker fails).
    let version_b = format!("0.2.0-e2e.{id}");
    let version_c = format!("0.3.0-e2e.{id}");
    let archive_b = site.build_bundle_as(&version_b, &site.binaries_with_worker("jim-worker-next"));
    let archive_c =
        site.build_bundle_as(&version_c, &site.binaries_with_worker("jim-worker-broken"));

    // Every upgrade below goes on past preflight (this machine may be small) and gives the new
    // version five minutes to become ready.
    let upgrade = |archive: &std::path::Path| {
        run(site.installer(&["upgrade"]).arg(archive).args([
            "--ignore-preflight",
            "--timeout",
            "300",
        ]))
    };

    // 1. An edited compose file: the upgrade stops before it changes anything.
    let original = read(&production);
    fs::write(&production, format!("{original}# a local change\n")).unwrap();
    let state_before = read(&state_file);
    let env_before = read(&env_file);
    let output = upgrade(&archive_b);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("docker-compose.production.yml"), "{stderr}");
    assert!(stderr.contains("docker-compose.local.yml"), "{stderr}");
    assert_eq!(read(&state_file), state_before);
    assert_eq!(read(&env_file), env_before);
    assert!(!dir.join("upgrade-record.json").exists());
    assert!(
        !dir.join(format!("releases/jim-release-{version_b}"))
            .exists()
    );
    fs::write(&production, original).unwrap();

    // 2. The broken release: the installer returns to A by itself, data and schedules intact.
    let output = upgrade(&archive_c);
    assert_eq!(output.status.code(), Some(10), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("JIM {version_c} did not become ready")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("JIM {} is running again", site.version)),
        "{stderr}"
    );
    assert!(stderr.contains("from the backup"), "{stderr}");
    assert!(ready(port), "A is not ready after the failed upgrade");
    assert!(read(&state_file).contains(&format!("\"version\": \"{}\"", site.version)));
    assert!(read(&env_file).contains(&format!("JIM_VERSION={}\n", site.version)));
    assert!(
        !site.has_marker_table(),
        "the failed release's migration stayed"
    );
    assert_eq!(site.sample_data(), before);
    let record: serde_json::Value =
        serde_json::from_str(&read(&dir.join("upgrade-record.json"))).unwrap();
    assert_eq!(record["phase"], "rolled-back", "{record}");
    assert_eq!(
        record["disabledSchedules"].as_array().unwrap().len(),
        enabled,
        "{record}"
    );

    // 3. B: ready, the new migration applied, data and schedules as before.
    let output = upgrade(&archive_b);
    assert!(output.status.success(), "upgrade to B: {}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("backup: "), "{stderr}");
    assert!(ready(port), "B is not ready");
    assert!(site.has_marker_table());
    assert_eq!(site.sample_data(), before);
    assert!(read(&state_file).contains(&format!("\"version\": \"{version_b}\"")));
    assert!(dir.join("compose/docker-compose.yml.previous").exists());
    assert!(
        read(&dir.join("compose/.env.previous"))
            .contains(&format!("JIM_VERSION={}\n", site.version))
    );
    let record: serde_json::Value =
        serde_json::from_str(&read(&dir.join("upgrade-record.json"))).unwrap();
    assert_eq!(record["phase"], "completed", "{record}");
    let backup = record["backup"].as_str().unwrap().to_string();
    assert!(std::path::Path::new(&backup).exists(), "{backup}");
    // The old images are kept.
    let output = run(std::process::Command::new("docker").args([
        "image",
        "inspect",
        &format!("jim-worker:{}", site.version),
    ]));
    assert!(output.status.success(), "the old worker image was removed");

    // The same bundle again: nothing to do.
    let output = upgrade(&archive_b);
    assert!(output.status.success(), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("nothing to do"));

    // An older bundle: refused, with rollback named as the way back; nothing changes.
    let state_at_b = read(&state_file);
    let output = upgrade(&archive_a);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("older than the installed {version_b}")),
        "{stderr}"
    );
    assert!(stderr.contains("jim-install rollback"), "{stderr}");
    assert_eq!(read(&state_file), state_at_b);
    assert!(ready(port), "B is not ready after the refused downgrade");

    // 4. Rollback: A again, with the backup taken before the upgrade.
    let output = run(site.installer(&["rollback"]).args(["--timeout", "300"]));
    assert!(output.status.success(), "rollback: {}", text(&output));
    assert!(ready(port), "A is not ready after the rollback");
    assert!(!site.has_marker_table());
    assert_eq!(site.sample_data(), before);
    assert!(read(&state_file).contains(&format!("\"version\": \"{}\"", site.version)));
}
