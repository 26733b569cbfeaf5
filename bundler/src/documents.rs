//! The documents the bundler writes itself: `README.txt` at the root, and `docs/README.md` and
//! `docs/INSTALL.md` for the administrator of the air-gapped host. They name the files of this
//! very bundle (its version, its image tars, whether it is signed), so they are generated from
//! the plan rather than copied.

use std::fmt::Write;

use crate::layout::{
    BundleLayout, CHECKSUMS_FILE, COMPOSE_FOLDER, DATABASE_PROFILE, INSTALLER_FILE, SIGNATURE_FILE,
    Service,
};

/// The installer's exit codes as `docs/INSTALL.md` lists them. The installer defines them in
/// its `exit` module; a test there checks that this table says the same.
pub const INSTALLER_EXIT_CODES: [(u8, &str); 7] = [
    (0, "success"),
    (
        1,
        "the bundle failed verification; nothing was loaded or installed",
    ),
    (
        2,
        "a usage or environment error (a bad option, a missing file, no terminal and no answers)",
    ),
    (
        3,
        "the Docker Engine or Docker Compose is missing, stopped or unreachable",
    ),
    (4, "a preflight check failed"),
    (5, "the stack did not become ready in time"),
    (10, "another failure during a step; the message says which"),
];

/// The name under which the public key is published beside the release.
pub const PUBLIC_KEY_FILE: &str = "jim-release.pub";

/// What the documents need to know about the release.
#[derive(Debug, Clone)]
pub struct DocumentFacts<'a> {
    /// The names of the release.
    pub layout: &'a BundleLayout,
    /// The bundle paths of the image tars, in load order.
    pub image_files: Vec<String>,
    /// The database image's reference, when the bundle has one.
    pub database_reference: Option<String>,
    /// Whether `checksums.sha256` is signed.
    pub signed: bool,
}

/// The compose command that names every shipped file, with or without the database profile.
fn up_command(with_database: bool) -> String {
    let profile = if with_database {
        format!(" --profile {DATABASE_PROFILE}")
    } else {
        String::new()
    };
    format!(
        "docker compose -f docker-compose.yml -f docker-compose.production.yml \\\n    \
         -f docker-compose.override.yml{profile} up -d --pull never"
    )
}

/// `README.txt`: what is in the folder and the three commands of a normal installation.
pub fn readme_text(facts: &DocumentFacts<'_>) -> String {
    let folder = facts.layout.folder_name();
    let version = facts.layout.version();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "JIM {version}: release bundle for hosts without internet access"
    );
    let _ = writeln!(text, "{}", "=".repeat(60));
    let _ = writeln!(text);
    let _ = writeln!(text, "Quick start, on the Docker host, as root:");
    let _ = writeln!(text);
    let _ = writeln!(
        text,
        "  1. sha256sum -c {CHECKSUMS_FILE}      (every line must say OK)"
    );
    let _ = writeln!(text, "  2. sudo ./{INSTALLER_FILE} install .");
    let _ = writeln!(text, "  3. sudo ./{INSTALLER_FILE} status");
    let _ = writeln!(text);
    let _ = writeln!(
        text,
        "The installer checks the files again, loads the images into Docker,"
    );
    let _ = writeln!(
        text,
        "asks for the few settings it needs (or reads them with --answers FILE),"
    );
    let _ = writeln!(text, "starts the stack and waits until JIM answers.");
    let _ = writeln!(text);
    let _ = writeln!(
        text,
        "docs/INSTALL.md has every step, including the manual one without the"
    );
    let _ = writeln!(
        text,
        "installer. docs/CONFIGURATION.md describes every setting."
    );
    let _ = writeln!(text);
    let _ = writeln!(text, "Contents of {folder}/:");
    let _ = writeln!(text);
    let mut entries = vec![(
        CHECKSUMS_FILE.to_owned(),
        "SHA-256 of every other file".to_owned(),
    )];
    if facts.signed {
        entries.push((
            SIGNATURE_FILE.to_owned(),
            "minisign signature of the checksums".into(),
        ));
    }
    entries.extend([
        (
            "bundle.json".to_owned(),
            "what the bundle holds, for the installer".to_owned(),
        ),
        ("VERSION".to_owned(), "the release version".to_owned()),
        (
            INSTALLER_FILE.to_owned(),
            "the installer (static x86_64 Linux binary)".to_owned(),
        ),
    ]);
    entries.extend(facts.image_files.iter().map(|file| {
        (
            file.clone(),
            "Docker image, for `docker load -i`".to_owned(),
        )
    }));
    entries.extend([
        (
            format!("{COMPOSE_FOLDER}/"),
            "Docker Compose files and .env.example".to_owned(),
        ),
        (
            "powershell/JIM/".to_owned(),
            "the JIM PowerShell module".to_owned(),
        ),
        (
            "docs/".to_owned(),
            "README, INSTALL, CONFIGURATION, CHANGELOG".to_owned(),
        ),
    ]);
    let width = entries
        .iter()
        .map(|(name, _)| name.len())
        .max()
        .unwrap_or(0);
    for (name, what) in entries {
        let _ = writeln!(text, "  {name:width$}  {what}");
    }
    text
}

