//! A PostgreSQL image for tests and demos, made from the host's Debian PostgreSQL packages
//! with our own image writer: no base image and no registry.
//!
//! The root filesystem holds the server and client programs, the shared libraries `ldd` finds
//! for them, PostgreSQL's extension libraries and data files, the time zone data, `dash` as
//! `/bin/sh`, and a small entry point that honours the official image's contract:
//! `POSTGRES_USER`, `POSTGRES_PASSWORD`, `POSTGRES_DB` and `PGDATA`. On the first start it
//! runs `initdb` with that superuser and password (SCRAM-SHA-256), lets every address log in
//! with a password, creates the database, then `exec`s the server as PID 1.
//!
//! The image runs as the `postgres` user (999) from the start rather than dropping root, so
//! the data folder must already belong to 999: it does in the image, and a fresh named volume
//! takes that owner. A bind mount must be `chown`ed to 999 first.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::Error;
use crate::image::{
    HealthCheck, ImageSpec, Owner, RootFilesystem, SourceDateEpoch, WrittenImage, write_image,
};
use crate::image_archive::split_tagged_reference;
use crate::services::SOURCE_URL;

/// The major version Debian 12 ships, used when none is installed to say otherwise.
pub const DEFAULT_MAJOR_VERSION: u32 = 15;

/// Where Debian installs each PostgreSQL major version, one folder per version.
const INSTALL_ROOT: &str = "/usr/lib/postgresql";

/// The newest PostgreSQL major version installed from Debian's packages, or
/// [`DEFAULT_MAJOR_VERSION`] when none is (the build then reports what to install).
pub fn newest_installed_major() -> u32 {
    fs::read_dir(INSTALL_ROOT)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|major| {
            Path::new(INSTALL_ROOT)
                .join(major.to_string())
                .join("bin/postgres")
                .is_file()
        })
        .max()
        .unwrap_or(DEFAULT_MAJOR_VERSION)
}

/// The uid and gid of the `postgres` user in the image, as in the official image.
pub const POSTGRES_UID: u64 = 999;

/// The data folder, as the official image has it.
pub const DATA_FOLDER: &str = "/var/lib/postgresql/data";

/// The programs copied from PostgreSQL's `bin` folder.
const PROGRAMS: [&str; 8] = [
    "postgres",
    "initdb",
    "pg_ctl",
    "pg_isready",
    "psql",
    "pg_dump",
    "pg_restore",
    "pg_dumpall",
];

/// Where the entry point lives in the image.
const ENTRYPOINT: &str = "/usr/local/bin/docker-entrypoint.sh";

/// The entry point. It needs nothing but `dash` builtins and the PostgreSQL programs.
const ENTRYPOINT_SCRIPT: &str = include_str!("entrypoint.sh");

/// What to build.
#[derive(Debug, Clone)]
pub struct PostgresImageRequest {
    /// The image reference, such as `jim-postgres:15-debian`.
    pub reference: String,
    /// The PostgreSQL major version installed on the host.
    pub major: u32,
    /// The creation time.
    pub created: SourceDateEpoch,
}

