//! The rendered manifest is checked by the real GNU `sha256sum -c`, and a changed byte is
//! caught both by it and by `verify_tree`.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use jim_checksums::{
    ChecksumManifest, MANIFEST_FILE_NAME, SIGNATURE_FILE_NAME, manifest_for_tree, verify_tree,
};

/// Runs `sha256sum -c checksums.sha256` inside `root`, failing loudly if the tool is absent.
fn sha256sum_check(root: &Path) -> Output {
    Command::new("sha256sum")
        .args(["-c", "--strict", MANIFEST_FILE_NAME])
        .current_dir(root)
        .output()
        .expect("GNU sha256sum (coreutils) must be installed to run this test")
}

fn write_bundle_like_tree(root: &Path) {
    let files: [(&str, &[u8]); 6] = [
        ("VERSION", b"0.1.0\n"),
        ("docker-images/jim-web.tar", &[0u8, 1, 2, 3, 255]),
        ("docs/INSTALL.md", b"# Install\n"),
        ("compose/docker-compose.yml", b"services: {}\n"),
        ("file with spaces.txt", b"spaces\n"),
        ("bin/jim-install", b"\x7fELF not really"),
    ];
    for (relative, contents) in files {
        let path = root.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }
    // A stale signature at the root must be neither listed nor reported.
    fs::write(root.join(SIGNATURE_FILE_NAME), "stale").unwrap();
}

#[test]
fn sha256sum_accepts_every_line_and_catches_a_flipped_byte() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_bundle_like_tree(root);

    let manifest = manifest_for_tree(root).unwrap();
    manifest.write(&root.join(MANIFEST_FILE_NAME)).unwrap();
    assert_eq!(manifest.len(), 6);

    let output = sha256sum_check(root);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "sha256sum -c failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), manifest.len(), "{stdout}");
    for line in &lines {
        assert!(line.ends_with(": OK"), "not OK: {line}");
    }

    // Our own reading of the file gives back the same manifest.
    assert_eq!(
        ChecksumManifest::read(&root.join(MANIFEST_FILE_NAME)).unwrap(),
        manifest
    );
    assert!(verify_tree(root, &manifest).unwrap().is_clean());

    // Flip one byte of one file.
    let target = root.join("docker-images/jim-web.tar");
    let mut bytes = fs::read(&target).unwrap();
    bytes[2] ^= 0x01;
    fs::write(&target, bytes).unwrap();

    let output = sha256sum_check(root);
    assert!(
        !output.status.success(),
        "sha256sum -c accepted a changed file"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("docker-images/jim-web.tar: FAILED"),
        "{stdout}"
    );

    let report = verify_tree(root, &manifest).unwrap();
    assert_eq!(report.mismatched.len(), 1);
    let mismatch = &report.mismatched[0];
    assert_eq!(mismatch.path, "docker-images/jim-web.tar");
    assert_eq!(
        Some(&mismatch.expected),
        manifest.get("docker-images/jim-web.tar")
    );
    assert_ne!(mismatch.expected, mismatch.computed);
    assert!(report.missing.is_empty() && report.unlisted.is_empty());
}

#[test]
fn missing_and_unlisted_files_are_reported_and_sha256sum_agrees_on_missing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_bundle_like_tree(root);
    let manifest = manifest_for_tree(root).unwrap();
    manifest.write(&root.join(MANIFEST_FILE_NAME)).unwrap();

    fs::remove_file(root.join("docs/INSTALL.md")).unwrap();
    fs::write(root.join("docs/EXTRA.md"), "not released").unwrap();

    let output = sha256sum_check(root);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("docs/INSTALL.md"), "{stderr}");

    let report = verify_tree(root, &manifest).unwrap();
    assert_eq!(report.missing, ["docs/INSTALL.md"]);
    assert_eq!(report.unlisted, ["docs/EXTRA.md"]);
    assert!(report.mismatched.is_empty());
    assert_eq!(report.verified.len(), 5);
}

#[test]
fn our_parser_reads_what_sha256sum_writes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_bundle_like_tree(root);
    let ours = manifest_for_tree(root).unwrap();

    // Let sha256sum itself hash the same files, in our order, in text and binary mode.
    let paths: Vec<&str> = ours.iter().map(|(path, _)| path).collect();
    for mode in ["--text", "--binary"] {
        let output = Command::new("sha256sum")
            .arg(mode)
            .args(&paths)
            .current_dir(root)
            .output()
            .expect("GNU sha256sum (coreutils) must be installed to run this test");
        assert!(output.status.success());
        assert_eq!(
            ChecksumManifest::parse(&output.stdout).unwrap(),
            ours,
            "{mode}"
        );
        if mode == "--text" {
            assert_eq!(String::from_utf8(output.stdout).unwrap(), ours.render());
        }
    }
}
