//! The JSON documents of an image (config, OCI manifest, OCI index, Docker `manifest.json`)
//! and the outer tar that holds them with the layer, laid out as `docker save` writes it
//! since Engine 25: an OCI image layout plus a Docker `manifest.json` with `RepoTags`.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

use jim_checksums::Sha256Digest;
use serde::Serialize;
use tar::{EntryType, Header};

use super::spec::{HealthCheck, ImageSpec};
use super::validate::normalised_port;
use crate::Error;

/// Media type of an OCI image index.
pub const MEDIA_TYPE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Media type of an OCI image manifest.
pub const MEDIA_TYPE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Media type of an OCI image config.
pub const MEDIA_TYPE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Media type of an uncompressed OCI layer.
pub const MEDIA_TYPE_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";

/// The annotation containerd reads the full image name from.
const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";
/// The OCI annotation holding the tag.
const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// The only platform the service binaries are built for.
const ARCHITECTURE: &str = "amd64";
const OS: &str = "linux";

/// What the history entry says made the layer; it names no build-machine path.
const HISTORY_CREATED_BY: &str = "jim-bundle image writer";

/// The content of the `oci-layout` file.
const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// A blob ready to be put into the archive, with its digest.
pub(crate) struct Blob {
    pub digest: Sha256Digest,
    pub bytes: Vec<u8>,
}

impl Blob {
    fn new(bytes: Vec<u8>) -> Self {
        Self {
            digest: Sha256Digest::of_bytes(&bytes),
            bytes,
        }
    }

    fn descriptor(&self, media_type: &'static str) -> Descriptor {
        Descriptor {
            media_type,
            digest: prefixed(&self.digest),
            size: self.bytes.len() as u64,
            platform: None,
            annotations: None,
        }
    }
}

/// `sha256:<hex>`, the digest form of OCI documents.
pub(crate) fn prefixed(digest: &Sha256Digest) -> String {
    format!("sha256:{digest}")
}

/// `blobs/sha256/<hex>`, where a blob lives in the layout.
pub(crate) fn blob_path(digest: &Sha256Digest) -> String {
    format!("blobs/sha256/{digest}")
}

#[derive(Serialize)]
struct Descriptor {
    #[serde(rename = "mediaType")]
    media_type: &'static str,
    digest: String,
    size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    platform: Option<Platform>,
    #[serde(skip_serializing_if = "Option::is_none")]
    annotations: Option<BTreeMap<&'static str, String>>,
}

#[derive(Serialize)]
struct Platform {
    architecture: &'static str,
    os: &'static str,
}

#[derive(Serialize)]
struct ImageConfig<'a> {
    architecture: &'static str,
    config: RunConfig<'a>,
    created: String,
    history: [History; 1],
    os: &'static str,
    rootfs: RootFs,
}

/// The run configuration, with Docker's field names.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RunConfig<'a> {
    user: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    exposed_ports: BTreeMap<String, Empty>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    env: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    entrypoint: &'a Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cmd: &'a Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    working_dir: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    healthcheck: Option<Healthcheck<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop_signal: Option<&'a str>,
}

#[derive(Serialize)]
struct Empty {}

/// Docker's health check, durations in nanoseconds.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Healthcheck<'a> {
    test: &'a [String],
    interval: u64,
    timeout: u64,
    start_period: u64,
    retries: u32,
}

impl<'a> Healthcheck<'a> {
    fn new(check: &'a HealthCheck) -> Self {
        // Validation bounded every duration to what fits in nanoseconds.
        let nanoseconds =
            |duration: std::time::Duration| u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        Self {
            test: &check.test,
            interval: nanoseconds(check.interval),
            timeout: nanoseconds(check.timeout),
            start_period: nanoseconds(check.start_period),
            retries: check.retries,
        }
    }
}

#[derive(Serialize)]
struct History {
    created: String,
    created_by: &'static str,
}