/// Builds the image into the tar file `output`.
pub fn build_postgres_image(
    request: &PostgresImageRequest,
    output: &Path,
) -> Result<WrittenImage, Error> {
    let (name, tag) =
        split_tagged_reference(&request.reference).map_err(|reason| Error::InvalidArgument {
            option: "--tag",
            value: request.reference.clone(),
            reason: reason.to_owned(),
        })?;
    let install = Path::new(INSTALL_ROOT).join(request.major.to_string());
    if !install.join("bin/postgres").is_file() {
        return Err(Error::PostgresNotInstalled {
            major: request.major,
            path: install.join("bin"),
        });
    }

    let folder = match output.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let root = tempfile::Builder::new()
        .prefix(".jim-postgres-root-")
        .tempdir_in(folder)
        .map_err(|source| Error::Write {
            path: folder.to_owned(),
            source,
        })?;
    assemble_root(root.path(), request.major)?;

    let mut spec = ImageSpec::new(name, tag, request.created);
    let mut tree = RootFilesystem::new(root.path());
    let postgres = Owner::new(POSTGRES_UID, POSTGRES_UID);
    tree.owners
        .subtrees
        .insert("/var/lib/postgresql".to_owned(), postgres);
    tree.owners
        .subtrees
        .insert("/run/postgresql".to_owned(), postgres);
    spec.root_filesystem = Some(tree);
    spec.user = format!("{POSTGRES_UID}:{POSTGRES_UID}");
    spec.entrypoint = vec![ENTRYPOINT.to_owned()];
    spec.command = vec!["postgres".to_owned()];
    spec.exposed_ports = vec!["5432/tcp".to_owned()];
    spec.env = vec![
        (
            "PATH".to_owned(),
            format!(
                "/usr/lib/postgresql/{}/bin:/usr/local/bin:/usr/bin",
                request.major
            ),
        ),
        ("PGDATA".to_owned(), DATA_FOLDER.to_owned()),
        ("TZ".to_owned(), "UTC".to_owned()),
    ];
    // SIGINT is PostgreSQL's fast shutdown: it ends sessions and writes a checkpoint.
    spec.stop_signal = Some("SIGINT".to_owned());
    let mut check = HealthCheck::exec(["pg_isready", "--host=127.0.0.1", "--quiet"]);
    check.interval = Duration::from_secs(10);
    check.start_period = Duration::from_secs(60);
    spec.healthcheck = Some(check);
    let version = server_version(&install)?;
    spec.insert_oci_labels(&version, "debian", SOURCE_URL);
    spec.labels.insert(
        "org.opencontainers.image.description".to_owned(),
        format!("PostgreSQL {version} from Debian's packages, for JIM tests and demos"),
    );
    write_image(&spec, output)
}

/// Lays out the root filesystem of the image in `root`.
fn assemble_root(root: &Path, major: u32) -> Result<(), Error> {
    // Merged /usr, as in Debian 12: the loader path /lib64/... resolves through the links.
    for folder in [
        "usr/bin",
        "usr/lib",
        "usr/lib64",
        "usr/sbin",
        "usr/local/bin",
        "etc",
        "run",
    ] {
        create_folders(&root.join(folder))?;
    }
    for (link, target) in [
        ("bin", "usr/bin"),
        ("lib", "usr/lib"),
        ("lib64", "usr/lib64"),
        ("sbin", "usr/sbin"),
    ] {
        make_symlink(target, &root.join(link))?;
    }

    let install = format!("{INSTALL_ROOT}/{major}");
    let mut executables = Vec::new();
    for program in PROGRAMS {
        let destination = format!("{install}/bin/{program}");
        copy_file(Path::new(&destination), &image_path(root, &destination))?;
        executables.push(PathBuf::from(destination));
    }
    // The extension and encoding libraries; the LLVM JIT is left out (it pulls in LLVM, and
    // PostgreSQL runs without it).
    let library_folder = format!("{install}/lib");
    copy_tree(
        Path::new(&library_folder),
        &image_path(root, &library_folder),
        &|name| !(name == "bitcode" || name.starts_with("llvmjit")),
    )?;
    for entry in read_folder(Path::new(&library_folder))? {
        let jit = entry
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with("llvmjit"));
        if entry.extension().is_some_and(|extension| extension == "so") && !jit {
            executables.push(entry);
        }
    }
    let share = format!("/usr/share/postgresql/{major}");
    copy_tree(Path::new(&share), &image_path(root, &share), &|_| true)?;
    // Time zone data; `right/` and `posix/` repeat the rest, `localtime` points outside.
    copy_tree(
        Path::new("/usr/share/zoneinfo"),
        &image_path(root, "/usr/share/zoneinfo"),
        &|name| !matches!(name, "right" | "posix" | "localtime"),
    )?;

    copy_file(
        Path::new("/usr/bin/dash"),
        &image_path(root, "/usr/bin/dash"),
    )?;
    make_symlink("dash", &image_path(root, "/usr/bin/sh"))?;
    executables.push(PathBuf::from("/usr/bin/dash"));
    copy_libraries(root, &executables)?;

    write_file(
        &root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\n\
         postgres:x:999:999:PostgreSQL administrator:/var/lib/postgresql:/bin/sh\n",
        0o644,
    )?;
    write_file(
        &root.join("etc/group"),
        "root:x:0:\npostgres:x:999:\n",
        0o644,
    )?;
    write_file(
        &root.join("etc/nsswitch.conf"),
        "passwd: files\ngroup: files\nhosts: files dns\n",
        0o644,
    )?;
    write_file(&image_path(root, ENTRYPOINT), ENTRYPOINT_SCRIPT, 0o755)?;

    // The data folder and the socket folder belong to postgres (see the owner map).
    create_folders(&image_path(root, DATA_FOLDER))?;
    set_mode(&image_path(root, DATA_FOLDER), 0o700)?;
    create_folders(&root.join("run/postgresql"))?;
    set_mode(&root.join("run/postgresql"), 0o2775)?;
    create_folders(&root.join("var"))?;
    make_symlink("../run", &root.join("var/run"))?;
    create_folders(&root.join("tmp"))?;
    set_mode(&root.join("tmp"), 0o1777)?;
    Ok(())
}

