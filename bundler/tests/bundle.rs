//! Whole release bundles, checked with the standard tools an administrator uses: `tar`,
//! `sha256sum -c` and `minisign -V`. One unsigned bundle with the database image is built for
//! most tests of this file; a second build of it, with no network and no Docker Engine, must
//! give the same archive bytes. A smaller signed bundle (no database image) carries the
//! signature tests: minisign signatures mix in random noise, so signed archives are not
//! compared byte for byte.
//!
//! Needs the release binaries, `tar`, `sha256sum` (coreutils), `minisign`, `unshare`
//! (util-linux, run as root) and PostgreSQL 15 from Debian for the database image; no Docker
//! Engine.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::{
    fresh_test_folder, jim_bundle, release_binaries, require_tool, run, run_ok, workspace_root,
    write_key_pair, write_postgres_image,
};
use jim_bundle::layout::{BundleManifest, ImageRole, Service};

const VERSION: &str = "0.1.0";
const DATABASE_FILE: &str = "jim-postgres-15.tar";
const DATABASE_REFERENCE: &str = "jim-postgres:15-debian";

/// The bundle most tests of this file check. Its files stay in the target folder until the
/// next run of this file (a shared bundle outlives every test, so no test may delete it).
struct BuiltBundle {
    work: PathBuf,
    out: PathBuf,
    database_image: PathBuf,
}

impl BuiltBundle {
    fn archive(&self) -> PathBuf {
        self.out.join(format!("jim-release-{VERSION}.tar.gz"))
    }

    /// A fresh extraction of the archive, by `tar xzf`, into a new folder.
    fn extract(&self, name: &str) -> PathBuf {
        let folder = self.work.join(name);
        fs::create_dir_all(&folder).unwrap();
        run_ok(
            Command::new("tar")
                .arg("xzf")
                .arg(self.archive())
                .arg("-C")
                .arg(&folder),
        );
        folder.join(format!("jim-release-{VERSION}"))
    }
}

/// The command of a build into `out`, without the image options.
fn base_build_command(out: &Path) -> Command {
    let mut command = jim_bundle();
    command
        .args(["build", "--version", VERSION, "--revision", "0123abcd"])
        .arg("--source")
        .arg(workspace_root())
        .arg("--binaries")
        .arg(release_binaries())
        .arg("--out")
        .arg(out);
    command
}

/// The command of the shared bundle's build into `out`.
fn build_command(bundle: &BuiltBundle, out: &Path) -> Command {
    let mut command = base_build_command(out);
    command
        .arg("--image-tar")
        .arg(format!(
            "{DATABASE_FILE}={}",
            bundle.database_image.display()
        ))
        .args(["--database-image-name", DATABASE_FILE]);
    command
}

/// Runs a build, printing how long it took and what it said.
fn timed_build(command: &mut Command) {
    let started = std::time::Instant::now();
    let output = run_ok(command);
    eprintln!(
        "built a bundle in {:.1} s:\n{output}",
        started.elapsed().as_secs_f64()
    );
}

fn require_tools() {
    for (tool, package) in [
        ("tar", "tar"),
        ("sha256sum", "coreutils"),
        ("minisign", "minisign"),
        ("unshare", "util-linux"),
    ] {
        require_tool(tool, package);
    }
}

/// The unsigned bundle with the database image.
fn bundle() -> &'static BuiltBundle {
    static BUNDLE: OnceLock<BuiltBundle> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        require_tools();
        let work = fresh_test_folder("bundle-unsigned");
        let database_image = work.join("postgres.tar");
        write_postgres_image(DATABASE_REFERENCE, &database_image);
        let bundle = BuiltBundle {
            out: work.join("dist"),
            work,
            database_image,
        };
        timed_build(&mut build_command(&bundle, &bundle.out));
        bundle
    })
}

/// A signed bundle without a database image, and the public key that checks it.
struct SignedBundle {
    out: PathBuf,
    public_key: PathBuf,
}

fn signed_bundle() -> &'static SignedBundle {
    static BUNDLE: OnceLock<SignedBundle> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        require_tools();
        let dir = fresh_test_folder("bundle-signed");
        let (public_key, secret_key) = write_key_pair(&dir.join("keys"));
        let out = dir.join("dist");
        let mut command = base_build_command(&out);
        command
            .arg("--no-database-image")
            .arg("--sign")
            .arg(&secret_key);
        timed_build(&mut command);
        SignedBundle { out, public_key }
    })
}

