//! A valid bundle verifies, as an archive and as a folder, with and without a trusted key;
//! `sha256sum -c` agrees; extraction lands the tree only when everything matched.

mod verify_support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use jim_checksums::{MANIFEST_FILE_NAME, SIGNATURE_FILE_NAME, Sha256Digest};
use jim_install::exit::Exit;
use jim_install::verify::{
    Authenticity, BundleForm, VerifyError, VerifyOptions, extract_verified, verify_archive,
    verify_bundle, verify_folder,
};
use verify_support::{IMAGE, INSTALLER, Keys, Member, TOP, bundle_files, listing};

fn trusting(keys: &Keys) -> VerifyOptions {
    VerifyOptions {
        trusted_key: Some(keys.public.clone()),
        ..VerifyOptions::default()
    }
}

fn archive_with(folder: &Path, members: &[Member]) -> std::path::PathBuf {
    let path = folder.join(format!("{TOP}.tar.gz"));
    verify_support::write_archive(&path, members);
    path
}

#[test]
fn a_signed_bundle_verifies_with_its_trusted_key() {
    let folder = tempfile::tempdir().unwrap();
    let keys = Keys::generate();
    let archive = archive_with(folder.path(), &verify_support::valid_members(Some(&keys)));

    let report = verify_archive(&archive, &trusting(&keys)).unwrap();
    assert!(report.is_verified(), "{report:?}");
    assert_eq!(report.form, BundleForm::Archive);
    assert_eq!(report.release.as_deref(), Some(TOP));
    assert_eq!(
        report.authenticity,
        Authenticity::Verified {
            key_id: keys.public.key_id(),
            trusted_comment: "jim-release-9.9.9 test".into(),
        }
    );
    let mut expected: Vec<String> = bundle_files().into_iter().map(|(path, ..)| path).collect();
    expected.sort();
    assert_eq!(report.verified, expected);
    let total: usize = bundle_files().iter().map(|(_, data, _)| data.len()).sum();
    assert_eq!(report.bytes_hashed, total as u64);
    assert_eq!(
        report.archive_sha256,
        Some(Sha256Digest::of_bytes(&fs::read(&archive).unwrap()))
    );
}

#[test]
fn without_a_trusted_key_only_integrity_is_checked_and_the_report_says_so() {
    let folder = tempfile::tempdir().unwrap();
    let keys = Keys::generate();
    let signed = archive_with(folder.path(), &verify_support::valid_members(Some(&keys)));
    let report = verify_archive(&signed, &VerifyOptions::default()).unwrap();
    assert!(report.is_verified());
    assert_eq!(
        report.authenticity,
        Authenticity::NotChecked {
            signature_key_id: Some(keys.public.key_id())
        }
    );

    let unsigned_folder = tempfile::tempdir().unwrap();
    let unsigned = archive_with(unsigned_folder.path(), &verify_support::valid_members(None));
    let report = verify_archive(&unsigned, &VerifyOptions::default()).unwrap();
    assert!(report.is_verified());
    assert!(!report.authenticity.is_verified());
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["authenticity"]["status"], "not-checked");
    assert_eq!(
        json["authenticity"]["signature_key_id"],
        serde_json::Value::Null
    );
}

#[test]
fn an_archive_without_folder_entries_verifies_too() {
    let folder = tempfile::tempdir().unwrap();
    let members: Vec<Member> = verify_support::valid_members(None)
        .into_iter()
        .filter(|member| member.type_byte != b'5')
        .collect();
    let archive = archive_with(folder.path(), &members);
    assert!(
        verify_archive(&archive, &VerifyOptions::default())
            .unwrap()
            .is_verified()
    );
}

