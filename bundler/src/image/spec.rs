//! What an image should contain and how it should run: the input of the image writer.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

use super::validate::numeric_user;
use crate::Error;

/// The user every JIM service image runs as: a fixed, unprivileged uid.
pub const DEFAULT_USER: &str = "1654";

/// The OCI annotation and label names the images carry.
pub mod labels {
    /// The image's version (the release version).
    pub const VERSION: &str = "org.opencontainers.image.version";
    /// The source control revision it was built from.
    pub const REVISION: &str = "org.opencontainers.image.revision";
    /// When it was created, RFC 3339.
    pub const CREATED: &str = "org.opencontainers.image.created";
    /// Where its source lives.
    pub const SOURCE: &str = "org.opencontainers.image.source";
    /// A human-readable title.
    pub const TITLE: &str = "org.opencontainers.image.title";
}

/// The creation time of an image, in whole seconds since the Unix epoch. It stamps the
/// config, the history and every file in the layer, so it must come from the source
/// (`SOURCE_DATE_EPOCH`), never from the clock, for builds to be reproducible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SourceDateEpoch(u64);

impl SourceDateEpoch {
    /// The name of the environment variable the reproducible-builds convention uses.
    pub const VARIABLE: &'static str = "SOURCE_DATE_EPOCH";

    /// A creation time from seconds since 1970-01-01 UTC.
    pub fn from_unix_seconds(seconds: u64) -> Result<Self, Error> {
        let invalid = || Error::InvalidCreatedTime {
            value: seconds.to_string(),
        };
        let signed = i64::try_from(seconds).map_err(|_| invalid())?;
        DateTime::from_timestamp(signed, 0).ok_or_else(invalid)?;
        Ok(Self(seconds))
    }

    /// Parses the text form of `SOURCE_DATE_EPOCH` (decimal seconds).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let seconds = text
            .trim()
            .parse::<u64>()
            .map_err(|_| Error::InvalidCreatedTime {
                value: text.to_owned(),
            })?;
        Self::from_unix_seconds(seconds)
    }

    /// Reads `SOURCE_DATE_EPOCH` from the environment: `None` when it is unset, an error
    /// naming the value when it is set but not a Unix time.
    pub fn from_environment() -> Result<Option<Self>, Error> {
        match std::env::var(Self::VARIABLE) {
            Ok(text) => Self::parse(&text).map(Some),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(value)) => Err(Error::InvalidCreatedTime {
                value: value.to_string_lossy().into_owned(),
            }),
        }
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(self) -> u64 {
        self.0
    }

    /// The RFC 3339 form used in image configs, such as `2026-01-02T03:04:05Z`.
    pub fn rfc3339(self) -> String {
        // The range was checked on construction, so the fallback is never taken.
        let signed = i64::try_from(self.0).unwrap_or(0);
        DateTime::<Utc>::from_timestamp(signed, 0)
            .unwrap_or_default()
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    }
}

/// A numeric owner of a file in the image. The default is root.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Owner {
    /// The user id.
    pub uid: u64,
    /// The group id.
    pub gid: u64,
}

impl Owner {
    /// root:root, the owner of everything unless stated otherwise.
    pub const ROOT: Owner = Owner { uid: 0, gid: 0 };

    /// An owner from a user and a group id.
    pub const fn new(uid: u64, gid: u64) -> Self {
        Self { uid, gid }
    }
}

/// Where the bytes of a file come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileSource {
    /// A file on disk, streamed into the layer when it is written.
    Path(PathBuf),
    /// Bytes held in memory (small generated files).
    Bytes(Vec<u8>),
}

/// One file placed into the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFile {
    /// Where its bytes come from.
    pub source: FileSource,
    /// Its absolute path inside the image, such as `/app/jim-web`.
    pub destination: String,
    /// Its permission bits, such as `0o755`.
    pub mode: u32,
    /// Its owner; root unless stated.
    pub owner: Owner,
}

impl ImageFile {
    /// A file copied from disk, owned by root.
    pub fn from_path(source: impl Into<PathBuf>, destination: &str, mode: u32) -> Self {
        Self {
            source: FileSource::Path(source.into()),
            destination: destination.to_owned(),
            mode,
            owner: Owner::ROOT,
        }
    }

    /// A file with the given contents, owned by root.
    pub fn from_bytes(contents: impl Into<Vec<u8>>, destination: &str, mode: u32) -> Self {
        Self {
            source: FileSource::Bytes(contents.into()),
            destination: destination.to_owned(),
            mode,
            owner: Owner::ROOT,
        }
    }
}

/// A folder on disk taken whole as the image's root filesystem (for example Debian packages
/// extracted into a folder). Symbolic links, hard links and permission bits are kept; owners
/// are not taken from disk but from `owners`, so the result does not depend on who built it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootFilesystem {
    /// The folder that becomes `/`.
    pub root: PathBuf,
    /// Who owns what inside the image.
    pub owners: OwnerMap,
}

