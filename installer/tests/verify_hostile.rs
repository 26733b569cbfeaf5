//! Damaged and hostile variants of a valid bundle, each made here from the valid one. Each must
//! be refused with its own message, by verification and by extraction alike, and extraction
//! must leave nothing behind: not at the destination, not beside it, not anywhere else.

#[path = "verify_hostile/cases.rs"]
mod cases;
mod verify_support;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use jim_install::exit::Exit;
use jim_install::verify::{VerifyOptions, extract_verified, verify_archive};
use verify_support::{Keys, Member, TOP, chain, listing};

#[test]
fn every_hostile_variant_is_refused_with_its_own_message_and_leaves_nothing_behind() {
    let work = tempfile::tempdir().unwrap();
    let fixture = cases::Fixture {
        keys: Keys::generate(),
        other_keys: Keys::generate(),
        absolute_target: work.path().join("absolute-evil"),
    };
    let cases = cases::all(&fixture);
    assert!(cases.len() >= 15);

    let mut messages: BTreeMap<String, &str> = BTreeMap::new();
    for (index, case) in cases.iter().enumerate() {
        let folder = work.path().join(format!("case-{index:02}"));
        fs::create_dir(&folder).unwrap();
        let archive = folder.join(format!("{TOP}.tar.gz"));
        fs::write(&archive, &case.archive).unwrap();
        let target = folder.join("target");
        fs::create_dir(&target).unwrap();
        let options = VerifyOptions {
            trusted_key: case.trust_key.then(|| fixture.keys.public.clone()),
            ..VerifyOptions::default()
        };

        let verify_error = verify_archive(&archive, &options)
            .and_then(|report| report.into_result())
            .expect_err(case.name);
        let expected = case
            .message
            .replace("{archive}", &archive.display().to_string());
        assert_eq!(verify_error.to_string(), expected, "case: {}", case.name);
        assert_eq!(
            verify_error.exit(),
            Exit::VerificationFailed,
            "case: {}",
            case.name
        );
        let full = chain(&verify_error);
        if let Some(cause) = case.cause {
            assert!(full.contains(cause), "case: {}: {full:?}", case.name);
        }

        let extract_error =
            extract_verified(&archive, &target.join("jim"), &options).expect_err(case.name);
        assert_eq!(chain(&extract_error), full, "case: {}", case.name);
        assert!(
            listing(&target).is_empty(),
            "case {}: {:?}",
            case.name,
            listing(&target)
        );
        assert_eq!(listing(&folder), [format!("{TOP}.tar.gz"), "target".into()]);
        assert!(!fixture.absolute_target.exists(), "case: {}", case.name);

        let detail = full.replace(&archive.display().to_string(), "{archive}");
        if let Some(other) = messages.insert(detail.clone(), case.name) {
            panic!("`{}` and `{other}` share the message {detail:?}", case.name);
        }
    }
    assert_eq!(listing(work.path()).len(), cases.len());
}

#[test]
fn members_are_refused_before_anything_after_them_is_read() {
    // A link followed by a file written through it: the link is refused, so the file behind
    // it is never looked at, let alone written.
    let work = tempfile::tempdir().unwrap();
    let outside = work.path().join("outside");
    fs::create_dir(&outside).unwrap();
    let mut members = verify_support::valid_members(None);
    members.push(Member::link(
        &format!("{TOP}/out"),
        b'2',
        &outside.display().to_string(),
    ));
    members.push(Member::file(&format!("{TOP}/out/planted"), b"planted"));
    let archive = work.path().join("a.tar.gz");
    verify_support::write_archive(&archive, &members);

    let destination = work.path().join("target");
    extract_verified(&archive, &destination, &VerifyOptions::default()).unwrap_err();
    assert!(listing(&outside).is_empty());
    assert!(!Path::new(&destination).exists());
}
