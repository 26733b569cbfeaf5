//! Builds small bundle-shaped archives for the verification tests, without the real bundler:
//! a valid `jim-release-9.9.9/` tree with its manifest and signature, and the pieces to make
//! damaged or hostile variants of it.
//!
//! Every member is written with a raw tar header, because the `tar` crate refuses on write
//! some of the names (absolute, `..`) that the installer must refuse on read.

#![allow(dead_code)]

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use jim_checksums::signature::{self, PublicKey, SecretKey};
use jim_checksums::{ChecksumManifest, MANIFEST_FILE_NAME, SIGNATURE_FILE_NAME, Sha256Digest};

/// The top folder of the test bundle.
pub const TOP: &str = "jim-release-9.9.9";
/// The fake image in the test bundle.
pub const IMAGE: &str = "docker-images/x.tar";
/// The executable in the test bundle.
pub const INSTALLER: &str = "jim-install";

/// A signing key pair for tests.
pub struct Keys {
    /// The public key, to trust.
    pub public: PublicKey,
    /// The secret key, to sign with.
    pub secret: SecretKey,
}

impl Keys {
    /// A new key pair with no password.
    pub fn generate() -> Self {
        let pair = signature::generate_key_pair(None).unwrap();
        let secret = SecretKey::from_text(&pair.secret_key_text, None).unwrap();
        Self {
            public: pair.public_key,
            secret,
        }
    }

    /// The `.minisig` text of `data`.
    pub fn sign(&self, data: &[u8]) -> Vec<u8> {
        signature::sign(&self.secret, data, Some("jim-release-9.9.9 test"))
            .unwrap()
            .into_bytes()
    }
}

/// One tar member, as raw as the tests need it.
#[derive(Debug, Clone)]
pub struct Member {
    /// The name bytes, written into the header as they are.
    pub name: Vec<u8>,
    /// The tar entry type byte.
    pub type_byte: u8,
    /// The contents.
    pub data: Vec<u8>,
    /// The mode bits.
    pub mode: u32,
    /// The link target, for links.
    pub link: Vec<u8>,
}

impl Member {
    /// A folder; a `/` is added to the name.
    pub fn folder(name: &str) -> Self {
        Self::raw(format!("{name}/").as_bytes(), b'5', Vec::new(), 0o755)
    }

    /// A regular file with mode 0644.
    pub fn file(name: &str, data: &[u8]) -> Self {
        Self::raw(name.as_bytes(), b'0', data.to_vec(), 0o644)
    }

    /// A member with any name bytes, type and mode.
    pub fn raw(name: &[u8], type_byte: u8, data: Vec<u8>, mode: u32) -> Self {
        Self {
            name: name.to_vec(),
            type_byte,
            data,
            mode,
            link: Vec::new(),
        }
    }

    /// A symbolic (`2`) or hard (`1`) link.
    pub fn link(name: &str, type_byte: u8, target: &str) -> Self {
        let mut member = Self::raw(name.as_bytes(), type_byte, Vec::new(), 0o777);
        member.link = target.as_bytes().to_vec();
        member
    }