#[test]
fn every_checksum_verifies_with_sha256sum() {
    let bundle = bundle();

    // The archive's own checksum file, as the administrator checks it first.
    let checked = run_ok(
        Command::new("sha256sum")
            .args(["-c", &format!("jim-release-{VERSION}.tar.gz.sha256")])
            .current_dir(&bundle.out),
    );
    assert_eq!(checked.trim(), format!("jim-release-{VERSION}.tar.gz: OK"));

    let tree = bundle.extract("verify");
    let checked = run_ok(
        Command::new("sha256sum")
            .args(["-c", "checksums.sha256"])
            .current_dir(&tree),
    );
    let lines: Vec<&str> = checked.lines().collect();
    assert!(lines.len() >= 17, "{checked}");
    assert!(lines.iter().all(|line| line.ends_with(": OK")), "{checked}");
    for expected in [
        "jim-install: OK",
        "bundle.json: OK",
        "docker-images/jim-web.tar: OK",
        "docker-images/jim-worker.tar: OK",
        "docker-images/jim-scheduler.tar: OK",
        "docker-images/jim-postgres-15.tar: OK",
        "compose/.env.example: OK",
        "docs/INSTALL.md: OK",
        "powershell/JIM/JIM.psd1: OK",
    ] {
        assert!(
            lines.contains(&expected),
            "missing `{expected}`:\n{checked}"
        );
    }

    // Every file of the tree is listed: nothing unchecked ships.
    let listed = fs::read_to_string(tree.join("checksums.sha256"))
        .unwrap()
        .lines()
        .count();
    let on_disk = run_ok(
        Command::new("find")
            .arg(".")
            .args(["-type", "f"])
            .current_dir(&tree),
    );
    assert_eq!(listed + 1, on_disk.lines().count(), "{on_disk}");
}

#[test]
fn a_signed_bundle_verifies_with_minisign_and_leads_with_its_signature() {
    let bundle = signed_bundle();
    let top = format!("jim-release-{VERSION}");
    let tree = bundle.out.join(&top);
    let verified = run_ok(
        Command::new("minisign")
            .args(["-Vm", "checksums.sha256", "-p"])
            .arg(&bundle.public_key)
            .current_dir(&tree),
    );
    assert!(
        verified.contains("Signature and comment signature verified"),
        "{verified}"
    );
    assert!(verified.contains(&format!("Trusted comment: {top} checksums.sha256")));

    // The signature is the second member, right after the manifest it signs.
    let archive = bundle.out.join(format!("{top}.tar.gz"));
    let listing = run_ok(Command::new("tar").arg("tzf").arg(archive));
    let names: Vec<&str> = listing.lines().take(3).collect();
    assert_eq!(
        names,
        [
            format!("{top}/checksums.sha256"),
            format!("{top}/checksums.sha256.minisig"),
            format!("{top}/bundle.json"),
        ]
    );

    // The signed bundle.json names the key and says there is no database image.
    let manifest = BundleManifest::read(&tree).unwrap();
    assert!(!manifest.includes_database_image);
    assert!(manifest.database_image().is_none());
    let public = fs::read_to_string(&bundle.public_key).unwrap();
    let key_id = manifest.signature.unwrap().key_id;
    assert!(
        public.contains(&key_id),
        "{key_id} is not the id of {public}"
    );

    // One changed byte in the manifest: the signature no longer verifies.
    let copy = bundle.out.join("tampered");
    fs::create_dir_all(&copy).unwrap();
    for file in ["checksums.sha256", "checksums.sha256.minisig"] {
        fs::copy(tree.join(file), copy.join(file)).unwrap();
    }
    flip_byte(&copy.join("checksums.sha256"), 3);
    let output = run(Command::new("minisign")
        .args(["-Vm", "checksums.sha256", "-p"])
        .arg(&bundle.public_key)
        .current_dir(&copy));
    assert!(
        !output.status.success(),
        "minisign accepted a changed manifest"
    );
}