impl RootFilesystem {
    /// A root filesystem whose every entry is owned by root.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            owners: OwnerMap::default(),
        }
    }
}

/// Owners for a root filesystem: a default, and image paths whose whole subtree belongs to
/// someone else (the deepest listed path wins).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OwnerMap {
    /// The owner of everything not covered by `subtrees`.
    pub default: Owner,
    /// Absolute image paths, each owning itself and everything below it.
    pub subtrees: BTreeMap<String, Owner>,
}

impl OwnerMap {
    /// The owner of an image path (absolute, normalised, such as `/var/lib/postgresql`).
    pub fn owner_of(&self, image_path: &str) -> Owner {
        let mut candidate = image_path;
        loop {
            if let Some(owner) = self.subtrees.get(candidate) {
                return *owner;
            }
            match candidate.rfind('/') {
                Some(0) | None => return self.default,
                Some(index) => candidate = &candidate[..index],
            }
        }
    }
}

/// A health check run by the engine inside the container, in exec form (no shell needed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    /// The test in Docker's form: `["CMD", "/app/jim-web", "healthcheck"]`, or `["NONE"]`.
    pub test: Vec<String>,
    /// Time between checks.
    pub interval: Duration,
    /// How long one check may take before it counts as failed.
    pub timeout: Duration,
    /// Grace time after start during which failures do not count.
    pub start_period: Duration,
    /// Consecutive failures before the container is unhealthy.
    pub retries: u32,
}

impl HealthCheck {
    /// An exec-form check running `command` (for example `["/app/jim-web", "healthcheck"]`)
    /// every 30 s, allowed 5 s, after a 20 s start period, unhealthy after 3 failures.
    pub fn exec<S: Into<String>>(command: impl IntoIterator<Item = S>) -> Self {
        let mut test = vec!["CMD".to_owned()];
        test.extend(command.into_iter().map(Into::into));
        Self {
            test,
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
            start_period: Duration::from_secs(20),
            retries: 3,
        }
    }
}

/// Everything the image writer needs: the reference, the run configuration and the files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSpec {
    /// The repository name, such as `jim-web`.
    pub repository: String,
    /// The tag, such as `0.1.0`.
    pub tag: String,
    /// Prepended to the repository as is, such as `registry.local/`; empty by default.
    pub registry_prefix: String,
    /// The program and its fixed arguments.
    pub entrypoint: Vec<String>,
    /// Default arguments appended to the entrypoint; usually empty.
    pub command: Vec<String>,
    /// The user to run as: numeric `uid` or `uid:gid` for images without `/etc/passwd`.
    /// In an image without `/etc/group`, the engine runs a bare uid with group 0; write
    /// `uid:gid` to set the group too.
    pub user: String,
    /// Ports the service listens on, such as `8080` or `8080/tcp`.
    pub exposed_ports: Vec<String>,
    /// Environment variables, in order.
    pub env: Vec<(String, String)>,
    /// The working directory; created in the layer when set.
    pub working_dir: Option<String>,
    /// Folders that volumes are mounted over. They are created in the layer and owned by
    /// [`ImageSpec::volume_owner`], but not declared as `VOLUME`, so no anonymous volume
    /// appears unless the compose file asks for one.
    pub volumes: Vec<String>,
    /// The owner of the `volumes` folders; by default the numeric `user`.
    pub volume_owner: Option<Owner>,
    /// The health check, if any.
    pub healthcheck: Option<HealthCheck>,
    /// The signal `docker stop` sends, such as `SIGINT`; the engine's default (`SIGTERM`) when
    /// unset.
    pub stop_signal: Option<String>,
    /// Image labels (see [`labels`]).
    pub labels: BTreeMap<String, String>,
    /// The creation time of the image and of every file in it.
    pub created: SourceDateEpoch,
    /// Files placed into the image, on top of `root_filesystem` if there is one.
    pub files: Vec<ImageFile>,
    /// A folder taken whole as the root filesystem.
    pub root_filesystem: Option<RootFilesystem>,
}

impl ImageSpec {
    /// A specification with the given reference and creation time, running as
    /// [`DEFAULT_USER`], with nothing else set.
    pub fn new(repository: &str, tag: &str, created: SourceDateEpoch) -> Self {
        Self {
            repository: repository.to_owned(),
            tag: tag.to_owned(),
            registry_prefix: String::new(),
            entrypoint: Vec::new(),
            command: Vec::new(),
            user: DEFAULT_USER.to_owned(),
            exposed_ports: Vec::new(),
            env: Vec::new(),
            working_dir: None,
            volumes: Vec::new(),
            volume_owner: None,
            healthcheck: None,
            stop_signal: None,
            labels: BTreeMap::new(),
            created,
            files: Vec::new(),
            root_filesystem: None,
        }
    }