#[test]
fn sha256sum_agrees_with_the_verdict() {
    let folder = tempfile::tempdir().unwrap();
    let good = archive_with(folder.path(), &verify_support::valid_members(None));
    assert!(
        verify_archive(&good, &VerifyOptions::default())
            .unwrap()
            .is_verified()
    );
    assert!(
        sha256sum_check(&good),
        "sha256sum -c refused the valid bundle"
    );

    // The same archive with one byte of the image changed after the manifest was written.
    let mut members = verify_support::valid_members(None);
    let image = members
        .iter_mut()
        .find(|member| member.name() == format!("{TOP}/{IMAGE}"))
        .unwrap();
    image.data[1000] ^= 0x01;
    let bad_folder = tempfile::tempdir().unwrap();
    let bad = archive_with(bad_folder.path(), &members);
    let report = verify_archive(&bad, &VerifyOptions::default()).unwrap();
    assert_eq!(report.mismatched.len(), 1);
    assert!(
        !sha256sum_check(&bad),
        "sha256sum -c accepted the changed image"
    );
}

/// Unpacks an archive with GNU tar and runs `sha256sum -c` in its top folder.
fn sha256sum_check(archive: &Path) -> bool {
    let unpacked = tempfile::tempdir().unwrap();
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(archive)
        .arg("-C")
        .arg(unpacked.path())
        .status()
        .unwrap();
    assert!(status.success());
    Command::new("sha256sum")
        .args(["--check", "--quiet", "--strict", MANIFEST_FILE_NAME])
        .current_dir(unpacked.path().join(TOP))
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn extraction_lands_the_verified_tree_with_safe_modes() {
    let source = tempfile::tempdir().unwrap();
    let keys = Keys::generate();
    let mut members = verify_support::valid_members(Some(&keys));
    // Modes in the archive are not trusted: setuid and group-write are dropped.
    for member in &mut members {
        if member.name() == format!("{TOP}/{INSTALLER}") {
            member.mode = 0o4775;
        } else if member.name() == format!("{TOP}/README.txt") {
            member.mode = 0o2666;
        }
    }
    let archive = archive_with(source.path(), &members);
    let target = tempfile::tempdir().unwrap();
    let destination = target.path().join("jim");

    let extracted = extract_verified(&archive, &destination, &trusting(&keys)).unwrap();
    assert_eq!(extracted.root, destination);
    assert!(extracted.previous.is_none());
    assert!(extracted.report.authenticity.is_verified());
    assert_eq!(
        listing(target.path()),
        ["jim"],
        "no staging folder is left behind"
    );

    for (path, data, _) in bundle_files() {
        assert_eq!(fs::read(destination.join(&path)).unwrap(), data, "{path}");
    }
    assert!(destination.join(MANIFEST_FILE_NAME).is_file());
    assert!(destination.join(SIGNATURE_FILE_NAME).is_file());
    let mode = |path: &str| {
        fs::metadata(destination.join(path))
            .unwrap()
            .permissions()
            .mode()
    };
    assert_eq!(mode(INSTALLER) & 0o7777, 0o755);
    assert_eq!(mode("README.txt") & 0o7777, 0o644);
    assert_eq!(mode(IMAGE) & 0o7777, 0o644);
    assert_eq!(mode("docs") & 0o7777, 0o755);
    assert_eq!(mode(".") & 0o7777, 0o755);
}

#[test]
fn the_extracted_folder_verifies_and_its_changes_are_found() {
    let source = tempfile::tempdir().unwrap();
    let keys = Keys::generate();
    let archive = archive_with(source.path(), &verify_support::valid_members(Some(&keys)));
    let target = tempfile::tempdir().unwrap();
    let destination = target.path().join(TOP);
    extract_verified(&archive, &destination, &trusting(&keys)).unwrap();

    let report = verify_folder(&destination, &trusting(&keys)).unwrap();
    assert!(report.is_verified(), "{report:?}");
    assert_eq!(report.form, BundleForm::Folder);
    assert_eq!(report.release.as_deref(), Some(TOP));
    assert!(report.authenticity.is_verified());
    assert_eq!(report.verified.len(), bundle_files().len());
    // The same report comes back when the folder is given to the dispatcher.
    assert_eq!(
        verify_bundle(&destination, &trusting(&keys)).unwrap(),
        report
    );

    fs::write(destination.join("docs/INSTALL.md"), "changed").unwrap();
    fs::remove_file(destination.join("VERSION")).unwrap();
    fs::write(destination.join("docs/extra.md"), "extra").unwrap();
    let report = verify_folder(&destination, &VerifyOptions::default()).unwrap();
    assert_eq!(report.mismatched[0].path, "docs/INSTALL.md");
    assert_eq!(report.missing, ["VERSION"]);
    assert_eq!(report.unlisted, ["docs/extra.md"]);
    let error = report.into_result().unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "`{}` does not match its checksum manifest: checksum mismatch for \
             `docs/INSTALL.md`, and 2 more problems",
            destination.display()
        )
    );

    std::os::unix::fs::symlink("/etc", destination.join("docs/link")).unwrap();
    let error = verify_folder(&destination, &VerifyOptions::default()).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "`{}` is a symbolic link or special file; a JIM bundle holds only regular files \
             and folders, so every link is refused",
            destination.join("docs/link").display()
        )
    );
}

