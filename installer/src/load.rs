//! Loading image tars into the Docker Engine: each tar is streamed into `POST /images/load`
//! from disk in chunks (memory does not grow with the image), every message of the answer is
//! read (errors arrive inside a 200 answer), and an image the engine already has with the same
//! ID is skipped.

use std::path::{Path, PathBuf};

use bollard::Docker;
use bollard::query_parameters::ImportImageOptionsBuilder;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::AsyncReadExt;

use crate::docker::{self, DockerError};

/// How much of a tar is read and sent at a time.
const CHUNK: usize = 1 << 20;

/// One image to load: the tar, the reference it carries, and the ID it must end up with.
#[derive(Debug, Clone)]
pub struct ImageToLoad {
    pub file: PathBuf,
    pub reference: String,
    /// The image ID (`sha256:...`) the bundle recorded; `None` when unknown.
    pub image_id: Option<String>,
}

/// What happened to one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadOutcome {
    Loaded,
    AlreadyPresent,
}

/// Why loading failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the Docker Engine refused `{path}`: {message}\n\
         hint: verify the bundle (`jim-install verify`), then check the engine's log"
    )]
    Refused { path: PathBuf, message: String },
    #[error(
        "after loading `{path}` the engine has no image `{reference}`\n\
         hint: the tar does not carry that name; rebuild the bundle"
    )]
    NotTagged { path: PathBuf, reference: String },
    #[error(transparent)]
    Docker(#[from] DockerError),
}

/// Loads `image` unless the engine already has it with the same ID. `progress` is called with
/// the bytes sent so far.
pub async fn load_image(
    docker: &Docker,
    image: &ImageToLoad,
    progress: impl Fn(u64) + Send + Sync + 'static,
) -> Result<LoadOutcome, LoadError> {
    let present = docker::image_id(docker, &image.reference).await?;
    if let (Some(present), Some(wanted)) = (&present, &image.image_id)
        && present == wanted
    {
        return Ok(LoadOutcome::AlreadyPresent);
    }

    let file = tokio::fs::File::open(&image.file)
        .await
        .map_err(|source| LoadError::Read {
            path: image.file.clone(),
            source,
        })?;
    let body = chunks(file, progress);
    let options = ImportImageOptionsBuilder::new().quiet(false).build();
    let mut answers = docker.import_image_stream(options, body, None);
    while let Some(answer) = answers.next().await {
        if let Err(error) = answer {
            let message = match error {
                bollard::errors::Error::DockerStreamError { error } => error,
                other => other.to_string(),
            };
            return Err(LoadError::Refused {
                path: image.file.clone(),
                message,
            });
        }
    }

    match docker::image_id(docker, &image.reference).await? {
        Some(_) => Ok(LoadOutcome::Loaded),
        None => Err(LoadError::NotTagged {
            path: image.file.clone(),
            reference: image.reference.clone(),
        }),
    }
}

/// The file as a stream of 1 MiB chunks, reporting the running total.
fn chunks(
    file: tokio::fs::File,
    progress: impl Fn(u64) + Send + Sync + 'static,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    // The state carries `failed` so that a read error ends the stream after being reported.
    futures_util::stream::unfold(
        (file, 0u64, progress, false),
        |(mut file, sent, progress, failed)| async move {
            if failed {
                return None;
            }
            let mut buffer = vec![0u8; CHUNK];
            match file.read(&mut buffer).await {
                Ok(0) => None,
                Ok(read) => {
                    buffer.truncate(read);
                    let sent = sent + read as u64;
                    progress(sent);
                    Some((Ok(Bytes::from(buffer)), (file, sent, progress, false)))
                }
                Err(error) => Some((Err(error), (file, sent, progress, true))),
            }
        },
    )
}

/// The size of a file, for progress bars.
pub fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path)
        .map(|metadata| metadata.len())
        .unwrap_or(0)
}