    /// Sets the standard OCI labels: title (the repository), version, revision, source and
    /// created (from [`ImageSpec::created`]).
    pub fn insert_oci_labels(&mut self, version: &str, revision: &str, source: &str) {
        let pairs = [
            (labels::TITLE, self.repository.clone()),
            (labels::VERSION, version.to_owned()),
            (labels::REVISION, revision.to_owned()),
            (labels::SOURCE, source.to_owned()),
            (labels::CREATED, self.created.rfc3339()),
        ];
        for (name, value) in pairs {
            self.labels.insert(name.to_owned(), value);
        }
    }

    /// The name without the tag, such as `registry.local/jim-web`.
    pub fn name(&self) -> String {
        format!("{}{}", self.registry_prefix, self.repository)
    }

    /// The reference `docker load` tags the image with, such as `jim-web:0.1.0`.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.name(), self.tag)
    }

    /// The fully qualified reference containerd records (`docker.io/library/jim-web:0.1.0`).
    pub fn qualified_reference(&self) -> String {
        let name = self.name();
        let qualified = match name.split_once('/') {
            None => format!("docker.io/library/{name}"),
            Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => name,
            Some(_) => format!("docker.io/{name}"),
        };
        format!("{qualified}:{}", self.tag)
    }

    /// The owner of the `volumes` folders: `volume_owner`, else the numeric `user`.
    pub fn resolved_volume_owner(&self) -> Result<Owner, Error> {
        if let Some(owner) = self.volume_owner {
            return Ok(owner);
        }
        numeric_user(&self.user).ok_or_else(|| Error::InvalidImageSpec {
            field: "user",
            value: self.user.clone(),
            reason: "volume folders need a numeric user (`uid` or `uid:gid`) or an explicit \
                     volume owner"
                .to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ImageSpec {
        let mut spec = ImageSpec::new("jim-web", "0.1.0", SourceDateEpoch::parse("0").unwrap());
        spec.entrypoint = vec!["/app/jim-web".into()];
        spec
    }

    #[test]
    fn created_time_parses_and_formats() {
        let time = SourceDateEpoch::parse("1767225600").unwrap();
        assert_eq!(time.rfc3339(), "2026-01-01T00:00:00Z");
        assert!(SourceDateEpoch::parse("yesterday").is_err());
        assert!(SourceDateEpoch::parse("-1").is_err());
        let error = SourceDateEpoch::parse("1.5").unwrap_err();
        assert!(error.to_string().contains("`1.5`"), "{error}");
    }

    #[test]
    fn references_are_formed_as_docker_and_containerd_write_them() {
        let mut spec = spec();
        assert_eq!(spec.reference(), "jim-web:0.1.0");
        assert_eq!(
            spec.qualified_reference(),
            "docker.io/library/jim-web:0.1.0"
        );
        spec.repository = "jim/web".into();
        assert_eq!(spec.qualified_reference(), "docker.io/jim/web:0.1.0");
        spec.registry_prefix = "registry.local:5000/".into();
        assert_eq!(spec.reference(), "registry.local:5000/jim/web:0.1.0");
        assert_eq!(
            spec.qualified_reference(),
            "registry.local:5000/jim/web:0.1.0"
        );
        spec.registry_prefix = "localhost/".into();
        assert_eq!(spec.qualified_reference(), "localhost/jim/web:0.1.0");
    }

    #[test]
    fn volume_owner_comes_from_a_numeric_user() {
        let mut spec = spec();
        assert_eq!(
            spec.resolved_volume_owner().unwrap(),
            Owner::new(1654, 1654)
        );
        spec.user = "1654:0".into();
        assert_eq!(spec.resolved_volume_owner().unwrap(), Owner::new(1654, 0));
        spec.user = "postgres".into();
        assert!(spec.resolved_volume_owner().is_err());
        spec.volume_owner = Some(Owner::new(999, 999));
        assert_eq!(spec.resolved_volume_owner().unwrap(), Owner::new(999, 999));
    }

    #[test]
    fn owner_map_picks_the_deepest_subtree() {
        let mut owners = OwnerMap::default();
        owners
            .subtrees
            .insert("/var/lib/postgresql".into(), Owner::new(999, 999));
        owners
            .subtrees
            .insert("/var/lib/postgresql/keep-root".into(), Owner::ROOT);
        assert_eq!(owners.owner_of("/var/lib/postgresql"), Owner::new(999, 999));
        assert_eq!(
            owners.owner_of("/var/lib/postgresql/data/x"),
            Owner::new(999, 999)
        );
        assert_eq!(
            owners.owner_of("/var/lib/postgresql/keep-root/y"),
            Owner::ROOT
        );
        assert_eq!(owners.owner_of("/var/lib"), Owner::ROOT);
        assert_eq!(owners.owner_of("/var/lib/postgresql-other"), Owner::ROOT);
    }
}