/// `docs/README.md`: what JIM is made of and where to read on.
pub fn docs_readme(facts: &DocumentFacts<'_>) -> String {
    let version = facts.layout.version();
    let mut text = String::new();
    let _ = writeln!(text, "# JIM {version}\n");
    let _ = writeln!(
        text,
        "JIM is an identity manager. It runs as a Docker Compose stack of these services:\n"
    );
    let _ = writeln!(text, "| Service | Image | What it does |");
    let _ = writeln!(text, "|---|---|---|");
    let roles = [
        (
            Service::Web,
            "web interface and REST API on container port 80",
        ),
        (
            Service::Worker,
            "imports, synchronisation and exports; migrates the database",
        ),
        (Service::Scheduler, "starts runs on their schedules"),
    ];
    for (service, role) in roles {
        let _ = writeln!(
            text,
            "| `{}` | `{}:{version}` | {role} |",
            service.compose_service(),
            service.name()
        );
    }
    let database = facts.database_reference.as_deref().map_or(
        "not included: use your own PostgreSQL".to_owned(),
        |reference| format!("`{reference}`"),
    );
    let _ = writeln!(
        text,
        "| `jim.database` (optional) | {database} | PostgreSQL, started with `--profile \
         {DATABASE_PROFILE}` |\n"
    );
    let _ = writeln!(
        text,
        "Data lives in Docker volumes: `jim-db-volume` (the bundled database), `jim-logs-volume`, \
         `jim-keys-volume` and `jim-connector-files-volume`. Only `jim.web` publishes a port \
         (`JIM_WEB_PORT`, 5200 by default).\n"
    );
    let _ = writeln!(text, "Read next:\n");
    let _ = writeln!(
        text,
        "- `INSTALL.md`: installing this bundle on a host without internet access."
    );
    let _ = writeln!(text, "- `CONFIGURATION.md`: every setting in `.env`.");
    let _ = writeln!(
        text,
        "- `UPGRADING.md`: backups, restores, upgrades to a newer bundle and the way back."
    );
    let _ = writeln!(
        text,
        "- `API.md`: the REST API, the web pages and the PowerShell cmdlets."
    );
    let _ = writeln!(
        text,
        "- `KNOWN-LIMITATIONS.md`: what this release does not do yet."
    );
    let _ = writeln!(text, "- `CHANGELOG.md`: what changed in each release.");
    text
}