    /// The name as text.
    pub fn name(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

/// The files of the valid bundle, relative to the top folder, with their executable bit.
pub fn bundle_files() -> Vec<(String, Vec<u8>, bool)> {
    vec![
        (
            "README.txt".into(),
            b"JIM 9.9.9: run ./jim-install\n".to_vec(),
            false,
        ),
        ("VERSION".into(), b"9.9.9\n".to_vec(), false),
        (
            "bundle.json".into(),
            br#"{"format":1,"version":"9.9.9"}"#.to_vec(),
            false,
        ),
        (
            INSTALLER.into(),
            b"\x7fELF not really an installer".to_vec(),
            true,
        ),
        (IMAGE.into(), fake_image(), false),
        (
            "compose/docker-compose.yml".into(),
            b"services: {}\n".to_vec(),
            false,
        ),
        (
            "compose/.env.example".into(),
            b"JIM_VERSION=9.9.9\n".to_vec(),
            false,
        ),
        (
            "docs/INSTALL.md".into(),
            b"# Installing JIM\n".to_vec(),
            false,
        ),
    ]
}

/// A small image tar: a real tar holding a layer of patterned bytes, big enough to span
/// several copy buffers.
fn fake_image() -> Vec<u8> {
    let layer: Vec<u8> = (0..600_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(layer.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder
        .append_data(&mut header, "blobs/sha256/layer", &layer[..])
        .unwrap();
    builder.into_inner().unwrap()
}

/// The manifest of a set of files.
pub fn manifest_of(files: &[(String, Vec<u8>, bool)]) -> ChecksumManifest {
    let mut manifest = ChecksumManifest::new();
    for (path, data, _) in files {
        manifest.insert(path, Sha256Digest::of_bytes(data)).unwrap();
    }
    manifest
}

/// The members of an archive: the top folder, the manifest text as given, the signature
/// when given, then the folders and files in the order `jim-bundle` writes them.
pub fn members_with(
    manifest_text: &[u8],
    signature: Option<Vec<u8>>,
    files: &[(String, Vec<u8>, bool)],
) -> Vec<Member> {
    let mut members = vec![
        Member::folder(TOP),
        Member::file(&format!("{TOP}/{MANIFEST_FILE_NAME}"), manifest_text),
    ];
    if let Some(signature) = signature {
        members.push(Member::file(
            &format!("{TOP}/{SIGNATURE_FILE_NAME}"),
            &signature,
        ));
    }
    let mut folders: Vec<&str> = files
        .iter()
        .filter_map(|(path, _, _)| path.rsplit_once('/').map(|(folder, _)| folder))
        .collect();
    folders.sort();
    folders.dedup();
    for folder in folders {
        members.push(Member::folder(&format!("{TOP}/{folder}")));
    }
    for (path, data, executable) in files {
        let mut member = Member::file(&format!("{TOP}/{path}"), data);
        if *executable {
            member.mode = 0o755;
        }
        members.push(member);
    }
    members
}

/// The members of the valid bundle, signed when keys are given.
pub fn valid_members(keys: Option<&Keys>) -> Vec<Member> {
    let files = bundle_files();
    let text = manifest_of(&files).render().into_bytes();
    let signature = keys.map(|keys| keys.sign(&text));
    members_with(&text, signature, &files)
}

/// The uncompressed tar bytes of the members, ending with the usual two zero blocks.
pub fn tar_bytes(members: &[Member]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for member in members {
        let mut header = tar::Header::new_gnu();
        {
            let old = header.as_old_mut();
            assert!(
                member.name.len() <= old.name.len(),
                "test names fit a plain header"
            );
            old.name[..member.name.len()].copy_from_slice(&member.name);
            old.linkname[..member.link.len()].copy_from_slice(&member.link);
        }
        header.set_entry_type(tar::EntryType::new(member.type_byte));
        header.set_size(member.data.len() as u64);
        header.set_mode(member.mode);
        header.set_mtime(1_767_225_600);
        header.set_uid(0);
        header.set_gid(0);
        if matches!(member.type_byte, b'3' | b'4') {
            header.set_device_major(1).unwrap();
            header.set_device_minor(3).unwrap();
        }
        header.set_cksum();
        builder.append(&header, &member.data[..]).unwrap();
    }
    builder.into_inner().unwrap()
}

/// Gzip-compresses bytes.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Writes the members as a `.tar.gz` archive.
pub fn write_archive(path: &Path, members: &[Member]) {
    let mut file = File::create(path).unwrap();
    file.write_all(&gzip(&tar_bytes(members))).unwrap();
}

/// The names in a folder, sorted; what the tests compare before and after an extraction.
pub fn listing(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// An error and all its causes, one per line, as the command prints them.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(source) = cause {
        text.push_str("\n  Caused by: ");
        text.push_str(&source.to_string());
        cause = source.source();
    }
    text
}