/// Copies every shared library `ldd` lists for `executables` into the image, at the path the
/// loader looks for it (under merged `/usr`).
fn copy_libraries(root: &Path, executables: &[PathBuf]) -> Result<(), Error> {
    let mut libraries = BTreeSet::new();
    for executable in executables {
        let output = Command::new("ldd")
            .arg(executable)
            .output()
            .map_err(|error| Error::CommandFailed {
                command: format!("ldd {}", executable.display()),
                reason: format!("it could not be started ({error}); install libc-bin"),
            })?;
        if !output.status.success() {
            return Err(Error::CommandFailed {
                command: format!("ldd {}", executable.display()),
                reason: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        let listing = String::from_utf8_lossy(&output.stdout);
        libraries.extend(parse_ldd(&listing).map_err(|library| Error::CommandFailed {
            command: format!("ldd {}", executable.display()),
            reason: format!("the library `{library}` is not found on this host"),
        })?);
    }
    for library in libraries {
        let destination = merged_usr_path(&library);
        let target = image_path(root, &destination);
        if !target.exists() {
            copy_file(Path::new(&library), &target)?;
        }
    }
    Ok(())
}

/// The library paths of an `ldd` listing, or the name of a library it could not find.
fn parse_ldd(listing: &str) -> Result<Vec<String>, String> {
    let mut paths = Vec::new();
    for line in listing.lines().map(str::trim) {
        let candidate = match line.split_once("=>") {
            Some((name, location)) => {
                let location = location.trim();
                if location.starts_with("not found") {
                    return Err(name.trim().to_owned());
                }
                location.split_whitespace().next().unwrap_or("")
            }
            None => line.split_whitespace().next().unwrap_or(""),
        };
        if candidate.starts_with('/') {
            paths.push(candidate.to_owned());
        }
    }
    Ok(paths)
}

/// The path of a host file under merged `/usr`: `/lib/x` becomes `/usr/lib/x`.
fn merged_usr_path(path: &str) -> String {
    for top in ["/lib/", "/lib64/", "/bin/", "/sbin/"] {
        if path.starts_with(top) {
            return format!("/usr{path}");
        }
    }
    path.to_owned()
}

/// The place of an absolute image path inside `root`.
fn image_path(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

/// The version PostgreSQL reports, such as `15.18`.
fn server_version(install: &Path) -> Result<String, Error> {
    let program = install.join("bin/postgres");
    let output = Command::new(&program)
        .arg("--version")
        .output()
        .map_err(|error| Error::CommandFailed {
            command: format!("{} --version", program.display()),
            reason: error.to_string(),
        })?;
    // "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace()
        .nth(2)
        .map(str::to_owned)
        .ok_or_else(|| Error::CommandFailed {
            command: format!("{} --version", program.display()),
            reason: format!("unexpected output `{}`", text.trim()),
        })
}

/// Copies a folder tree, keeping symbolic links as they are and skipping entries whose name
/// `keep` refuses.
fn copy_tree(source: &Path, destination: &Path, keep: &dyn Fn(&str) -> bool) -> Result<(), Error> {
    create_folders(destination)?;
    for entry in read_folder(source)? {
        let name = entry
            .file_name()
            .and_then(|name| name.to_str())
            .ok_or_else(|| Error::NonUtf8Path {
                path: entry.clone(),
            })?;
        if !keep(name) {
            continue;
        }
        let target = destination.join(name);
        let metadata = fs::symlink_metadata(&entry).map_err(|source| Error::Read {
            path: entry.clone(),
            source,
        })?;
        if metadata.is_dir() {
            copy_tree(&entry, &target, keep)?;
        } else if metadata.file_type().is_symlink() {
            let link = fs::read_link(&entry).map_err(|source| Error::Read {
                path: entry.clone(),
                source,
            })?;
            make_symlink(&link, &target)?;
        } else if metadata.is_file() {
            copy_file(&entry, &target)?;
        }
    }
    Ok(())
}

/// The entries of a folder, sorted.
fn read_folder(folder: &Path) -> Result<Vec<PathBuf>, Error> {
    let read_error = |source| Error::Read {
        path: folder.to_owned(),
        source,
    };
    let mut entries = fs::read_dir(folder)
        .map_err(read_error)?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(read_error)?;
    entries.sort();
    Ok(entries)
}

/// Copies a file's contents (following links) with its permission bits.
fn copy_file(source: &Path, destination: &Path) -> Result<(), Error> {
    if let Some(parent) = destination.parent() {
        create_folders(parent)?;
    }
    fs::copy(source, destination).map_err(|error| Error::Read {
        path: source.to_owned(),
        source: error,
    })?;
    Ok(())
}

fn create_folders(path: &Path) -> Result<(), Error> {
    fs::create_dir_all(path).map_err(|source| Error::Write {
        path: path.to_owned(),
        source,
    })
}

fn make_symlink(target: impl AsRef<Path>, link: &Path) -> Result<(), Error> {
    symlink(target, link).map_err(|source| Error::Write {
        path: link.to_owned(),
        source,
    })
}

fn write_file(path: &Path, contents: &str, mode: u32) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        create_folders(parent)?;
    }
    fs::write(path, contents).map_err(|source| Error::Write {
        path: path.to_owned(),
        source,
    })?;
    set_mode(path, mode)
}

fn set_mode(path: &Path, mode: u32) -> Result<(), Error> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|source| Error::Write {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_listings_give_library_paths() {
        let listing = "\tlinux-vdso.so.1 (0x00007ffd)\n\
                       \tlibzstd.so.1 => /lib/x86_64-linux-gnu/libzstd.so.1 (0x00007f34)\n\
                       \t/lib64/ld-linux-x86-64.so.2 (0x00007f34)\n";
        assert_eq!(
            parse_ldd(listing).unwrap(),
            [
                "/lib/x86_64-linux-gnu/libzstd.so.1",
                "/lib64/ld-linux-x86-64.so.2"
            ]
        );
        assert_eq!(
            parse_ldd("\tlibfoo.so.1 => not found\n").unwrap_err(),
            "libfoo.so.1"
        );
        assert_eq!(
            parse_ldd("\tstatically linked\n").unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn host_paths_move_under_merged_usr() {
        assert_eq!(
            merged_usr_path("/lib64/ld-linux-x86-64.so.2"),
            "/usr/lib64/ld-linux-x86-64.so.2"
        );
        assert_eq!(
            merged_usr_path("/usr/lib/x/libc.so.6"),
            "/usr/lib/x/libc.so.6"
        );
        assert_eq!(merged_usr_path("/library/x"), "/library/x");
    }

    #[test]
    fn the_entrypoint_is_valid_shell() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("entrypoint.sh");
        fs::write(&script, ENTRYPOINT_SCRIPT).unwrap();
        let status = Command::new("dash")
            .arg("-n")
            .arg(&script)
            .status()
            .expect("dash must be installed to run this test");
        assert!(status.success());
    }
}
