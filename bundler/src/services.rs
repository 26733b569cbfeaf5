//! The image specification of each JIM service: one static binary, run as user 1654, checked
//! through its own `healthcheck` subcommand.

use std::path::Path;
use std::time::Duration;

use crate::image::{HealthCheck, ImageFile, ImageSpec, SourceDateEpoch};
use crate::layout::{ReleaseVersion, Service};

/// The user and group every service runs as.
pub const SERVICE_USER: &str = "1654:1654";

/// Where the binary lives in the image.
pub const APP_FOLDER: &str = "/app";

/// The folders the compose files mount volumes over; the image creates them owned by the
/// service user so that a fresh named volume takes that owner. `/tmp` is deliberately absent:
/// compose mounts a tmpfs there.
pub const VOLUME_FOLDERS: [&str; 3] = ["/var/log/jim", "/data/keys", "/connector-files"];

/// Where the services write their log files.
pub const LOG_FOLDER: &str = "/var/log/jim";

/// The port `jim-web` listens on inside its container.
pub const WEB_PORT: &str = "80/tcp";

/// Where the images say their source lives.
pub const SOURCE_URL: &str = env!("CARGO_PKG_REPOSITORY");

/// Grace time before failed health checks count: the services wait up to five minutes for the
/// database at start.
const HEALTH_START_PERIOD: Duration = Duration::from_secs(300);

/// What a service image is built from, besides the service itself.
#[derive(Debug, Clone)]
pub struct ServiceImageInputs<'a> {
    /// The static service binary.
    pub binary: &'a Path,
    /// The release version, which is the tag.
    pub version: &'a ReleaseVersion,
    /// Prepended to the image name, such as `registry.example.org/jim/`; usually empty.
    pub registry_prefix: &'a str,
    /// The source revision for the labels.
    pub revision: &'a str,
    /// The creation time.
    pub created: SourceDateEpoch,
}

/// The path of a service's binary inside its image, such as `/app/jim-web`.
pub fn binary_path_in_image(service: Service) -> String {
    format!("{APP_FOLDER}/{}", service.name())
}

/// The full image specification of a service.
pub fn service_image_spec(service: Service, inputs: &ServiceImageInputs<'_>) -> ImageSpec {
    let program = binary_path_in_image(service);
    let mut spec = ImageSpec::new(service.name(), inputs.version.as_str(), inputs.created);
    spec.registry_prefix = inputs.registry_prefix.to_owned();
    spec.files
        .push(ImageFile::from_path(inputs.binary, &program, 0o755));
    spec.entrypoint = vec![program.clone()];
    spec.user = SERVICE_USER.to_owned();
    if service == Service::Web {
        spec.exposed_ports = vec![WEB_PORT.to_owned()];
    }
    spec.env = vec![("JIM_LOG_PATH".to_owned(), LOG_FOLDER.to_owned())];
    spec.volumes = VOLUME_FOLDERS.map(String::from).to_vec();

    let mut check = HealthCheck::exec([program.as_str(), "healthcheck"]);
    check.interval = Duration::from_secs(30);
    check.timeout = Duration::from_secs(5);
    check.start_period = HEALTH_START_PERIOD;
    check.retries = 3;
    spec.healthcheck = Some(check);

    spec.insert_oci_labels(inputs.version.as_str(), inputs.revision, SOURCE_URL);
    spec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_image_runs_its_binary_as_the_service_user() {
        let version = ReleaseVersion::parse("1.2.3").unwrap();
        let inputs = ServiceImageInputs {
            binary: Path::new("/build/jim-web"),
            version: &version,
            registry_prefix: "registry.local/",
            revision: "abc",
            created: SourceDateEpoch::from_unix_seconds(1_767_225_600).unwrap(),
        };
        let spec = service_image_spec(Service::Web, &inputs);
        spec.validate().unwrap();
        assert_eq!(spec.reference(), "registry.local/jim-web:1.2.3");
        assert_eq!(spec.entrypoint, ["/app/jim-web"]);
        assert_eq!(spec.user, "1654:1654");
        assert_eq!(spec.exposed_ports, ["80/tcp"]);
        let check = spec.healthcheck.as_ref().unwrap();
        assert_eq!(check.test, ["CMD", "/app/jim-web", "healthcheck"]);
        assert_eq!(check.start_period, Duration::from_secs(300));
        assert!(!spec.volumes.iter().any(|folder| folder == "/tmp"));
        assert_eq!(spec.labels["org.opencontainers.image.title"], "jim-web");
        assert_eq!(spec.labels["org.opencontainers.image.revision"], "abc");

        let worker = service_image_spec(Service::Worker, &inputs);
        assert!(worker.exposed_ports.is_empty());
    }
}