#[test]
fn a_folder_without_a_manifest_or_with_a_linked_manifest_is_refused() {
    let folder = tempfile::tempdir().unwrap();
    let error = verify_folder(folder.path(), &VerifyOptions::default()).unwrap_err();
    assert!(
        matches!(error, VerifyError::ManifestMissing { .. }),
        "{error}"
    );

    let elsewhere = tempfile::tempdir().unwrap();
    fs::write(elsewhere.path().join("m"), "").unwrap();
    std::os::unix::fs::symlink(
        elsewhere.path().join("m"),
        folder.path().join(MANIFEST_FILE_NAME),
    )
    .unwrap();
    let error = verify_folder(folder.path(), &VerifyOptions::default()).unwrap_err();
    assert!(
        matches!(error, VerifyError::NotRegularInFolder { .. }),
        "{error}"
    );
}

#[test]
fn an_existing_destination_is_kept_unless_replacing_is_asked_for() {
    let source = tempfile::tempdir().unwrap();
    let archive = archive_with(source.path(), &verify_support::valid_members(None));
    let target = tempfile::tempdir().unwrap();
    let destination = target.path().join("jim");
    fs::create_dir(&destination).unwrap();
    fs::write(destination.join("old.txt"), "old").unwrap();

    let error = extract_verified(&archive, &destination, &VerifyOptions::default()).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("the destination `{}` already exists", destination.display())
    );
    assert_eq!(error.exit(), Exit::Usage);
    assert_eq!(listing(target.path()), ["jim"]);
    assert_eq!(listing(&destination), ["old.txt"]);

    let replace = VerifyOptions {
        replace_existing: true,
        ..VerifyOptions::default()
    };
    let extracted = extract_verified(&archive, &destination, &replace).unwrap();
    let previous = target.path().join("jim.previous");
    assert_eq!(extracted.previous.as_deref(), Some(previous.as_path()));
    assert_eq!(listing(&previous), ["old.txt"]);
    assert!(destination.join("VERSION").is_file());

    // A second replacement keeps one previous tree: the one it replaced.
    extract_verified(&archive, &destination, &replace).unwrap();
    assert!(previous.join("VERSION").is_file());
    assert!(!previous.join("old.txt").exists());
    assert_eq!(listing(target.path()), ["jim", "jim.previous"]);
}

#[test]
fn a_missing_bundle_is_a_usage_error_naming_the_path() {
    let error = verify_bundle(
        Path::new("/nonexistent/jim.tar.gz"),
        &VerifyOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot open the bundle `/nonexistent/jim.tar.gz`"
    );
    assert_eq!(error.exit(), Exit::Usage);
}
