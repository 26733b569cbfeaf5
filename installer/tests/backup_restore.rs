//! Backup and restore against the real Docker Engine: a backup of an installed site with data
//! and a key file, the data damaged, a tampered archive and one from a newer schema refused,
//! then the real archive restored to exactly the data and keys backed up.

mod support;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::site::{Site, free_port, ready, run, text};

fn key_file(site: &Site) -> Option<String> {
    let folder = tempfile::tempdir().unwrap();
    let output = run(Command::new("docker")
        .arg("cp")
        .arg(format!(
            "{}:/data/keys/key-test.xml",
            site.container("jim.web")
        ))
        .arg(folder.path()));
    output
        .status
        .success()
        .then(|| fs::read_to_string(folder.path().join("key-test.xml")).unwrap())
}

fn put_key_file(site: &Site, name: &str, contents: &str) {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join(name);
    fs::write(&path, contents).unwrap();
    let output = run(Command::new("docker")
        .arg("cp")
        .arg(&path)
        .arg(format!("{}:/data/keys/{name}", site.container("jim.web"))));
    assert!(output.status.success(), "docker cp: {}", text(&output));
}

/// A copy of the archive whose manifest claims a schema far newer than any image.
fn newer_schema_copy(archive: &Path, folder: &Path) -> PathBuf {
    let target = folder.join("newer-schema.tar");
    let mut builder = tar::Builder::new(fs::File::create(&target).unwrap());
    let mut input = tar::Archive::new(fs::File::open(archive).unwrap());
    for entry in input.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().to_string();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        if name == "manifest.json" {
            let mut manifest: serde_json::Value = serde_json::from_slice(&data).unwrap();
            manifest["schemaVersion"] = serde_json::json!(99_991_231_000_001i64);
            data = serde_json::to_vec(&manifest).unwrap();
        }
        let mut header = entry.header().clone();
        header.set_size(data.len() as u64);
        header.set_cksum();
        builder.append_data(&mut header, &name, &data[..]).unwrap();
    }
    builder.finish().unwrap();
    target
}

#[test]
fn backup_then_damage_then_restore_gives_the_data_back_and_tampering_is_refused() {
    let site = Site::new();
    let archive = site.build_bundle();
    let port = free_port();
    let answers = site.answers("database:\n  mode: bundled\n", port);
    let output = run(site
        .installer(&["install"])
        .arg(&archive)
        .arg("--answers")
        .arg(&answers)
        .args(["--timeout", "420", "--ignore-preflight"]));
    assert!(output.status.success(), "install: {}", text(&output));
    site.insert_sample_data();
    put_key_file(&site, "key-test.xml", "<key id=\"original\"/>");
    let before = site.sample_data();

    // The backup: one archive, named on stdout, with the manifest first.
    let out = site.folder.path().join("backups");
    let output = run(site.installer(&["backup"]).arg("--out").arg(&out));
    assert!(output.status.success(), "backup: {}", text(&output));
    let backup = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    assert!(
        backup.starts_with(&out) && backup.exists(),
        "{}",
        text(&output)
    );
    let names: Vec<String> = tar::Archive::new(fs::File::open(&backup).unwrap())
        .entries()
        .unwrap()
        .map(|entry| entry.unwrap().path().unwrap().to_string_lossy().to_string())
        .collect();
    assert_eq!(names, ["manifest.json", "database.dump", "keys.tar"]);

    // Damage: rows gone, a schedule switched, the key changed and one added.
    site.psql(
        "DELETE FROM connector_space_objects WHERE external_id LIKE '%7'; \
         UPDATE schedules SET enabled = NOT enabled WHERE name = 'Paused import'; \
         DELETE FROM connected_systems WHERE name = 'nothing';",
    );
    put_key_file(&site, "key-test.xml", "<key id=\"changed\"/>");
    put_key_file(&site, "key-extra.xml", "<key id=\"extra\"/>");
    let damaged = site.sample_data();
    assert_ne!(damaged, before);

    // A tampered archive is refused and changes nothing.
    let tampered = site.folder.path().join("tampered.tar");
    let mut bytes = fs::read(&backup).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    fs::write(&tampered, bytes).unwrap();
    let output = run(site.installer(&["restore"]).arg(&tampered));
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("does not match"),
        "{}",
        text(&output)
    );
    assert_eq!(site.sample_data(), damaged);

    // An archive from a newer schema than the images is refused too.
    let newer = newer_schema_copy(&backup, site.folder.path());
    let output = run(site.installer(&["restore"]).arg(&newer));
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("schema"),
        "{}",
        text(&output)
    );
    assert_eq!(site.sample_data(), damaged);

    // The real archive: the data and the keys as they were.
    let output = run(site
        .installer(&["restore"])
        .arg(&backup)
        .args(["--timeout", "300"]));
    assert!(output.status.success(), "restore: {}", text(&output));
    assert!(ready(port), "not ready after restore");
    assert_eq!(site.sample_data(), before);
    assert_eq!(key_file(&site).as_deref(), Some("<key id=\"original\"/>"));
    let output = run(Command::new("docker")
        .arg("cp")
        .arg(format!(
            "{}:/data/keys/key-extra.xml",
            site.container("jim.web")
        ))
        .arg(site.folder.path()));
    assert!(
        !output.status.success(),
        "a key added after the backup survived the restore"
    );
}
