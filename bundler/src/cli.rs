//! The command line: raw options as clap parses them. `commands/` turns them into the
//! library's validated requests.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use jim_bundle::layout::DEFAULT_DATABASE_IMAGE_FILE;

/// Builds the JIM release bundle offline and byte for byte reproducibly.
///
/// Exit status: 0 success, 1 the build failed, 2 usage or environment error.
#[derive(Debug, Parser)]
#[command(name = "jim-bundle", version)]
pub struct Cli {
    /// Show no progress (also when NO_COLOR or JIM_NO_PROGRESS is set, or stderr is not a
    /// terminal).
    #[arg(long, short, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the steps a build would take, without doing anything.
    Plan(BuildArguments),
    /// Build the release folder, `jim-release-X.Y.Z.tar.gz` and its `.sha256`.
    Build(BuildCommand),
    /// Create a minisign key pair for signing releases.
    Keygen(KeygenArguments),
    /// Build a PostgreSQL image from the host's Debian packages, for tests and demos.
    PostgresImage(PostgresImageArguments),
    /// Write the assets to publish for a built release: the archive, its .sha256, the compose
    /// files, .env.example and checksums.sha256 over them all.
    ReleaseAssets(ReleaseAssetsArguments),
}

/// The options that define a build, shared by `plan` and `build`.
#[derive(Debug, Args)]
pub struct BuildArguments {
    /// The release version, MAJOR.MINOR.PATCH[-PRERELEASE]; also the tag of the JIM images.
    #[arg(long, value_name = "X.Y.Z")]
    pub version: String,

    /// The folder the release folder, archive and checksum file are written to.
    #[arg(long, value_name = "DIR", default_value = "dist")]
    pub out: PathBuf,

    /// The repository root, holding compose-templates/, powershell/ and docs/.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub source: PathBuf,

    /// The folder holding the static jim-web, jim-worker, jim-scheduler and jim-install
    /// binaries [default: SOURCE/target/x86_64-unknown-linux-gnu/release].
    #[arg(long, value_name = "DIR")]
    pub binaries: Option<PathBuf>,

    /// Put in front of the JIM image names, ending with `/` (such as registry.example.org/jim/).
    #[arg(long, value_name = "PREFIX", default_value = "")]
    pub registry_prefix: String,

    /// Sign checksums.sha256 with this minisign secret key.
    #[arg(long, value_name = "SECRET_KEY_FILE")]
    pub sign: Option<PathBuf>,

    /// The file whose first line is the secret key's password.
    #[arg(long, value_name = "FILE", requires = "sign")]
    pub password_file: Option<PathBuf>,

    /// Export an image from the local Docker Engine by its tag; the file name defaults to
    /// NAME-TAG.tar. Repeatable.
    #[arg(long, value_name = "REF[=FILE_NAME]")]
    pub include_image: Vec<String>,

    /// Copy an image tar written by `docker save` into docker-images/NAME. Repeatable.
    #[arg(long, value_name = "NAME=FILE")]
    pub image_tar: Vec<String>,

    /// The file name under docker-images/ that holds the database image.
    #[arg(long, value_name = "FILE_NAME", default_value = DEFAULT_DATABASE_IMAGE_FILE)]
    pub database_image_name: String,

    /// Build without a database image: the site brings its own PostgreSQL.
    #[arg(long)]
    pub no_database_image: bool,

    /// The source revision for the image labels [default: the git commit of SOURCE].
    #[arg(long, value_name = "GIT_SHA")]
    pub revision: Option<String>,
}

#[derive(Debug, Args)]
pub struct BuildCommand {
    #[command(flatten)]
    pub build: BuildArguments,

    /// Print the plan and stop, like `jim-bundle plan`.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct KeygenArguments {
    /// The folder to write jim-release.pub and jim-release.key (mode 0600) into.
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,

    /// Protect the secret key with the password on this file's first line.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,

    /// Replace existing key files.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct PostgresImageArguments {
    /// The image tar to write.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,

    /// The image's reference; it must not claim to be the official postgres image
    /// [default: jim-postgres:MAJOR-debian].
    #[arg(long, value_name = "NAME:TAG")]
    pub tag: Option<String>,

    /// The PostgreSQL major version installed on the host [default: the newest installed].
    #[arg(long, value_name = "MAJOR")]
    pub postgres_version: Option<u32>,

    /// The source tree whose last commit dates the image when SOURCE_DATE_EPOCH is unset.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub source: PathBuf,
}

#[derive(Debug, Args)]
pub struct ReleaseAssetsArguments {
    /// The release version that `jim-bundle build` built.
    #[arg(long, value_name = "X.Y.Z")]
    pub version: String,

    /// The folder `jim-bundle build --out` wrote to.
    #[arg(long, value_name = "DIR", default_value = "dist")]
    pub from: PathBuf,

    /// The folder to write the assets to [default: FROM/release-X.Y.Z].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}
