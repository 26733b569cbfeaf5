//! Downloads: small assets into memory, checked against the release's checksums before
//! anything is written; the bundle into `NAME.part`, resumed with HTTP `Range` after a cut
//! connection and tried again with back-off, renamed to its name only once its SHA-256 matches.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use jim_checksums::{ChecksumManifest, Sha256Digest, sha256_file};
use reqwest::StatusCode;

use super::{Asset, ReleaseClient, ReleaseError};

/// The suffix of a download in progress.
pub const PART_SUFFIX: &str = ".part";

/// How often, and after how long, a failed transfer is tried again.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries after the first one.
    pub retries: u32,
    /// The wait before the first retry; it doubles each time, up to 30 s.
    pub first_delay: Duration,
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based).
    pub fn delay(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.first_delay
            .saturating_mul(factor)
            .min(Duration::from_secs(30))
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            retries: 5,
            first_delay: Duration::from_secs(1),
        }
    }
}

/// The published checksums of a release, by asset name.
#[derive(Debug, Clone)]
pub struct ReleaseChecksums {
    asset: String,
    version: String,
    manifest: ChecksumManifest,
}

impl ReleaseChecksums {
    /// Parses the checksums asset `asset` of release `version`.
    pub fn parse(asset: &str, version: &str, bytes: &[u8]) -> Result<Self, ReleaseError> {
        let manifest =
            ChecksumManifest::parse(bytes).map_err(|error| ReleaseError::InvalidChecksums {
                asset: asset.to_string(),
                reason: error.to_string(),
            })?;
        Ok(Self {
            asset: asset.to_string(),
            version: version.to_string(),
            manifest,
        })
    }

    /// The digest published for `asset` (its canonical name, such as `.env.example`).
    pub fn expected(&self, asset: &str) -> Result<Sha256Digest, ReleaseError> {
        self.manifest
            .get(asset)
            .copied()
            .ok_or_else(|| ReleaseError::NotListed {
                version: self.version.clone(),
                asset: asset.to_string(),
                checksums: self.asset.clone(),
            })
    }
}

/// Compares a digest with the published one.
pub fn check_digest(
    asset: &str,
    expected: &Sha256Digest,
    computed: &Sha256Digest,
) -> Result<(), ReleaseError> {
    if expected == computed {
        Ok(())
    } else {
        Err(ReleaseError::ChecksumMismatch {
            asset: asset.to_string(),
            expected: expected.to_hex(),
            computed: computed.to_hex(),
        })
    }
}

/// Fetches a small asset whole, trying again after transient failures.
pub async fn fetch_small(
    client: &ReleaseClient,
    asset: &Asset,
    policy: RetryPolicy,
) -> Result<Vec<u8>, ReleaseError> {
    let url = &asset.browser_download_url;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = async {
            let response = client.get(url, false, None, attempt).await?;
            response
                .bytes()
                .await
                .map(|bytes| bytes.to_vec())
                .map_err(|_| ReleaseError::Cut {
                    url: url.clone(),
                    received: 0,
                    expected: asset.size.to_string(),
                    part: PathBuf::from("(memory)"),
                })
        }
        .await;
        match result {
            Err(error) if error.is_transient() && attempt <= policy.retries => {
                let wait = policy.delay(attempt);
                eprintln!(
                    "warning: {} (attempt {attempt}); trying again in {} s",
                    first_line(&error),
                    wait.as_secs_f32()
                );
                tokio::time::sleep(wait).await;
            }
            other => return other,
        }
    }
}

/// A progress bar on stderr for `length` bytes; hidden when stderr is not a terminal, with
/// `quiet`, or when `JIM_NO_PROGRESS` or `NO_COLOR` is set.
pub fn progress_bar(length: u64, label: &str, quiet: bool) -> ProgressBar {
    if quiet
        || std::env::var_os("JIM_NO_PROGRESS").is_some()
        || std::env::var_os("NO_COLOR").is_some()
    {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:32} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(label.to_string());
    bar
}

/// The `.part` path of a download target.
pub fn part_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(PART_SUFFIX);
    target.with_file_name(name)
}

/// Downloads `asset` to `target`: into `target.part`, resuming what an earlier run left there,
/// then checks the SHA-256 against `expected` and only then renames it to `target`. A
/// mismatch removes the part file: nothing is left under either name.
pub async fn download_verified(
    client: &ReleaseClient,
    asset: &Asset,
    target: &Path,
    expected: &Sha256Digest,
    policy: RetryPolicy,
    bar: &ProgressBar,
) -> Result<(), ReleaseError> {
    let part = part_path(target);
    download_part(client, asset, &part, policy, bar).await?;

    let computed = sha256_file(&part).map_err(|error| ReleaseError::Write {
        path: part.clone(),
        source: std::io::Error::other(error.to_string()),
    })?;
    if let Err(error) = check_digest(&asset.name, expected, &computed) {
        let _ = fs::remove_file(&part);
        return Err(error);
    }
    fs::rename(&part, target).map_err(|source| ReleaseError::Write {
        path: target.to_path_buf(),
        source,
    })
}