#[test]
fn a_changed_byte_fails_the_checks() {
    let bundle = bundle();

    // One flipped byte in an image tar: sha256sum names it.
    let tree = bundle.extract("tampered-image");
    flip_byte(&tree.join("docker-images/jim-web.tar"), 5000);
    let output = run(Command::new("sha256sum")
        .args(["-c", "checksums.sha256"])
        .current_dir(&tree));
    assert!(!output.status.success());
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        report.contains("docker-images/jim-web.tar: FAILED"),
        "{report}"
    );
    assert!(
        report.contains("docker-images/jim-worker.tar: OK"),
        "{report}"
    );

    // One flipped byte in the archive: its `.sha256` check fails.
    let copy = bundle.work.join("copy");
    fs::create_dir_all(&copy).unwrap();
    let name = format!("jim-release-{VERSION}.tar.gz");
    fs::copy(bundle.archive(), copy.join(&name)).unwrap();
    fs::copy(
        bundle.out.join(format!("{name}.sha256")),
        copy.join(format!("{name}.sha256")),
    )
    .unwrap();
    flip_byte(&copy.join(&name), 100_000);
    let output = run(Command::new("sha256sum")
        .args(["-c", &format!("{name}.sha256")])
        .current_dir(&copy));
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains(&format!("{name}: FAILED")));
}

#[test]
fn the_archive_leads_with_the_checksums_and_has_fixed_headers() {
    let bundle = bundle();
    let listing = run_ok(
        Command::new("tar")
            .args(["tvzf"])
            .arg(bundle.archive())
            .args(["--numeric-owner", "--full-time"]),
    );
    let members: Vec<Vec<&str>> = listing
        .lines()
        .map(|line| line.split_whitespace().collect())
        .collect();
    let names: Vec<&str> = members.iter().map(|fields| fields[5]).collect();
    let top = format!("jim-release-{VERSION}");
    assert_eq!(names[0], format!("{top}/checksums.sha256"));
    assert_eq!(names[1], format!("{top}/bundle.json"));
    assert_eq!(names[2], format!("{top}/"));
    let rest = &names[2..];
    assert!(
        rest.windows(2).all(|pair| pair[0] < pair[1]),
        "not sorted: {rest:?}"
    );

    for fields in &members {
        let (mode, owner, date, time, name) =
            (fields[0], fields[1], fields[3], fields[4], fields[5]);
        assert_eq!(owner, "0/0", "{name}");
        assert_eq!((date, time), ("2026-01-01", "00:00:00"), "{name}");
        let expected = if name.ends_with('/') {
            "drwxr-xr-x"
        } else if name.ends_with("/jim-install") {
            "-rwxr-xr-x"
        } else {
            "-rw-r--r--"
        };
        assert_eq!(mode, expected, "{name}");
    }

    // The shipped set: no development compose file, no check script.
    assert!(names.contains(&format!("{top}/compose/docker-compose.override.yml").as_str()));
    assert!(
        !listing.contains("docker-compose.development.yml"),
        "{listing}"
    );
    assert!(!listing.contains("check-config.sh"), "{listing}");

    // The gzip header names no file and carries time zero.
    let bytes = fs::read(bundle.archive()).unwrap();
    assert_eq!(bytes[3] & 0x08, 0, "the gzip header names a file");
    assert_eq!(&bytes[4..8], &[0, 0, 0, 0]);
}

#[test]
fn text_files_name_the_release_and_no_build_machine_path() {
    let bundle = bundle();
    let tree = bundle.extract("text");
    let build_paths = [
        bundle.work.display().to_string(),
        workspace_root().display().to_string(),
        release_binaries().display().to_string(),
    ];
    let text_files = [
        "bundle.json",
        "README.txt",
        "VERSION",
        "checksums.sha256",
        "compose/.env.example",
        "docs/INSTALL.md",
        "docs/README.md",
        "docs/UPGRADING.md",
        "docs/API.md",
        "docs/KNOWN-LIMITATIONS.md",
        "powershell/JIM/JIM.psd1",
    ];
    for file in text_files {
        let text = fs::read_to_string(tree.join(file)).unwrap();
        for path in &build_paths {
            assert!(!text.contains(path.as_str()), "`{file}` names `{path}`");
        }
    }

    let env = fs::read_to_string(tree.join("compose/.env.example")).unwrap();
    assert!(
        env.lines()
            .any(|line| line == format!("JIM_VERSION={VERSION}")),
        "{env}"
    );
    assert!(
        env.lines()
            .any(|line| line == format!("JIM_DB_IMAGE={DATABASE_REFERENCE}"))
    );
    let module = fs::read_to_string(tree.join("powershell/JIM/JIM.psd1")).unwrap();
    assert!(
        module.contains(&format!("ModuleVersion = '{VERSION}'")),
        "{module}"
    );
    assert_eq!(
        fs::read_to_string(tree.join("VERSION")).unwrap(),
        format!("{VERSION}\n")
    );

    let install = fs::read_to_string(tree.join("docs/INSTALL.md")).unwrap();
    for expected in [
        format!("sha256sum -c jim-release-{VERSION}.tar.gz.sha256"),
        format!("tar xzf jim-release-{VERSION}.tar.gz"),
        "sudo ./jim-install install .".to_owned(),
        format!("docker load -i docker-images/{DATABASE_FILE}"),
        "docker compose --profile with-db up -d".to_owned(),
    ] {
        assert!(install.contains(&expected), "INSTALL.md lacks `{expected}`");
    }
}