#[derive(Serialize)]
struct RootFs {
    #[serde(rename = "type")]
    kind: &'static str,
    diff_ids: [String; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    schema_version: u32,
    media_type: &'static str,
    config: Descriptor,
    layers: [Descriptor; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Index {
    schema_version: u32,
    media_type: &'static str,
    manifests: [Descriptor; 1],
}

/// One image in Docker's `manifest.json`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifestEntry {
    config: String,
    repo_tags: [String; 1],
    layers: [String; 1],
}

fn to_json<T: Serialize>(document: &'static str, value: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(|source| Error::Serialize { document, source })
}

/// The image's small documents, built from a validated specification and the layer digest.
pub(crate) struct Documents {
    pub config: Blob,
    pub manifest: Blob,
    pub index: Vec<u8>,
    pub docker_manifest: Vec<u8>,
}

impl Documents {
    /// Builds config, manifest, index and `manifest.json` for an image with one
    /// uncompressed layer.
    pub(crate) fn new(
        spec: &ImageSpec,
        layer_digest: &Sha256Digest,
        layer_size: u64,
    ) -> Result<Self, Error> {
        let created = spec.created.rfc3339();
        let exposed_ports = spec
            .exposed_ports
            .iter()
            .filter_map(|port| normalised_port(port).ok())
            .map(|port| (port, Empty {}))
            .collect();
        let config = ImageConfig {
            architecture: ARCHITECTURE,
            config: RunConfig {
                user: &spec.user,
                exposed_ports,
                env: spec
                    .env
                    .iter()
                    .map(|(name, value)| format!("{name}={value}"))
                    .collect(),
                entrypoint: &spec.entrypoint,
                cmd: &spec.command,
                working_dir: spec.working_dir.as_deref(),
                labels: &spec.labels,
                healthcheck: spec.healthcheck.as_ref().map(Healthcheck::new),
                stop_signal: spec.stop_signal.as_deref(),
            },
            created: created.clone(),
            history: [History {
                created,
                created_by: HISTORY_CREATED_BY,
            }],
            os: OS,
            rootfs: RootFs {
                kind: "layers",
                diff_ids: [prefixed(layer_digest)],
            },
        };
        let config = Blob::new(to_json("config", &config)?);

        let layer = Descriptor {
            media_type: MEDIA_TYPE_LAYER,
            digest: prefixed(layer_digest),
            size: layer_size,
            platform: None,
            annotations: None,
        };
        let manifest = Manifest {
            schema_version: 2,
            media_type: MEDIA_TYPE_MANIFEST,
            config: config.descriptor(MEDIA_TYPE_CONFIG),
            layers: [layer],
        };
        let manifest = Blob::new(to_json("manifest", &manifest)?);

        let mut manifest_descriptor = manifest.descriptor(MEDIA_TYPE_MANIFEST);
        manifest_descriptor.platform = Some(Platform {
            architecture: ARCHITECTURE,
            os: OS,
        });
        manifest_descriptor.annotations = Some(BTreeMap::from([
            (ANNOTATION_IMAGE_NAME, spec.qualified_reference()),
            (ANNOTATION_REF_NAME, spec.tag.clone()),
        ]));
        let index = Index {
            schema_version: 2,
            media_type: MEDIA_TYPE_INDEX,
            manifests: [manifest_descriptor],
        };
        let index = to_json("index", &index)?;

        let docker_manifest = [DockerManifestEntry {
            config: blob_path(&config.digest),
            repo_tags: [spec.reference()],
            layers: [blob_path(layer_digest)],
        }];
        // Docker ends this file with a newline; so do we.
        let mut docker_manifest = to_json("manifest.json", &docker_manifest)?;
        docker_manifest.push(b'\n');

        Ok(Self {
            config,
            manifest,
            index,
            docker_manifest,
        })
    }
}

/// Writes the image archive: the `blobs/sha256/` folders, every blob in digest order (the
/// layer streamed from `layer`), then `index.json`, `manifest.json` and `oci-layout`. Every
/// entry is owned by root and stamped `mtime`.
pub(crate) fn write_archive<W: Write>(
    output: W,
    documents: &Documents,
    layer_digest: &Sha256Digest,
    layer_size: u64,
    layer: &mut dyn Read,
    mtime: u64,
) -> io::Result<W> {
    let mut builder = tar::Builder::new(output);
    for folder in ["blobs/", "blobs/sha256/"] {
        let mut header = header(EntryType::Directory, 0o755, 0, mtime);
        builder.append_data(&mut header, folder, io::empty())?;
    }

    enum Source<'a> {
        Memory(&'a [u8]),
        Layer,
    }
    let mut blobs = [
        (
            documents.config.digest,
            Source::Memory(&documents.config.bytes),
        ),
        (
            documents.manifest.digest,
            Source::Memory(&documents.manifest.bytes),
        ),
        (*layer_digest, Source::Layer),
    ];
    blobs.sort_by_key(|(digest, _)| *digest);
    for (digest, source) in blobs {
        let path = blob_path(&digest);
        match source {
            Source::Memory(bytes) => {
                let mut header = header(EntryType::Regular, 0o644, bytes.len() as u64, mtime);
                builder.append_data(&mut header, path, bytes)?;
            }
            Source::Layer => {
                let mut header = header(EntryType::Regular, 0o644, layer_size, mtime);
                builder.append_data(&mut header, path, layer.take(layer_size))?;
            }
        }
    }

    let files: [(&str, &[u8]); 3] = [
        ("index.json", &documents.index),
        ("manifest.json", &documents.docker_manifest),
        ("oci-layout", OCI_LAYOUT),
    ];
    for (path, bytes) in files {
        let mut header = header(EntryType::Regular, 0o644, bytes.len() as u64, mtime);
        builder.append_data(&mut header, path, bytes)?;
    }
    builder.into_inner()
}

fn header(kind: EntryType, mode: u32, size: u64, mtime: u64) -> Header {
    let mut header = Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_size(size);
    header.set_mtime(mtime);
    header
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{Value, json};

    use super::*;
    use crate::image::spec::{SourceDateEpoch, labels};

    fn spec() -> ImageSpec {
        let created = SourceDateEpoch::from_unix_seconds(1_767_225_600).unwrap();
        let mut spec = ImageSpec::new("jim-web", "0.1.0", created);
        spec.entrypoint = vec!["/app/jim-web".into()];
        spec.exposed_ports = vec!["8080".into()];
        spec.env = vec![("JIM_LOG_LEVEL".into(), "info".into())];
        spec.working_dir = Some("/app".into());
        spec.volumes = vec!["/var/lib/jim".into()];
        let mut check = HealthCheck::exec(["/app/jim-web", "healthcheck"]);
        check.interval = Duration::from_secs(10);
        check.start_period = Duration::from_millis(1500);
        spec.healthcheck = Some(check);
        spec.insert_oci_labels("0.1.0", "abc123", "https://example.invalid/jim");
        spec
    }

    fn layer_digest() -> Sha256Digest {
        Sha256Digest::of_bytes(b"layer")
    }

    #[test]
    fn config_carries_the_run_configuration_in_docker_form() {
        let documents = Documents::new(&spec(), &layer_digest(), 5).unwrap();
        let config: Value = serde_json::from_slice(&documents.config.bytes).unwrap();

        assert_eq!(config["architecture"], "amd64");
        assert_eq!(config["os"], "linux");
        assert_eq!(config["created"], "2026-01-01T00:00:00Z");
        assert_eq!(
            config["rootfs"],
            json!({"type": "layers", "diff_ids": [prefixed(&layer_digest())]})
        );
        assert_eq!(
            config["history"],
            json!([{"created": "2026-01-01T00:00:00Z", "created_by": "jim-bundle image writer"}])
        );

        let run = &config["config"];
        assert_eq!(run["User"], "1654");
        assert_eq!(run["Entrypoint"], json!(["/app/jim-web"]));
        assert_eq!(run["ExposedPorts"], json!({"8080/tcp": {}}));
        assert_eq!(run["Env"], json!(["JIM_LOG_LEVEL=info"]));
        assert_eq!(run["WorkingDir"], "/app");
        assert_eq!(
            run["Healthcheck"],
            json!({
                "Test": ["CMD", "/app/jim-web", "healthcheck"],
                "Interval": 10_000_000_000u64,
                "Timeout": 5_000_000_000u64,
                "StartPeriod": 1_500_000_000u64,
                "Retries": 3
            })
        );
        assert_eq!(run["Labels"][labels::VERSION], "0.1.0");
        assert_eq!(run["Labels"][labels::REVISION], "abc123");
        assert_eq!(run["Labels"][labels::CREATED], "2026-01-01T00:00:00Z");
        // Volume folders are created in the layer, never declared.
        assert!(run.get("Volumes").is_none());
        assert!(run.get("Cmd").is_none());
    }

    #[test]
    fn manifest_index_and_docker_manifest_point_at_the_blobs() {
        let documents = Documents::new(&spec(), &layer_digest(), 5).unwrap();
        let manifest: Value = serde_json::from_slice(&documents.manifest.bytes).unwrap();
        assert_eq!(manifest["schemaVersion"], 2);
        assert_eq!(manifest["mediaType"], MEDIA_TYPE_MANIFEST);
        assert_eq!(
            manifest["config"]["digest"],
            prefixed(&documents.config.digest)
        );
        assert_eq!(manifest["config"]["size"], documents.config.bytes.len());
        assert_eq!(
            manifest["layers"],
            json!([{"mediaType": MEDIA_TYPE_LAYER, "digest": prefixed(&layer_digest()), "size": 5}])
        );

        let index: Value = serde_json::from_slice(&documents.index).unwrap();
        assert_eq!(index["mediaType"], MEDIA_TYPE_INDEX);
        let entry = &index["manifests"][0];
        assert_eq!(entry["digest"], prefixed(&documents.manifest.digest));
        assert_eq!(
            entry["annotations"][ANNOTATION_IMAGE_NAME],
            "docker.io/library/jim-web:0.1.0"
        );
        assert_eq!(entry["annotations"][ANNOTATION_REF_NAME], "0.1.0");
        assert_eq!(
            entry["platform"],
            json!({"architecture": "amd64", "os": "linux"})
        );

        assert!(documents.docker_manifest.ends_with(b"]\n"));
        let docker: Value = serde_json::from_slice(&documents.docker_manifest).unwrap();
        assert_eq!(
            docker,
            json!([{
                "Config": format!("blobs/sha256/{}", documents.config.digest),
                "RepoTags": ["jim-web:0.1.0"],
                "Layers": [format!("blobs/sha256/{}", layer_digest())]
            }])
        );
    }

    #[test]
    fn a_registry_prefix_reaches_every_name() {
        let mut spec = spec();
        spec.registry_prefix = "registry.local/".into();
        let documents = Documents::new(&spec, &layer_digest(), 5).unwrap();
        let docker: Value = serde_json::from_slice(&documents.docker_manifest).unwrap();
        assert_eq!(
            docker[0]["RepoTags"],
            json!(["registry.local/jim-web:0.1.0"])
        );
        let index: Value = serde_json::from_slice(&documents.index).unwrap();
        assert_eq!(
            index["manifests"][0]["annotations"][ANNOTATION_IMAGE_NAME],
            "registry.local/jim-web:0.1.0"
        );
    }
}
