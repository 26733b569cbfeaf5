//! Checks of an image specification, made before anything is written, so that Docker never
//! refuses an image at load or run time for a value we could have caught.

use super::spec::{HealthCheck, ImageSpec, Owner};
use crate::Error;

impl ImageSpec {
    /// Checks every field that Docker would otherwise refuse at load or run time.
    pub fn validate(&self) -> Result<(), Error> {
        let invalid = |field: &'static str, value: &str, reason: &str| Error::InvalidImageSpec {
            field,
            value: value.to_owned(),
            reason: reason.to_owned(),
        };

        validate_repository(&self.repository)
            .map_err(|reason| invalid("repository", &self.repository, reason))?;
        validate_tag(&self.tag).map_err(|reason| invalid("tag", &self.tag, reason))?;
        validate_registry_prefix(&self.registry_prefix)
            .map_err(|reason| invalid("registry prefix", &self.registry_prefix, reason))?;

        if self.entrypoint.is_empty() && self.command.is_empty() {
            return Err(invalid("entrypoint", "", "an image needs a program to run"));
        }
        if self.user.is_empty() {
            return Err(invalid("user", "", "the user must not be empty"));
        }
        for port in &self.exposed_ports {
            normalised_port(port).map_err(|reason| invalid("exposed port", port, reason))?;
        }
        for (name, _) in &self.env {
            if name.is_empty() || name.contains(['=', '\0']) {
                return Err(invalid(
                    "environment variable name",
                    name,
                    "must be non-empty without `=`",
                ));
            }
        }
        if let Some(folder) = &self.working_dir {
            normalise_image_path(folder)
                .map_err(|reason| invalid("working directory", folder, reason))?;
        }
        for folder in &self.volumes {
            normalise_image_path(folder)
                .map_err(|reason| invalid("volume folder", folder, reason))?;
        }
        if !self.volumes.is_empty() {
            self.resolved_volume_owner()?;
        }
        if let Some(check) = &self.healthcheck {
            validate_healthcheck(check)?;
        }
        if let Some(signal) = &self.stop_signal {
            let well_formed = signal.strip_prefix("SIG").is_some_and(|name| {
                !name.is_empty() && name.bytes().all(|byte| byte.is_ascii_uppercase())
            });
            if !well_formed {
                return Err(invalid(
                    "stop signal",
                    signal,
                    "expected a name such as `SIGINT`",
                ));
            }
        }
        for file in &self.files {
            normalise_image_path(&file.destination)
                .map_err(|reason| invalid("file destination", &file.destination, reason))?;
            if file.mode > 0o7777 {
                return Err(invalid(
                    "file mode",
                    &format!("{:o}", file.mode),
                    "only permission bits (at most 0o7777) may be given",
                ));
            }
        }
        Ok(())
    }
}

/// Parses a numeric `uid` or `uid:gid` user; a bare uid means the same gid.
pub(super) fn numeric_user(user: &str) -> Option<Owner> {
    let (uid, gid) = match user.split_once(':') {
        Some((uid, gid)) => (uid, gid),
        None => (user, user),
    };
    Some(Owner::new(uid.parse().ok()?, gid.parse().ok()?))
}

/// Lowercase path components separated by `/`, each of letters, digits and `.`, `_`, `-`
/// inside, as Docker accepts.
fn validate_repository(repository: &str) -> Result<(), &'static str> {
    if repository.is_empty() {
        return Err("the repository must not be empty");
    }
    for component in repository.split('/') {
        let bytes = component.as_bytes();
        let alphanumeric = |byte: &u8| byte.is_ascii_lowercase() || byte.is_ascii_digit();
        if bytes.is_empty() || !alphanumeric(&bytes[0]) || !alphanumeric(&bytes[bytes.len() - 1]) {
            return Err("each path component must start and end with a lowercase letter or digit");
        }
        if !bytes
            .iter()
            .all(|b| alphanumeric(b) || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err("only lowercase letters, digits, `.`, `_`, `-` and `/` are allowed");
        }
    }
    Ok(())
}

/// Up to 128 letters, digits, `_`, `.`, `-`, not starting with `.` or `-`.
fn validate_tag(tag: &str) -> Result<(), &'static str> {
    let bytes = tag.as_bytes();
    if bytes.is_empty() || bytes.len() > 128 {
        return Err("a tag has 1 to 128 characters");
    }
    if matches!(bytes[0], b'.' | b'-') {
        return Err("a tag must not start with `.` or `-`");
    }
    if !bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        return Err("only letters, digits, `_`, `.` and `-` are allowed");
    }
    Ok(())
}

/// Empty, or a registry host (and optional path) ending in `/`.
fn validate_registry_prefix(prefix: &str) -> Result<(), &'static str> {
    if prefix.is_empty() {
        return Ok(());
    }
    if !prefix.ends_with('/') || prefix.starts_with('/') || prefix.contains("//") {
        return Err("a registry prefix is empty or looks like `registry.local/` (ending in `/`)");
    }
    if !prefix
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':' | b'/'))
    {
        return Err("only letters, digits, `.`, `_`, `-`, `:` and `/` are allowed");
    }
    Ok(())
}

