//! The `healthcheck` subcommand's checks. Images have no shell and no curl, so Docker runs
//! the service binary itself: `CMD ["/app/jim-worker", "healthcheck"]`.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::{Duration, SystemTime};

/// The exit code of a healthy check.
pub const HEALTHY: i32 = 0;
/// The exit code of an unhealthy check.
pub const UNHEALTHY: i32 = 1;

/// Healthy when the heartbeat file was written less than `max_age` ago.
pub fn check_heartbeat_file(path: &Path, max_age: Duration) -> Result<Duration, String> {
    let metadata = std::fs::metadata(path).map_err(|error| {
        format!(
            "cannot read the heartbeat file `{}`: {error}",
            path.display()
        )
    })?;
    let modified = metadata
        .modified()
        .map_err(|error| format!("cannot read the time of `{}`: {error}", path.display()))?;
    let age = SystemTime::now()
        .duration_since(modified)
        .unwrap_or(Duration::ZERO);
    if age < max_age {
        Ok(age)
    } else {
        Err(format!(
            "the heartbeat file `{}` is {} s old (limit {} s)",
            path.display(),
            age.as_secs(),
            max_age.as_secs()
        ))
    }
}

/// Healthy when `GET http://{address}{path}` answers 200 within `timeout`.
///
/// A plain HTTP/1.1 request over TCP is all this needs; it keeps an HTTP client library out of
/// the check.
pub fn check_http(address: &str, path: &str, timeout: Duration) -> Result<u16, String> {
    let socket = address
        .to_socket_addrs()
        .map_err(|error| format!("cannot resolve `{address}`: {error}"))?
        .next()
        .ok_or_else(|| format!("`{address}` resolves to no address"))?;
    let mut stream = TcpStream::connect_timeout(&socket, timeout)
        .map_err(|error| format!("cannot connect to `{address}`: {error}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|error| error.to_string())?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|error| error.to_string())?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|error| format!("cannot send the request to `{address}`: {error}"))?;
    let mut head = [0u8; 64];
    let read = stream
        .read(&mut head)
        .map_err(|error| format!("no answer from `{address}`: {error}"))?;
    let status = std::str::from_utf8(&head[..read])
        .ok()
        .and_then(|text| text.split_whitespace().nth(1))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| format!("`{address}` did not answer HTTP"))?;
    if status == 200 {
        Ok(status)
    } else {
        Err(format!("`{path}` answered {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_file_is_healthy_and_missing_file_is_not() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("healthcheck");
        assert!(check_heartbeat_file(&path, Duration::from_secs(60)).is_err());
        std::fs::write(&path, "now").unwrap();
        assert!(check_heartbeat_file(&path, Duration::from_secs(60)).is_ok());
        assert!(check_heartbeat_file(&path, Duration::ZERO).is_err());
    }
}
