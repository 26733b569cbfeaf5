//! The Docker Engine, reached through its API (bollard): connect with a clear message when it is
//! missing, and the few questions the installer asks it.

use std::time::Duration;

use bollard::Docker;

/// The oldest Engine API the installer supports: Docker Engine 20.10.
pub const MINIMUM_API_VERSION: (u32, u32) = (1, 41);

/// Loads of large images can take long; the default 120 s would cut them off.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3600);

/// What went wrong talking to Docker.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error(
        "cannot reach the Docker Engine at `{endpoint}`: {cause}\n\
         hint: start it (`sudo systemctl start docker`), check that you may use its socket \
         (run as root or join the `docker` group), or set DOCKER_HOST"
    )]
    Unreachable { endpoint: String, cause: String },
    #[error("the Docker Engine answered with an error: {0}")]
    Api(#[from] bollard::errors::Error),
}

/// The address the installer uses for Docker, for messages.
pub fn endpoint() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".to_string())
}

/// Connects to the engine named by `DOCKER_HOST` (or the local socket) and checks it answers.
pub async fn connect() -> Result<Docker, DockerError> {
    let unreachable = |cause: String| DockerError::Unreachable {
        endpoint: endpoint(),
        cause,
    };
    let docker = Docker::connect_with_defaults()
        .map_err(|error| unreachable(error.to_string()))?
        .with_timeout(REQUEST_TIMEOUT);
    tokio::time::timeout(Duration::from_secs(10), docker.ping())
        .await
        .map_err(|_| unreachable("no answer within 10 s".to_string()))?
        .map_err(|error| unreachable(error.to_string()))?;
    Ok(docker)
}

/// The engine's version and API version, such as (`20.10.24`, `1.41`).
pub async fn versions(docker: &Docker) -> Result<(String, String), DockerError> {
    let version = docker.version().await?;
    Ok((
        version.version.unwrap_or_default(),
        version.api_version.unwrap_or_default(),
    ))
}

/// Parses `major.minor` into numbers.
pub fn parse_api_version(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.trim().split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The ID of the image `reference`, if the engine has it.
pub async fn image_id(docker: &Docker, reference: &str) -> Result<Option<String>, DockerError> {
    match docker.inspect_image(reference).await {
        Ok(image) => Ok(image.id),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_compare_as_numbers() {
        assert_eq!(parse_api_version("1.41"), Some((1, 41)));
        assert!(parse_api_version("1.9").unwrap() < MINIMUM_API_VERSION);
        assert!(parse_api_version("1.100").unwrap() > MINIMUM_API_VERSION);
        assert_eq!(parse_api_version("latest"), None);
    }
}