#[test]
fn bundle_json_lists_every_image_with_its_size() {
    let bundle = bundle();
    let tree = bundle.extract("manifest");
    let manifest = BundleManifest::read(&tree).unwrap();
    assert_eq!(manifest.version.as_str(), VERSION);
    assert_eq!(manifest.revision, "0123abcd");
    assert_eq!(manifest.created, "2026-01-01T00:00:00Z");
    assert!(manifest.includes_database_image);
    assert!(manifest.signature.is_none());
    for service in Service::ALL {
        let image = manifest.service_image(service).unwrap();
        assert_eq!(image.reference, format!("{}:{VERSION}", service.name()));
    }
    let database = manifest.database_image().unwrap();
    assert_eq!(database.reference, DATABASE_REFERENCE);
    assert_eq!(database.file, format!("docker-images/{DATABASE_FILE}"));
    assert_eq!(database.role, ImageRole::Database);
    for image in &manifest.images {
        assert!(image.image_id.starts_with("sha256:"), "{image:?}");
        let size = fs::metadata(tree.join(&image.file)).unwrap().len();
        assert_eq!(size, image.size, "{}", image.file);
        eprintln!("{}: {} bytes", image.file, image.size);
    }
}

#[test]
fn a_second_build_offline_and_without_docker_gives_the_same_archive() {
    let bundle = bundle();
    let out = bundle.work.join("dist-offline");
    let first = fs::read_to_string(
        bundle
            .out
            .join(format!("jim-release-{VERSION}.tar.gz.sha256")),
    )
    .unwrap();

    // A new network namespace has no interface but a downed loopback, and the engine socket
    // does not exist: the build must need neither.
    let command = build_command(bundle, &out);
    let mut offline = Command::new("unshare");
    offline
        .arg("--net")
        .arg(command.get_program())
        .args(command.get_args());
    for (name, value) in command.get_envs() {
        if let Some(value) = value {
            offline.env(name, value);
        }
    }
    offline.env("DOCKER_HOST", "unix:///nonexistent.sock");
    run_ok(&mut offline);

    let second =
        fs::read_to_string(out.join(format!("jim-release-{VERSION}.tar.gz.sha256"))).unwrap();
    assert_eq!(first, second, "two builds of the same inputs differ");
    eprintln!("reproducible archive: {}", first.trim());
}

#[test]
fn planning_without_a_database_image_needs_the_flag_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_ok(
        jim_bundle()
            .args(["plan", "--version", VERSION, "--no-database-image"])
            .arg("--source")
            .arg(workspace_root())
            .arg("--binaries")
            .arg(release_binaries())
            .arg("--out")
            .arg(dir.path().join("dist")),
    );
    assert!(
        !output.contains("docker-images/postgres-18.tar"),
        "{output}"
    );
    assert!(!output.contains("JIM_DB_IMAGE"), "{output}");
    assert!(output.contains("set JIM_VERSION=0.1.0"), "{output}");
}

/// Inverts one byte of a file in place.
fn flip_byte(path: &Path, offset: usize) {
    let mut bytes = fs::read(path).unwrap();
    let offset = offset.min(bytes.len() - 1);
    bytes[offset] ^= 0xff;
    fs::write(path, bytes).unwrap();
}
