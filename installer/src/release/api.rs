//! Finding a release through the GitHub releases API shape: `GET
//! {base}/repos/{owner}/{name}/releases/latest` (or `/releases/tags/{tag}`) answers `tag_name`,
//! `prerelease` and `assets[]` with `name`, `size` and `browser_download_url`. An internal
//! mirror that answers the same shape works the same.

use jim_bundle::layout::{ReleaseVersion, asset_aliases};
use serde::Deserialize;
use url::Url;

use super::{ReleaseClient, ReleaseError};

/// GitHub's public API, the default release server.
pub const DEFAULT_RELEASE_URL: &str = "https://api.github.com";
/// The repository that publishes JIM's releases.
pub const DEFAULT_REPOSITORY: &str = "TetronIO/JIM";

/// Where releases are looked up.
#[derive(Debug, Clone)]
pub struct ReleaseSource {
    /// The API base, without a trailing `/`.
    pub base: Url,
    /// `OWNER/NAME`.
    pub repository: String,
}

impl ReleaseSource {
    /// Checks the base URL and the repository.
    pub fn new(base: &str, repository: &str) -> Result<Self, ReleaseError> {
        let invalid = |reason: &str| ReleaseError::InvalidUrl {
            value: base.to_string(),
            reason: reason.to_string(),
        };
        let url =
            Url::parse(base.trim_end_matches('/')).map_err(|error| invalid(&error.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(invalid(
                "only http:// and https:// URLs with a host are supported",
            ));
        }
        let parts: Vec<&str> = repository.split('/').collect();
        let valid_part = |part: &&str| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || b"-_.".contains(&byte))
        };
        if parts.len() != 2 || !parts.iter().all(valid_part) {
            return Err(ReleaseError::InvalidRepository {
                value: repository.to_string(),
            });
        }
        Ok(Self {
            base: url,
            repository: repository.to_string(),
        })
    }

    fn endpoint(&self, tail: &str) -> String {
        format!(
            "{}/repos/{}/{tail}",
            self.base.as_str().trim_end_matches('/'),
            self.repository
        )
    }
}

/// One asset as the API lists it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Asset {
    pub name: String,
    pub size: u64,
    pub browser_download_url: String,
}

#[derive(Debug, Deserialize)]
struct ReleaseJson {
    tag_name: String,
    #[serde(default)]
    prerelease: bool,
    #[serde(default)]
    draft: bool,
    #[serde(default)]
    assets: Vec<Asset>,
}

/// A release found on the server.
#[derive(Debug, Clone)]
pub struct Release {
    pub version: ReleaseVersion,
    pub tag: String,
    pub prerelease: bool,
    pub assets: Vec<Asset>,
}

