//! The Docker side of backups: a short-lived helper container from the database image the
//! bundle loaded (the only image here with the PostgreSQL client programs), on the stack's
//! network and with the key volume mounted. The dump streams out of `pg_dump` through the
//! Engine API; the key volume is read and written with the archive endpoint; nothing needs a
//! shell image such as alpine, and nothing is pulled.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, HostConfig, VolumeCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, DownloadFromContainerOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use futures_util::StreamExt;

use super::{
    BACKUP_FORMAT, BackupError, BackupManifest, BackupPart, DATABASE_ENTRY, HashingWriter,
    KEYS_ENTRY, VerifiedBackup, archive_name, write_archive,
};
use crate::configure::EnvFile;

/// The label every helper container carries, so that a leftover one can be found.
pub const HELPER_LABEL: &str = "io.jim.install.helper";

/// How to reach the stack's database, from `.env`.
#[derive(Debug, Clone)]
pub struct DatabaseTarget {
    pub host: String,
    pub port: u16,
    pub name: String,
    pub user: String,
    pub password: String,
}

impl DatabaseTarget {
    /// The database `.env` names (`JIM_DB_HOSTNAME` may carry `:port`).
    pub fn from_env(env: &EnvFile) -> Self {
        let value = |key: &str, default: &str| {
            env.get(key)
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .unwrap_or(default)
                .to_string()
        };
        let address = value("JIM_DB_HOSTNAME", "jim.database");
        let (host, port) = match address.rsplit_once(':') {
            Some((host, port)) if port.parse::<u16>().is_ok() => {
                (host.to_string(), port.parse().unwrap_or(5432))
            }
            _ => (address.clone(), 5432),
        };
        Self {
            host,
            port,
            name: value("JIM_DB_NAME", "jim"),
            user: value("JIM_DB_USERNAME", "jim"),
            password: value("JIM_DB_PASSWORD", ""),
        }
    }
}

/// One installation's names in the engine.
#[derive(Debug, Clone)]
pub struct BackupSite {
    pub project: String,
    pub database: DatabaseTarget,
    /// The database image whose client programs are used (`JIM_DB_IMAGE`).
    pub database_image: String,
    /// The JIM version running, for the manifest.
    pub version: String,
}

impl BackupSite {
    pub fn keys_volume(&self) -> String {
        format!("{}_jim-keys-volume", self.project)
    }

    pub fn network(&self) -> String {
        format!("{}_jim-network", self.project)
    }
}

/// A running helper container; [`Helper::remove`] ends it.
pub struct Helper {
    docker: Docker,
    id: String,
    database: DatabaseTarget,
}

impl Helper {
    /// Starts a helper from the database image, idle until removed.
    pub async fn start(docker: &Docker, site: &BackupSite) -> Result<Self, BackupError> {
        if crate::docker::image_id(docker, &site.database_image)
            .await
            .map_err(|error| BackupError::Other(error.to_string()))?
            .is_none()
        {
            return Err(BackupError::Other(format!(
                "the Docker Engine has no image `{}` (JIM_DB_IMAGE), whose PostgreSQL client \
                 programs backups use\nhint: load the bundle's images (`jim-install load`)",
                site.database_image
            )));
        }
        let network = match docker.inspect_network(&site.network(), None).await {
            Ok(_) => site.network(),
            Err(_) => "bridge".to_string(),
        };
        let database = &site.database;
        let body = ContainerCreateBody {
            image: Some(site.database_image.clone()),
            // The image has dash but no `sleep`: `read` on an open, never-written stdin waits
            // until the container is removed.
            entrypoint: Some(vec!["sh".into(), "-c".into(), "read -r line".into()]),
            cmd: Some(Vec::new()),
            open_stdin: Some(true),
            env: Some(vec![
                format!("PGHOST={}", database.host),
                format!("PGPORT={}", database.port),
                format!("PGUSER={}", database.user),
                format!("PGPASSWORD={}", database.password),
                format!("PGDATABASE={}", database.name),
                "PGCONNECT_TIMEOUT=5".into(),
            ]),
            labels: Some(HashMap::from([(
                HELPER_LABEL.to_string(),
                site.project.clone(),
            )])),
            host_config: Some(HostConfig {
                binds: Some(vec![format!("{}:/data/keys", site.keys_volume())]),
                network_mode: Some(network),
                ..Default::default()
            }),
            ..Default::default()
        };
        let name = format!("{}-backup-helper-{}", site.project, std::process::id());
        let options = CreateContainerOptionsBuilder::new().name(&name).build();
        let created = docker.create_container(Some(options), body).await?;
        let helper = Self {
            docker: docker.clone(),
            id: created.id,
            database: database.clone(),
        };
        if let Err(error) = docker.start_container(&helper.id, None).await {
            helper.remove().await;
            return Err(error.into());
        }
        Ok(helper)
    }

