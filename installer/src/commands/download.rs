//! `jim-install download`: fetches `jim-release-X.Y.Z.tar.gz` and its `.sha256` from the
//! release server, for transfer to media. The archive is resumable (`NAME.part`, HTTP Range),
//! tried again with back-off, and takes its name only once its SHA-256 matches both the
//! `.sha256` asset and the release's `checksums.sha256`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use jim_bundle::layout::{BundleLayout, RELEASE_CHECKSUMS_ASSET};
use jim_checksums::Sha256Digest;
use jim_install::exit::Exit;
use jim_install::release::download::{self, check_digest, fetch_small, progress_bar};
use jim_install::release::{
    ClientSettings, DEFAULT_RELEASE_URL, DEFAULT_REPOSITORY, Release, ReleaseChecksums,
    ReleaseClient, ReleaseError, ReleaseSource, RetryPolicy, find_release,
};

/// Where releases come from and how to reach them; shared by `setup` and `download`.
#[derive(clap::Args, Debug, Clone)]
pub struct ReleaseSourceArgs {
    /// The release to take (default: the latest stable release).
    #[arg(long, value_name = "X.Y.Z")]
    pub version: Option<String>,
    /// The release server's API base: GitHub, or an internal mirror with the same API.
    #[arg(long, env = "JIM_RELEASE_URL", default_value = DEFAULT_RELEASE_URL)]
    pub release_url: String,
    /// The repository that publishes the releases.
    #[arg(long, value_name = "OWNER/NAME", env = "JIM_RELEASE_REPOSITORY",
          default_value = DEFAULT_REPOSITORY)]
    pub repository: String,
    /// An extra CA certificate file (PEM) to trust, such as a TLS inspection proxy's.
    #[arg(long, value_name = "FILE", env = "JIM_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// How many times a failed transfer is tried again, waiting 1, 2, 4, ... s in between.
    #[arg(long, default_value_t = 5)]
    pub retries: u32,
    /// Show no progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

impl ReleaseSourceArgs {
    /// The client and source these arguments name. `GITHUB_TOKEN`, when set, is sent to the
    /// release server's host.
    pub fn connect(&self) -> Result<(ReleaseClient, ReleaseSource), ReleaseError> {
        let source = ReleaseSource::new(&self.release_url, &self.repository)?;
        let settings = ClientSettings {
            ca_file: self.ca_file.clone(),
            token: std::env::var("GITHUB_TOKEN").ok(),
        };
        let client = ReleaseClient::new(&settings, &source.base)?;
        Ok((client, source))
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            retries: self.retries,
            ..RetryPolicy::default()
        }
    }

    /// Finds the release and reports it on stderr.
    pub async fn find(
        &self,
        client: &ReleaseClient,
        source: &ReleaseSource,
    ) -> Result<Release, ReleaseError> {
        let release = find_release(client, source, self.version.as_deref()).await?;
        eprintln!(
            "found JIM {} ({}{}) in {} at {}",
            release.version,
            release.tag,
            if release.prerelease {
                ", pre-release"
            } else {
                ""
            },
            source.repository,
            source.base
        );
        Ok(release)
    }

    /// The release's published checksums.
    pub async fn checksums(
        &self,
        client: &ReleaseClient,
        release: &Release,
    ) -> Result<ReleaseChecksums, ReleaseError> {
        let asset = release.asset(RELEASE_CHECKSUMS_ASSET)?;
        let bytes = fetch_small(client, asset, self.retry_policy()).await?;
        ReleaseChecksums::parse(&asset.name, release.version.as_str(), &bytes)
    }
}

/// Prints a release error and returns its exit code: 1 when a download did not verify, 2 for
/// a bad setting, 10 otherwise.
pub fn report_release_error(error: &ReleaseError) -> Exit {
    eprintln!("error: {error}");
    if error.is_verification() {
        Exit::VerificationFailed
    } else if error.is_usage() {
        Exit::Usage
    } else {
        Exit::Failure
    }
}

#[derive(clap::Args, Debug)]
pub struct DownloadArgs {
    #[command(flatten)]
    pub source: ReleaseSourceArgs,
    /// The folder to write the archive and its `.sha256` to.
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
}

pub async fn run(args: DownloadArgs) -> Result<Exit> {
    match download(&args).await {
        Ok(()) => Ok(Exit::Success),
        Err(error) => Ok(report_release_error(&error)),
    }
}

async fn download(args: &DownloadArgs) -> Result<(), ReleaseError> {
    let (client, source) = args.source.connect()?;
    let release = args.source.find(&client, &source).await?;
    let layout = BundleLayout::new(release.version.clone());
    let checksums = args.source.checksums(&client, &release).await?;
    std::fs::create_dir_all(&args.out).map_err(|source| ReleaseError::Write {
        path: args.out.clone(),
        source,
    })?;

    // The `.sha256` asset, checked against the release's checksums, names the archive's digest.
    let sum_name = layout.archive_checksum_name();
    let sum_asset = release.asset(&sum_name)?;
    let sum_bytes = fetch_small(&client, sum_asset, args.source.retry_policy()).await?;
    check_digest(
        &sum_name,
        &checksums.expected(&sum_name)?,
        &Sha256Digest::of_bytes(&sum_bytes),
    )?;
    let archive_name = layout.archive_name();
    let expected = checksums.expected(&archive_name)?;
    let published = String::from_utf8_lossy(&sum_bytes)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    if published != expected.to_hex() {
        return Err(ReleaseError::InvalidChecksums {
            asset: sum_name,
            reason: format!(
                "it gives {published} for `{archive_name}`, but {RELEASE_CHECKSUMS_ASSET} gives {}",
                expected.to_hex()
            ),
        });
    }

    // The archive, resumable, verified before it takes its name.
    let target = args.out.join(&archive_name);
    let archive = release.asset(&archive_name)?;
    if download::part_path(&target).exists() {
        eprintln!("resuming `{}`", download::part_path(&target).display());
    }
    let bar = progress_bar(archive.size, &archive_name, args.source.quiet);
    let started = Instant::now();
    download::download_verified(
        &client,
        archive,
        &target,
        &expected,
        args.source.retry_policy(),
        &bar,
    )
    .await?;
    bar.finish_and_clear();
    let elapsed = started.elapsed().max(Duration::from_millis(1));

    // The `.sha256` beside it, so that `sha256sum -c` works on the media too.
    let sum_path = args.out.join(&sum_name);
    let temporary = download::part_path(&sum_path);
    std::fs::write(&temporary, &sum_bytes)
        .and_then(|()| std::fs::rename(&temporary, &sum_path))
        .map_err(|source| ReleaseError::Write {
            path: sum_path.clone(),
            source,
        })?;

    eprintln!(
        "downloaded and verified {archive_name}: {} bytes in {:.1} s ({:.1} MB/s), sha256 {}",
        archive.size,
        elapsed.as_secs_f64(),
        archive.size as f64 / elapsed.as_secs_f64() / 1e6,
        expected.to_hex()
    );
    eprintln!(
        "next: copy both files to the media; on the air-gapped host run \
         `jim-install install {archive_name}`"
    );
    println!("{}", target.display());
    println!("{}", sum_path.display());
    Ok(())
}