impl Release {
    /// The asset `name`, or the name the server gave it instead (GitHub serves `.env.example`
    /// as `default.env.example`).
    pub fn asset(&self, name: &str) -> Result<&Asset, ReleaseError> {
        std::iter::once(name)
            .chain(asset_aliases(name).iter().copied())
            .find_map(|candidate| self.assets.iter().find(|asset| asset.name == candidate))
            .ok_or_else(|| ReleaseError::MissingAsset {
                version: self.version.to_string(),
                asset: name.to_string(),
                available: if self.assets.is_empty() {
                    "none".to_string()
                } else {
                    self.assets
                        .iter()
                        .map(|asset| asset.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            })
    }
}

/// Finds release `version`, or the latest stable release when `version` is `None`.
pub async fn find_release(
    client: &ReleaseClient,
    source: &ReleaseSource,
    version: Option<&str>,
) -> Result<Release, ReleaseError> {
    match version {
        Some(version) => find_version(client, source, version).await,
        None => find_latest(client, source).await,
    }
}

async fn find_version(
    client: &ReleaseClient,
    source: &ReleaseSource,
    version: &str,
) -> Result<Release, ReleaseError> {
    let version = version.trim_start_matches('v');
    // Tags are usually `vX.Y.Z`; a mirror may tag plain `X.Y.Z`.
    for tag in [format!("v{version}"), version.to_string()] {
        let url = source.endpoint(&format!("releases/tags/{tag}"));
        match get_json::<ReleaseJson>(client, &url).await {
            Ok(json) => return release(json, &url),
            Err(ReleaseError::NotFound { .. }) => continue,
            Err(error) => return Err(error),
        }
    }
    Err(ReleaseError::NoSuchVersion {
        version: version.to_string(),
        repository: source.repository.clone(),
        releases_url: source.endpoint("releases"),
    })
}

async fn find_latest(
    client: &ReleaseClient,
    source: &ReleaseSource,
) -> Result<Release, ReleaseError> {
    let url = source.endpoint("releases/latest");
    match get_json::<ReleaseJson>(client, &url).await {
        Ok(json) if !json.prerelease && !json.draft => return release(json, &url),
        // GitHub answers 404 when there is no stable release; a mirror may answer a
        // pre-release. The list tells which, and names the pre-releases.
        Ok(_) | Err(ReleaseError::NotFound { .. }) => {}
        Err(error) => return Err(error),
    }

    let list_url = format!("{}?per_page=100", source.endpoint("releases"));
    let list = get_json::<Vec<ReleaseJson>>(client, &list_url).await?;
    let mut stable: Vec<Release> = Vec::new();
    let mut prereleases = Vec::new();
    for json in list.into_iter().filter(|json| !json.draft) {
        if json.prerelease {
            prereleases.push(json.tag_name);
        } else if let Ok(found) = release(json, &list_url) {
            stable.push(found);
        }
    }
    stable
        .into_iter()
        .max_by(|left, right| version_key(&left.version).cmp(&version_key(&right.version)))
        .ok_or(ReleaseError::NoStableRelease {
            repository: source.repository.clone(),
            prereleases,
        })
}

/// MAJOR, MINOR, PATCH as numbers, for picking the newest.
fn version_key(version: &ReleaseVersion) -> Vec<u64> {
    version
        .as_str()
        .split('-')
        .next()
        .unwrap_or_default()
        .split('.')
        .map(|number| number.parse().unwrap_or(0))
        .collect()
}

fn release(json: ReleaseJson, url: &str) -> Result<Release, ReleaseError> {
    let version =
        ReleaseVersion::parse(json.tag_name.trim_start_matches('v')).map_err(|error| {
            ReleaseError::InvalidJson {
                url: url.to_string(),
                reason: format!("tag `{}` is not a release version: {error}", json.tag_name),
            }
        })?;
    Ok(Release {
        version,
        tag: json.tag_name,
        prerelease: json.prerelease,
        assets: json.assets,
    })
}

async fn get_json<T: serde::de::DeserializeOwned>(
    client: &ReleaseClient,
    url: &str,
) -> Result<T, ReleaseError> {
    let body = client
        .get(url, true, None, 1)
        .await?
        .bytes()
        .await
        .map_err(|error| super::client::send_error(url, &error))?;
    serde_json::from_slice(&body).map_err(|error| ReleaseError::InvalidJson {
        url: url.to_string(),
        reason: error.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(name: &str) -> Asset {
        Asset {
            name: name.into(),
            size: 1,
            browser_download_url: format!("http://127.0.0.1/{name}"),
        }
    }

    #[test]
    fn the_env_template_is_found_under_the_name_github_gives_it() {
        let release = Release {
            version: ReleaseVersion::parse("1.0.0").unwrap(),
            tag: "v1.0.0".into(),
            prerelease: false,
            assets: vec![asset("docker-compose.yml"), asset("default.env.example")],
        };
        assert_eq!(
            release.asset(".env.example").unwrap().name,
            "default.env.example"
        );
        let error = release.asset("checksums.sha256").unwrap_err().to_string();
        assert!(
            error.contains("docker-compose.yml, default.env.example"),
            "{error}"
        );
    }

    #[test]
    fn sources_are_checked() {
        assert!(ReleaseSource::new("https://api.github.com/", "TetronIO/JIM").is_ok());
        assert!(ReleaseSource::new("ftp://mirror", "a/b").is_err());
        assert!(ReleaseSource::new("https://mirror", "a/b/c").is_err());
        assert_eq!(
            ReleaseSource::new("http://127.0.0.1:8080/mirror/", "o/r")
                .unwrap()
                .endpoint("releases/latest"),
            "http://127.0.0.1:8080/mirror/repos/o/r/releases/latest"
        );
    }

    #[test]
    fn the_newest_version_sorts_by_number() {
        let key = |text| version_key(&ReleaseVersion::parse(text).unwrap());
        assert!(key("0.10.0") > key("0.9.3"));
    }
}
