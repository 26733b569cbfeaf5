//! Exporting images that we do not build (PostgreSQL) from the local Docker Engine, by tag,
//! through the Engine API (`GET /images/{name}/get`). The tar streams to disk as it arrives, so
//! no image is ever held in memory.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Duration;

use bollard::Docker;
use futures_util::StreamExt;

use crate::Error;
use crate::progress::Reporter;

/// How long one export may take in all. The client's default of two minutes is meant for the
/// wait for response headers, too short for streaming a large image from a slow disk.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(3600);

/// The socket the client uses when `DOCKER_HOST` is unset.
pub const DEFAULT_ENGINE_SOCKET: &str = "unix:///var/run/docker.sock";

/// Where the client connects: `DOCKER_HOST`, or the default socket.
pub fn engine_endpoint() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| DEFAULT_ENGINE_SOCKET.to_owned())
}

/// A connection to the Docker Engine that has answered a ping.
pub struct Engine {
    docker: Docker,
    runtime: tokio::runtime::Runtime,
}

impl Engine {
    /// Connects with the usual settings (`DOCKER_HOST` or the default socket) and pings the
    /// engine, so that an unreachable engine is reported before any work starts.
    pub fn connect() -> Result<Self, Error> {
        let unreachable =
            |source: Box<dyn std::error::Error + Send + Sync>| Error::EngineUnreachable {
                endpoint: engine_endpoint(),
                source,
            };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| unreachable(Box::new(error)))?;
        let docker = Docker::connect_with_defaults()
            .map_err(|error| unreachable(Box::new(error)))?
            .with_timeout(EXPORT_TIMEOUT);
        runtime
            .block_on(docker.ping())
            .map_err(|error| unreachable(Box::new(error)))?;
        Ok(Self { docker, runtime })
    }

    /// Exports the image tagged `reference` into the tar file `output`, telling `reporter`
    /// about every block written. Returns the number of bytes written.
    pub fn export_image(
        &self,
        reference: &str,
        output: &Path,
        reporter: &dyn Reporter,
    ) -> Result<u64, Error> {
        let failed = |source: Box<dyn std::error::Error + Send + Sync>| Error::EngineExport {
            reference: reference.to_owned(),
            source,
        };
        let write_error = |source| Error::Write {
            path: output.to_owned(),
            source,
        };
        let file = File::create(output).map_err(write_error)?;
        let mut writer = BufWriter::with_capacity(1024 * 1024, file);

        // Each chunk is written as it arrives; errors, which the engine may send inside the
        // stream after a 200, end the export.
        let written = self.runtime.block_on(async {
            let mut stream = self.docker.export_image(reference);
            let mut written = 0u64;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|error| failed(Box::new(error)))?;
                writer.write_all(&chunk).map_err(write_error)?;
                written += chunk.len() as u64;
                reporter.advance(chunk.len() as u64);
            }
            Ok::<u64, Error>(written)
        })?;
        writer.flush().map_err(write_error)?;
        if written == 0 {
            return Err(failed("the engine sent an empty archive".into()));
        }
        Ok(written)
    }
}