/// Fills `part` with the asset's bytes, asking only for what it lacks.
async fn download_part(
    client: &ReleaseClient,
    asset: &Asset,
    part: &Path,
    policy: RetryPolicy,
    bar: &ProgressBar,
) -> Result<(), ReleaseError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match transfer(client, asset, part, attempt, bar).await {
            Ok(()) => return Ok(()),
            Err(error) if error.is_transient() && attempt <= policy.retries => {
                let wait = policy.delay(attempt);
                bar.suspend(|| {
                    eprintln!(
                        "warning: {} (attempt {attempt}); resuming in {} s",
                        first_line(&error),
                        wait.as_secs_f32()
                    )
                });
                tokio::time::sleep(wait).await;
            }
            Err(error) => return Err(error),
        }
    }
}

/// One request: from where `part` ends, appended to it.
async fn transfer(
    client: &ReleaseClient,
    asset: &Asset,
    part: &Path,
    attempt: u32,
    bar: &ProgressBar,
) -> Result<(), ReleaseError> {
    let url = &asset.browser_download_url;
    let write_error = |source| ReleaseError::Write {
        path: part.to_path_buf(),
        source,
    };
    let have = fs::metadata(part)
        .map(|metadata| metadata.len())
        .unwrap_or(0);
    if have > 0 && have == asset.size {
        return Ok(());
    }
    // More than the release says is not a prefix of it: start again.
    let have = if have > asset.size {
        File::create(part).map_err(write_error)?;
        0
    } else {
        have
    };

    let response = match client
        .get(url, false, (have > 0).then_some(have), attempt)
        .await
    {
        Err(ReleaseError::Refused { status: 416, .. }) => {
            // The server has nothing after what is here: the verification decides.
            return Ok(());
        }
        other => other?,
    };
    let resumed = have > 0 && response.status() == StatusCode::PARTIAL_CONTENT;
    let mut file = if resumed {
        OpenOptions::new().append(true).open(part)
    } else {
        // A server that ignores Range sends the whole file again.
        File::create(part)
    }
    .map_err(write_error)?;
    let mut received = if resumed { have } else { 0 };
    bar.set_position(received);

    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(bytes) => {
                file.write_all(&bytes).map_err(write_error)?;
                received += bytes.len() as u64;
                bar.set_position(received);
            }
            Err(_) => {
                file.flush().map_err(write_error)?;
                return Err(ReleaseError::Cut {
                    url: url.clone(),
                    received,
                    expected: asset.size.to_string(),
                    part: part.to_path_buf(),
                });
            }
        }
    }
    file.flush().map_err(write_error)?;
    if received < asset.size {
        return Err(ReleaseError::Cut {
            url: url.clone(),
            received,
            expected: asset.size.to_string(),
            part: part.to_path_buf(),
        });
    }
    Ok(())
}

/// The first line of an error, for warnings between attempts.
fn first_line(error: &ReleaseError) -> String {
    error
        .to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_up_to_half_a_minute() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(1), Duration::from_secs(1));
        assert_eq!(policy.delay(3), Duration::from_secs(4));
        assert_eq!(policy.delay(9), Duration::from_secs(30));
    }

    #[test]
    fn the_part_file_sits_beside_the_target() {
        assert_eq!(
            part_path(Path::new("/media/jim-release-1.0.0.tar.gz")),
            Path::new("/media/jim-release-1.0.0.tar.gz.part")
        );
    }

    #[test]
    fn an_unlisted_asset_and_a_wrong_digest_are_refused() {
        let digest = Sha256Digest::of_bytes(b"compose");
        let text = format!("{}  docker-compose.yml\n", digest.to_hex());
        let checksums =
            ReleaseChecksums::parse("checksums.sha256", "1.0.0", text.as_bytes()).unwrap();
        assert_eq!(checksums.expected("docker-compose.yml").unwrap(), digest);
        assert!(matches!(
            checksums.expected(".env.example"),
            Err(ReleaseError::NotListed { .. })
        ));
        let error = check_digest("a", &digest, &Sha256Digest::of_bytes(b"other")).unwrap_err();
        assert!(error.to_string().contains(&digest.to_hex()));
    }
}