    /// Removes the helper; errors are ignored (it holds nothing of value).
    pub async fn remove(self) {
        let options = RemoveContainerOptionsBuilder::new().force(true).build();
        let _ = self.docker.remove_container(&self.id, Some(options)).await;
    }

    /// Runs `command` in the helper, passing stdout to `sink`; returns the exit code and
    /// stderr.
    async fn exec(
        &self,
        command: &[&str],
        mut sink: impl FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<(i64, String), BackupError> {
        let options = CreateExecOptions {
            cmd: Some(command.iter().map(|part| part.to_string()).collect()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let exec = self.docker.create_exec(&self.id, options).await?;
        let mut stderr = String::new();
        if let StartExecResults::Attached { mut output, .. } =
            self.docker.start_exec(&exec.id, None).await?
        {
            while let Some(chunk) = output.next().await {
                match chunk? {
                    LogOutput::StdOut { message } => sink(&message)
                        .map_err(|error| BackupError::Other(format!("cannot write: {error}")))?,
                    LogOutput::StdErr { message } => {
                        stderr.push_str(&String::from_utf8_lossy(&message))
                    }
                    _ => {}
                }
            }
        }
        let code = self
            .docker
            .inspect_exec(&exec.id)
            .await?
            .exit_code
            .unwrap_or(-1);
        Ok((code, stderr.trim().to_string()))
    }

    async fn exec_checked(
        &self,
        command: &[&str],
        sink: impl FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<(), BackupError> {
        let (code, stderr) = self.exec(command, sink).await?;
        if code == 0 {
            Ok(())
        } else {
            Err(BackupError::Command {
                command: command.join(" "),
                code,
                stderr,
            })
        }
    }

    /// Runs SQL with psql and returns its unaligned, tuples-only output.
    pub async fn psql(&self, sql: &str) -> Result<String, BackupError> {
        let mut output = Vec::new();
        self.exec_checked(
            &[
                "psql",
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ],
            |bytes| {
                output.extend_from_slice(bytes);
                Ok(())
            },
        )
        .await?;
        Ok(String::from_utf8_lossy(&output).trim().to_string())
    }

    /// Waits until the database answers, up to `timeout`.
    pub async fn wait_for_database(&self, timeout: Duration) -> Result<(), BackupError> {
        let started = Instant::now();
        loop {
            match self.psql("SELECT 1").await {
                Ok(_) => return Ok(()),
                Err(error) if started.elapsed() >= timeout => {
                    return Err(BackupError::Other(format!(
                        "the database `{}` on `{}:{}` did not answer within {} s: {error}\n\
                         hint: check that it runs (`jim-install status`)",
                        self.database.name,
                        self.database.host,
                        self.database.port,
                        timeout.as_secs()
                    )));
                }
                Err(_) => tokio::time::sleep(Duration::from_secs(2)).await,
            }
        }
    }

    /// The newest migration the database has applied, if any.
    pub async fn schema_version(&self) -> Result<Option<i64>, BackupError> {
        let exists = self
            .psql("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .await?;
        if exists != "t" {
            return Ok(None);
        }
        let text = self
            .psql("SELECT coalesce(max(version), 0) FROM _sqlx_migrations WHERE success")
            .await?;
        Ok(text.parse().ok().filter(|version| *version > 0))
    }

    /// Streams `pg_dump -Fc` into `path`; returns its size and SHA-256.
    pub async fn dump_database(&self, path: &Path) -> Result<(u64, String), BackupError> {
        let io_error = |source| BackupError::Io {
            path: path.to_owned(),
            source,
        };
        let file = File::create(path).map_err(io_error)?;
        let mut writer = HashingWriter::new(BufWriter::with_capacity(1 << 20, file));
        self.exec_checked(&["pg_dump", "--format=custom"], |bytes| {
            writer.write_all(bytes)
        })
        .await?;
        writer.finish().map_err(io_error)
    }

    /// Writes the key volume as a tar (`keys/...`) to `path`; returns its size and SHA-256.
    pub async fn download_keys(&self, path: &Path) -> Result<(u64, String), BackupError> {
        let io_error = |source| BackupError::Io {
            path: path.to_owned(),
            source,
        };
        let file = File::create(path).map_err(io_error)?;
        let mut writer = HashingWriter::new(BufWriter::new(file));
        let options = DownloadFromContainerOptionsBuilder::new()
            .path("/data/keys")
            .build();
        let mut stream = self.docker.download_from_container(&self.id, Some(options));
        while let Some(chunk) = stream.next().await {
            writer.write_all(&chunk?).map_err(io_error)?;
        }
        writer.finish().map_err(io_error)
    }

    /// Replaces the database's `public` schema with the dump inside the backup archive. The
    /// archive (already verified) is unpacked into the helper's `/tmp` by the Engine API.
    pub async fn restore_database(&self, archive: &Path) -> Result<(), BackupError> {
        let file = tokio::fs::File::open(archive)
            .await
            .map_err(|source| BackupError::Io {
                path: archive.to_owned(),
                source,
            })?;
        let options = UploadToContainerOptionsBuilder::new().path("/tmp").build();
        self.docker
            .upload_to_container(
                &self.id,
                Some(options),
                bollard::body_try_stream(file_chunks(file)),
            )
            .await?;
        self.psql("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
            .await?;
        let database = format!("--dbname={}", self.database.name);
        let dump = format!("/tmp/{DATABASE_ENTRY}");
        self.exec_checked(
            &[
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                &database,
                &dump,
            ],
            |_| Ok(()),
        )
        .await
    }

    /// Writes the key volume's tar (entries `keys/...`) back into the mounted volume.
    pub async fn upload_keys(&self, keys: Vec<u8>) -> Result<(), BackupError> {
        let options = UploadToContainerOptionsBuilder::new().path("/data").build();
        self.docker
            .upload_to_container(&self.id, Some(options), bollard::body_full(keys.into()))
            .await?;
        Ok(())
    }
}

/// The file as a stream of 1 MiB chunks, so that a large dump is never held in memory.
fn file_chunks(
    file: tokio::fs::File,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static {
    futures_util::stream::unfold(Some(file), |file| async move {
        use tokio::io::AsyncReadExt;
        let mut file = file?;
        let mut buffer = vec![0u8; 1 << 20];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(read) => {
                buffer.truncate(read);
                Some((Ok(bytes::Bytes::from(buffer)), Some(file)))
            }
            // The stream ends after reporting the error.
            Err(error) => Some((Err(error), None)),
        }
    })
}

/// Removes the key volume and creates it again, empty, with the same labels, so that a
/// restore leaves exactly the backed-up keys. No container may use the volume.
pub async fn recreate_keys_volume(docker: &Docker, site: &BackupSite) -> Result<(), BackupError> {
    let name = site.keys_volume();
    let labels = match docker.inspect_volume(&name).await {
        Ok(volume) => {
            docker
                .remove_volume(
                    &name,
                    None::<bollard::query_parameters::RemoveVolumeOptions>,
                )
                .await?;
            volume.labels
        }
        Err(_) => HashMap::from([
            (
                "com.docker.compose.project".to_string(),
                site.project.clone(),
            ),
            (
                "com.docker.compose.volume".to_string(),
                "jim-keys-volume".to_string(),
            ),
        ]),
    };
    docker
        .create_volume(VolumeCreateRequest {
            name: Some(name),
            labels: Some(labels),
            ..Default::default()
        })
        .await?;
    Ok(())
}

/// The schema version a worker image brings: `jim-worker schema-version` in a throwaway
/// container of that image.
pub async fn image_schema_version(docker: &Docker, image: &str) -> Result<i64, BackupError> {
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        cmd: Some(vec!["schema-version".into()]),
        labels: Some(HashMap::from([(
            HELPER_LABEL.to_string(),
            image.to_string(),
        )])),
        host_config: Some(HostConfig {
            network_mode: Some("none".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = docker.create_container(None, body).await?;
    let result = async {
        docker.start_container(&created.id, None).await?;
        let mut wait = docker.wait_container(&created.id, None);
        while let Some(answer) = wait.next().await {
            // A non-zero exit arrives as an error; the output below says why.
            if answer.is_err() {
                break;
            }
        }
        let options = LogsOptionsBuilder::new().stdout(true).stderr(true).build();
        let mut logs = docker.logs(&created.id, Some(options));
        let mut text = String::new();
        while let Some(Ok(chunk)) = logs.next().await {
            text.push_str(&chunk.to_string());
        }
        text.trim().parse::<i64>().map_err(|_| {
            BackupError::Other(format!(
                "`{image}` did not print its schema version (`jim-worker schema-version` \
                 answered `{}`)\nhint: the image predates schema versions; upgrade with a \
                 newer bundle",
                text.trim()
            ))
        })
    }
    .await;
    let options = RemoveContainerOptionsBuilder::new().force(true).build();
    let _ = docker.remove_container(&created.id, Some(options)).await;
    result
}

/// Takes a backup of the database and the key volume into `folder`; returns the archive.
pub async fn take_backup(
    docker: &Docker,
    site: &BackupSite,
    folder: &Path,
) -> Result<(PathBuf, BackupManifest), BackupError> {
    let io_error = |path: &Path| {
        let path = path.to_owned();
        move |source| BackupError::Io { path, source }
    };
    fs::create_dir_all(folder).map_err(io_error(folder))?;
    let work = folder.join(format!(".jim-backup-work-{}", std::process::id()));
    fs::create_dir_all(&work).map_err(io_error(&work))?;

    let helper = Helper::start(docker, site).await?;
    let database = work.join(DATABASE_ENTRY);
    let keys = work.join(KEYS_ENTRY);
    let parts = async {
        helper.wait_for_database(Duration::from_secs(120)).await?;
        let schema = helper.schema_version().await?;
        let dumped = helper.dump_database(&database).await?;
        let downloaded = helper.download_keys(&keys).await?;
        Ok::<_, BackupError>((schema, dumped, downloaded))
    }
    .await;
    helper.remove().await;
    let result = parts.and_then(|(schema, dumped, downloaded)| {
        let now = chrono::Utc::now();
        let manifest = BackupManifest {
            format: BACKUP_FORMAT,
            jim_version: site.version.clone(),
            created_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            schema_version: schema,
            project: site.project.clone(),
            database_image: site.database_image.clone(),
            parts: vec![
                BackupPart {
                    name: DATABASE_ENTRY.into(),
                    bytes: dumped.0,
                    sha256: dumped.1,
                },
                BackupPart {
                    name: KEYS_ENTRY.into(),
                    bytes: downloaded.0,
                    sha256: downloaded.1,
                },
            ],
        };
        let name = archive_name(&site.version, now);
        write_archive(folder, &name, &manifest, &database, &keys).map(|path| (path, manifest))
    });
    let _ = fs::remove_dir_all(&work);
    result
}

/// Restores a verified backup: the key volume is emptied and filled from the backup, the
/// database's schema replaced by the dump. The JIM services must be removed first (no
/// container may hold the key volume), and the database must run.
pub async fn restore_backup(
    docker: &Docker,
    site: &BackupSite,
    backup: &VerifiedBackup,
) -> Result<(), BackupError> {
    recreate_keys_volume(docker, site).await?;
    let helper = Helper::start(docker, site).await?;
    let result = async {
        helper.upload_keys(backup.keys.clone()).await?;
        helper.wait_for_database(Duration::from_secs(120)).await?;
        helper.restore_database(&backup.path).await
    }
    .await;
    helper.remove().await;
    result
}
