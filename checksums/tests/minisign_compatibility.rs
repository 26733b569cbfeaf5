//! Signatures made by this crate are accepted by Debian's `minisign` tool, and signatures
//! made by that tool are accepted by this crate.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use jim_checksums::signature::{self, PublicKey, SecretKey};
use jim_checksums::{MANIFEST_FILE_NAME, SIGNATURE_FILE_NAME, manifest_for_tree};

/// Runs the `minisign` tool in `folder`, failing loudly if it is absent.
fn minisign(folder: &Path, arguments: &[&str]) -> Output {
    Command::new("minisign")
        .args(arguments)
        .current_dir(folder)
        .output()
        .expect("the minisign tool must be installed to run this test (apt-get install minisign)")
}

fn describe(output: &Output) -> String {
    format!(
        "status {}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Writes a small tree and its manifest, and returns the manifest bytes.
fn tree_with_manifest(root: &Path) -> Vec<u8> {
    fs::create_dir_all(root.join("docs")).unwrap();
    fs::write(root.join("docs/INSTALL.md"), "# Install\n").unwrap();
    fs::write(root.join("VERSION"), "0.1.0\n").unwrap();
    let text = manifest_for_tree(root).unwrap().render();
    fs::write(root.join(MANIFEST_FILE_NAME), &text).unwrap();
    text.into_bytes()
}

#[test]
fn minisign_tool_verifies_our_signature_and_rejects_a_changed_byte() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let manifest = tree_with_manifest(root);

    let pair = signature::generate_key_pair(None).unwrap();
    let secret = SecretKey::from_text(&pair.secret_key_text, None).unwrap();
    let signed = signature::sign(&secret, &manifest, Some("jim-release 0.1.0")).unwrap();
    fs::write(root.join(SIGNATURE_FILE_NAME), &signed).unwrap();
    fs::write(root.join("KEY.pub"), pair.public_key.to_text()).unwrap();

    let output = minisign(root, &["-V", "-p", "KEY.pub", "-m", MANIFEST_FILE_NAME]);
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("jim-release 0.1.0"), "{stdout}");

    // One changed byte in the manifest must make the tool refuse it.
    let mut changed = manifest.clone();
    changed[0] = if changed[0] == b'0' { b'1' } else { b'0' };
    fs::write(root.join(MANIFEST_FILE_NAME), &changed).unwrap();
    let output = minisign(root, &["-V", "-p", "KEY.pub", "-m", MANIFEST_FILE_NAME]);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(signature::verify(&pair.public_key, &changed, &signed).is_err());
}

#[test]
fn we_verify_a_signature_made_by_the_minisign_tool() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let manifest = tree_with_manifest(root);

    // -W stores the secret key without a password, so nothing prompts.
    let output = minisign(root, &["-G", "-W", "-p", "tool.pub", "-s", "tool.key"]);
    assert!(output.status.success(), "{}", describe(&output));
    let output = minisign(
        root,
        &[
            "-S",
            "-s",
            "tool.key",
            "-m",
            MANIFEST_FILE_NAME,
            "-t",
            "made by the tool",
        ],
    );
    assert!(output.status.success(), "{}", describe(&output));

    let public = PublicKey::from_text(&fs::read_to_string(root.join("tool.pub")).unwrap()).unwrap();
    let signed = fs::read_to_string(root.join(SIGNATURE_FILE_NAME)).unwrap();
    let comment = signature::verify(&public, &manifest, &signed).unwrap();
    assert_eq!(comment, "made by the tool");
}