/// `docs/INSTALL.md`: the installation on an air-gapped host, with and without the installer.
pub fn install_guide(facts: &DocumentFacts<'_>) -> String {
    let folder = facts.layout.folder_name();
    let archive = facts.layout.archive_name();
    let checksum = facts.layout.archive_checksum_name();
    let version = facts.layout.version();
    let with_database = facts.database_reference.is_some();
    let mut text = String::new();

    let _ = writeln!(text, "# Installing JIM {version} without internet access\n");
    let _ = writeln!(
        text,
        "This guide is for the administrator of the host that will run JIM. The host needs no \
         network access beyond your own: everything JIM runs is in this bundle.\n"
    );

    let _ = writeln!(text, "## What the host needs\n");
    let _ = writeln!(
        text,
        "- Linux on x86_64, with 4 GB of memory or more and 20 GB of free disk."
    );
    let _ = writeln!(
        text,
        "- Docker Engine 20.10 or later, and Docker Compose v2.20 or later"
    );
    let _ = writeln!(text, "  (`docker compose version` must answer).");
    let _ = writeln!(
        text,
        "- `sha256sum` (GNU coreutils) and, to check the signature, `minisign`."
    );
    if !with_database {
        let _ = writeln!(
            text,
            "- A PostgreSQL server of your own: this bundle has no database image."
        );
    }
    let _ = writeln!(text);

    let _ = writeln!(text, "## 1. Check what you carried across\n");
    let _ = writeln!(
        text,
        "Copy `{archive}` and `{checksum}` to the host, then, in the folder that holds both:\n"
    );
    let _ = writeln!(text, "```sh");
    let _ = writeln!(text, "sha256sum -c {checksum}");
    let _ = writeln!(text, "tar xzf {archive}");
    let _ = writeln!(text, "cd {folder} && sha256sum -c {CHECKSUMS_FILE}");
    let _ = writeln!(text, "```\n");
    let _ = writeln!(
        text,
        "Every line must end in `OK`. A line that says `FAILED` means the file changed on the way: \
         copy the bundle again from the source media.\n"
    );
    if facts.signed {
        let _ = writeln!(
            text,
            "The checksums are signed. With the release public key `{PUBLIC_KEY_FILE}`, which you \
             obtained from the publisher through a channel you trust (not from this bundle), \
             check the signature too:\n"
        );
        let _ = writeln!(text, "```sh");
        let _ = writeln!(text, "minisign -Vm {CHECKSUMS_FILE} -p {PUBLIC_KEY_FILE}");
        let _ = writeln!(text, "```\n");
    }

    let _ = writeln!(text, "## 2. Install with the installer\n");
    let _ = writeln!(text, "From inside `{folder}/`:\n");
    let _ = writeln!(text, "```sh");
    let _ = writeln!(text, "sudo ./{INSTALLER_FILE} install .");
    let _ = writeln!(text, "```\n");
    let _ = writeln!(
        text,
        "It verifies the bundle, loads the images, writes `.env` from your answers, starts the \
         stack and waits until `/api/v1/health/ready` answers. Other commands:\n"
    );
    let _ = writeln!(text, "| Command | What it does |");
    let _ = writeln!(text, "|---|---|");
    let _ = writeln!(
        text,
        "| `./{INSTALLER_FILE} verify BUNDLE` | checks every file against the checksums, changes nothing |"
    );
    let _ = writeln!(
        text,
        "| `./{INSTALLER_FILE} install BUNDLE --dir DIR` | installs the compose files into `DIR` |"
    );
    let _ = writeln!(
        text,
        "| `./{INSTALLER_FILE} install BUNDLE --answers FILE` | takes the settings from a file instead of asking |"
    );
    let rows = [
        (
            "preflight",
            "checks Docker, Compose, memory, disk, the web port and the architecture",
        ),
        (
            "load",
            "loads the images of the installed release into Docker",
        ),
        (
            "configure",
            "asks the settings again and rewrites `.env` (keeps the database password)",
        ),
        ("up", "starts the stack and waits until it is ready"),
        (
            "down",
            "stops the stack; the volumes (database, keys, logs) are kept",
        ),
        (
            "status",
            "shows the containers, their health and whether JIM is ready",
        ),
        ("logs", "shows the services' logs"),
    ];
    for (command, meaning) in rows {
        let _ = writeln!(text, "| `./{INSTALLER_FILE} {command}` | {meaning} |");
    }
    let _ = writeln!(text);
    let _ = writeln!(
        text,
        "Every command takes `--dir DIR` (default `/opt/jim` as root) and `--help`."
    );
    let _ = writeln!(text, "Exit codes, the same for every command:\n");
    let _ = writeln!(text, "| Code | Meaning |");
    let _ = writeln!(text, "|---|---|");
    for (code, meaning) in INSTALLER_EXIT_CODES {
        let _ = writeln!(text, "| {code} | {meaning} |");
    }
    let _ = writeln!(text);

    let _ = writeln!(text, "## 3. Or install by hand\n");
    let _ = writeln!(text, "Load every image:\n");
    let _ = writeln!(text, "```sh");
    for file in &facts.image_files {
        let _ = writeln!(text, "docker load -i {file}");
    }
    let _ = writeln!(text, "```\n");
    let _ = writeln!(
        text,
        "Write the settings, then start the stack from `{COMPOSE_FOLDER}/`:\n"
    );
    let _ = writeln!(text, "```sh");
    let _ = writeln!(text, "cd {COMPOSE_FOLDER}");
    let _ = writeln!(text, "cp .env.example .env && chmod 600 .env");
    let _ = writeln!(
        text,
        "vi .env        # set JIM_DB_PASSWORD and the JIM_SSO_* values at least"
    );
    let _ = writeln!(text, "{}", up_command(with_database));
    let _ = writeln!(text, "```\n");
    if with_database {
        let _ = writeln!(
            text,
            "`docker compose --profile {DATABASE_PROFILE} up -d` does the same without the \
             production settings (restart policy, capped logs): without `-f`, Compose reads \
             `docker-compose.yml` and `docker-compose.override.yml` only.\n"
        );
        let _ = writeln!(
            text,
            "To use a PostgreSQL server of your own instead of the bundled one, set \
             `JIM_DB_HOSTNAME` in `.env` and leave out `--profile {DATABASE_PROFILE}`.\n"
        );
    } else {
        let _ = writeln!(
            text,
            "Set `JIM_DB_HOSTNAME`, `JIM_DB_NAME`, `JIM_DB_USERNAME` and `JIM_DB_PASSWORD` in \
             `.env` to your PostgreSQL server. Do not use `--profile {DATABASE_PROFILE}`: its \
             image is not in this bundle.\n"
        );
    }

    let _ = writeln!(text, "## 4. Check that JIM is up\n");
    let _ = writeln!(text, "```sh");
    let _ = writeln!(text, "docker compose ps");
    let _ = writeln!(text, "curl -fsS http://localhost:5200/api/v1/health/ready");
    let _ = writeln!(text, "```\n");
    let _ = writeln!(
        text,
        "The worker migrates the database when it first starts; until it has, the readiness \
         endpoint answers 503 and `jim.web` is not yet healthy. `docker compose logs jim.worker` \
         shows the progress. Use the same `-f` and `--profile` options with `ps`, `logs` and \
         `down` as with `up`."
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::ReleaseVersion;

    fn facts(layout: &BundleLayout, with_database: bool) -> DocumentFacts<'_> {
        let mut image_files: Vec<String> = Service::ALL
            .iter()
            .map(|service| BundleLayout::service_image_path(*service))
            .collect();
        if with_database {
            image_files.push(layout.database_image_path());
        }
        DocumentFacts {
            layout,
            image_files,
            database_reference: with_database.then(|| "postgres:18".to_owned()),
            signed: true,
        }
    }

    #[test]
    fn install_guide_names_this_release_and_its_commands() {
        let layout = BundleLayout::new(ReleaseVersion::parse("1.4.0").unwrap());
        let guide = install_guide(&facts(&layout, true));
        for expected in [
            "sha256sum -c jim-release-1.4.0.tar.gz.sha256",
            "tar xzf jim-release-1.4.0.tar.gz",
            "cd jim-release-1.4.0 && sha256sum -c checksums.sha256",
            "minisign -Vm checksums.sha256 -p jim-release.pub",
            "sudo ./jim-install install .",
            "docker load -i docker-images/postgres-18.tar",
            "cp .env.example .env",
            "docker compose --profile with-db up -d",
            "jim-install verify BUNDLE",
            "jim-install status",
        ] {
            assert!(
                guide.contains(expected),
                "missing `{expected}` in:\n{guide}"
            );
        }

        let without = install_guide(&facts(&layout, false));
        assert!(!without.contains("postgres-18.tar"));
        assert!(without.contains("no database image"));
    }

    #[test]
    fn readme_lists_the_signature_only_when_signed() {
        let layout = BundleLayout::new(ReleaseVersion::parse("1.4.0").unwrap());
        let mut facts = facts(&layout, true);
        assert!(readme_text(&facts).contains("checksums.sha256.minisig"));
        facts.signed = false;
        let text = readme_text(&facts);
        assert!(!text.contains("minisig"), "{text}");
        assert!(text.contains("sudo ./jim-install install ."));
        assert!(docs_readme(&facts).contains("`jim-web:1.4.0`"));
    }
}
