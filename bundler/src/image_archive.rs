//! Reading image tars that someone else wrote (`docker save`, the Engine's export): the
//! references they carry and the image id, taken from Docker's `manifest.json`.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use serde::Deserialize;

use crate::Error;

/// What an image tar holds, as far as loading it is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageArchiveInfo {
    /// The references `docker load` tags the image with, in familiar form (`postgres:18`).
    pub references: Vec<String>,
    /// The image id, `sha256:<config digest>`.
    pub image_id: String,
}

/// One entry of Docker's `manifest.json`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
}

/// The largest `manifest.json` read; real ones are a few hundred bytes.
const MANIFEST_LIMIT: u64 = 1024 * 1024;

/// Reads the `manifest.json` of an image tar, which must describe exactly one image with at
/// least one tag.
pub fn inspect_image_archive(path: &Path) -> Result<ImageArchiveInfo, Error> {
    let invalid = |reason: String| Error::InvalidImageArchive {
        path: path.to_owned(),
        reason,
    };
    let read_error = |source| Error::Read {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(read_error)?;
    let mut archive = tar::Archive::new(BufReader::with_capacity(1024 * 1024, file));

    let mut manifest = None;
    let entries = archive
        .entries()
        .map_err(|error| invalid(format!("not a tar file ({error})")))?;
    for entry in entries {
        let entry = entry.map_err(|error| invalid(format!("not a readable tar ({error})")))?;
        let is_manifest = entry
            .path()
            .map(|name| name.as_os_str() == "manifest.json")
            .unwrap_or(false);
        if is_manifest {
            let mut text = Vec::new();
            entry
                .take(MANIFEST_LIMIT)
                .read_to_end(&mut text)
                .map_err(read_error)?;
            manifest = Some(text);
            break;
        }
    }
    let text = manifest.ok_or_else(|| invalid("it has no `manifest.json`".to_owned()))?;
    parse_docker_manifest(&text).map_err(invalid)
}

/// Parses `manifest.json` text into the references and the image id.
fn parse_docker_manifest(text: &[u8]) -> Result<ImageArchiveInfo, String> {
    let entries: Vec<ManifestEntry> = serde_json::from_slice(text)
        .map_err(|error| format!("its `manifest.json` cannot be parsed ({error})"))?;
    let [entry] = entries.as_slice() else {
        return Err(format!(
            "its `manifest.json` lists {} images; the bundle needs one image per file",
            entries.len()
        ));
    };
    let references: Vec<String> = entry
        .repo_tags
        .iter()
        .flatten()
        .map(|reference| familiar_reference(reference))
        .collect();
    if references.is_empty() {
        return Err(
            "its `manifest.json` has no `RepoTags`, so the image would load \
                    without a name"
                .to_owned(),
        );
    }
    // Docker 25 and later name the config `blobs/sha256/<hex>`; older engines `<hex>.json`.
    let config = &entry.config;
    let hex = config
        .strip_prefix("blobs/sha256/")
        .or_else(|| config.strip_suffix(".json"))
        .filter(|hex| hex.len() == 64 && hex.bytes().all(|byte| byte.is_ascii_hexdigit()))
        .ok_or_else(|| format!("its config `{config}` is not named by a SHA-256 digest"))?;
    Ok(ImageArchiveInfo {
        references,
        image_id: format!("sha256:{hex}"),
    })
}

/// The short form Docker shows for a reference: without `docker.io/library/` or `docker.io/`.
pub fn familiar_reference(reference: &str) -> String {
    let without_registry = reference
        .strip_prefix("docker.io/")
        .or_else(|| reference.strip_prefix("index.docker.io/"))
        .unwrap_or(reference);
    let short = without_registry
        .strip_prefix("library/")
        .filter(|rest| !rest.contains('/'))
        .unwrap_or(without_registry);
    short.to_owned()
}

/// Splits a reference into name and tag, refusing references without a tag or with a digest:
/// the bundle exports images by tag so that they load with a name.
pub fn split_tagged_reference(reference: &str) -> Result<(&str, &str), &'static str> {
    if reference.contains('@') {
        return Err(
            "name the image by its tag (NAME:TAG), not by digest: an image saved by \
                    digest loads without a name",
        );
    }
    let last_component_start = reference.rfind('/').map_or(0, |index| index + 1);
    match reference[last_component_start..].rfind(':') {
        Some(colon) => {
            let split = last_component_start + colon;
            let (name, tag) = (&reference[..split], &reference[split + 1..]);
            if name.is_empty() || tag.is_empty() {
                return Err("expected NAME:TAG");
            }
            Ok((name, tag))
        }
        None => Err("name the image with its tag, such as `postgres:18`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn both_config_namings_give_the_image_id() {
        for config in [format!("blobs/sha256/{HEX}"), format!("{HEX}.json")] {
            let text = format!(
                r#"[{{"Config":"{config}","RepoTags":["docker.io/library/postgres:18"],"Layers":[]}}]"#
            );
            let info = parse_docker_manifest(text.as_bytes()).unwrap();
            assert_eq!(info.image_id, format!("sha256:{HEX}"));
            assert_eq!(info.references, ["postgres:18"]);
        }
    }

    #[test]
    fn untagged_or_multiple_images_are_refused() {
        let untagged = format!(r#"[{{"Config":"{HEX}.json","RepoTags":null,"Layers":[]}}]"#);
        let error = parse_docker_manifest(untagged.as_bytes()).unwrap_err();
        assert!(error.contains("RepoTags"), "{error}");
        let two = format!(
            r#"[{{"Config":"{HEX}.json","RepoTags":["a:1"]}},{{"Config":"{HEX}.json","RepoTags":["b:1"]}}]"#
        );
        assert!(parse_docker_manifest(two.as_bytes()).is_err());
    }

    #[test]
    fn references_are_shortened_and_split() {
        assert_eq!(
            familiar_reference("docker.io/library/postgres:18"),
            "postgres:18"
        );
        assert_eq!(familiar_reference("docker.io/bitnami/pg:1"), "bitnami/pg:1");
        assert_eq!(
            familiar_reference("registry.local:5000/pg:1"),
            "registry.local:5000/pg:1"
        );
        assert_eq!(
            split_tagged_reference("postgres:18"),
            Ok(("postgres", "18"))
        );
        assert_eq!(
            split_tagged_reference("registry.local:5000/jim/pg:15-debian"),
            Ok(("registry.local:5000/jim/pg", "15-debian"))
        );
        assert!(split_tagged_reference("registry.local:5000/pg").is_err());
        assert!(split_tagged_reference("postgres@sha256:abc").is_err());
    }

    #[test]
    fn a_tar_without_manifest_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image.tar");
        let mut builder = tar::Builder::new(File::create(&path).unwrap());
        let mut header = tar::Header::new_gnu();
        header.set_size(2);
        builder
            .append_data(&mut header, "other.json", &b"{}"[..])
            .unwrap();
        builder.finish().unwrap();
        let error = inspect_image_archive(&path).unwrap_err();
        assert!(error.to_string().contains("no `manifest.json`"), "{error}");
    }
}