/// `8080` becomes `8080/tcp`; `8080/udp` stays.
pub(crate) fn normalised_port(port: &str) -> Result<String, &'static str> {
    let (number, protocol) = port.split_once('/').unwrap_or((port, "tcp"));
    let valid_number = number.parse::<u16>().is_ok_and(|value| value > 0);
    if !valid_number {
        return Err("the port must be a number from 1 to 65535");
    }
    if !matches!(protocol, "tcp" | "udp" | "sctp") {
        return Err("the protocol must be tcp, udp or sctp");
    }
    Ok(format!("{number}/{protocol}"))
}

/// Checks an absolute image path and returns it without the leading `/`, the form tar
/// entries use (`/app/jim-web` becomes `app/jim-web`).
pub(crate) fn normalise_image_path(path: &str) -> Result<String, &'static str> {
    let Some(relative) = path.strip_prefix('/') else {
        return Err("paths inside the image must be absolute");
    };
    let relative = relative.strip_suffix('/').unwrap_or(relative);
    if relative.is_empty() {
        return Err("the image root itself cannot be named");
    }
    for component in relative.split('/') {
        match component {
            "" => return Err("empty components (`//`) are not allowed"),
            "." | ".." => return Err("`.` and `..` components are not allowed"),
            _ if component.contains('\0') => return Err("NUL characters are not allowed"),
            _ => {}
        }
    }
    Ok(relative.to_owned())
}

fn validate_healthcheck(check: &HealthCheck) -> Result<(), Error> {
    let invalid = |reason: &str| Error::InvalidImageSpec {
        field: "health check",
        value: check.test.join(" "),
        reason: reason.to_owned(),
    };
    match check.test.first().map(String::as_str) {
        Some("CMD") if check.test.len() > 1 => {}
        Some("NONE") if check.test.len() == 1 => {}
        Some("CMD-SHELL") => {
            return Err(invalid("the image has no shell; use the exec form `CMD`"));
        }
        _ => {
            return Err(invalid(
                "the test must be `CMD` followed by the command, or `NONE`",
            ));
        }
    }
    for duration in [check.interval, check.timeout, check.start_period] {
        if i64::try_from(duration.as_nanos()).is_err() {
            return Err(invalid("a duration is too long to express in nanoseconds"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::spec::{ImageFile, SourceDateEpoch};

    fn spec() -> ImageSpec {
        let mut spec = ImageSpec::new("jim-web", "0.1.0", SourceDateEpoch::parse("0").unwrap());
        spec.entrypoint = vec!["/app/jim-web".into()];
        spec
    }

    #[test]
    fn validation_refuses_what_docker_would_refuse() {
        assert!(spec().validate().is_ok());
        let cases: Vec<fn(&mut ImageSpec)> = vec![
            |s| s.repository = "JIM-web".into(),
            |s| s.repository = "-jim".into(),
            |s| s.tag = ".hidden".into(),
            |s| s.tag = "a b".into(),
            |s| s.registry_prefix = "registry.local".into(),
            |s| s.entrypoint.clear(),
            |s| s.exposed_ports = vec!["http".into()],
            |s| s.exposed_ports = vec!["80/icmp".into()],
            |s| s.env = vec![("A=B".into(), "c".into())],
            |s| s.volumes = vec!["relative".into()],
            |s| s.working_dir = Some("/a/../b".into()),
            |s| s.healthcheck = Some(HealthCheck::exec(Vec::<String>::new())),
            |s| {
                s.user = "jim".into();
                s.volumes = vec!["/data".into()];
            },
            |s| {
                let mut check = HealthCheck::exec(["true"]);
                check.test[0] = "CMD-SHELL".into();
                s.healthcheck = Some(check);
            },
            |s| s.files = vec![ImageFile::from_bytes("x", "app/x", 0o644)],
            |s| s.files = vec![ImageFile::from_bytes("x", "/app/x", 0o100644)],
        ];
        for (index, change) in cases.iter().enumerate() {
            let mut spec = spec();
            change(&mut spec);
            assert!(
                spec.validate().is_err(),
                "case {index} was accepted: {spec:?}"
            );
        }
    }

    #[test]
    fn validation_errors_name_the_field_and_value() {
        let mut spec = spec();
        spec.tag = "-bad".into();
        assert_eq!(
            spec.validate().unwrap_err().to_string(),
            "invalid image tag `-bad`: a tag must not start with `.` or `-`"
        );
    }

    #[test]
    fn ports_and_paths_are_normalised() {
        assert_eq!(normalised_port("8080").unwrap(), "8080/tcp");
        assert_eq!(normalised_port("53/udp").unwrap(), "53/udp");
        assert!(normalised_port("0").is_err());
        assert_eq!(normalise_image_path("/app/jim-web").unwrap(), "app/jim-web");
        assert_eq!(
            normalise_image_path("/var/lib/jim/").unwrap(),
            "var/lib/jim"
        );
        assert!(normalise_image_path("/").is_err());
        assert!(normalise_image_path("/a//b").is_err());
    }
}
