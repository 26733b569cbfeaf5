//! The images the compose files name, with Compose's variable substitution applied, so the
//! bundler can prove that every one of them is in `docker-images/` before it ships.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde_yaml::Value;

use crate::Error;

/// One `image:` of a compose service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposeImage {
    /// The service name, such as `jim.web`.
    pub service: String,
    /// The `image:` value as written, such as `${DOCKER_REGISTRY:-}jim-web:${JIM_VERSION}`.
    pub expression: String,
    /// Whether the service belongs to a profile, so it only starts when asked for.
    pub optional: bool,
}

/// Reads the `image:` of every service of a compose file. Services without an image (built
/// locally) are left out.
pub fn images_named(path: &Path) -> Result<Vec<ComposeImage>, Error> {
    let invalid = |reason: String| Error::InvalidComposeFile {
        path: path.to_owned(),
        reason,
    };
    let text = fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    let mut document: Value =
        serde_yaml::from_str(&text).map_err(|error| invalid(error.to_string()))?;
    document
        .apply_merge()
        .map_err(|error| invalid(error.to_string()))?;

    let Some(services) = document.get("services") else {
        return Ok(Vec::new());
    };
    let services = services
        .as_mapping()
        .ok_or_else(|| invalid("`services` is not a mapping".to_owned()))?;
    let mut images = Vec::new();
    for (name, service) in services {
        let name = name
            .as_str()
            .ok_or_else(|| invalid("a service name is not a string".to_owned()))?;
        let Some(image) = service.get("image") else {
            continue;
        };
        let expression = image
            .as_str()
            .ok_or_else(|| invalid(format!("the image of `{name}` is not a string")))?;
        let optional = service
            .get("profiles")
            .and_then(Value::as_sequence)
            .is_some_and(|profiles| !profiles.is_empty());
        images.push(ComposeImage {
            service: name.to_owned(),
            expression: expression.to_owned(),
            optional,
        });
    }
    Ok(images)
}

/// Applies Compose's interpolation to `text`: `$$`, `$NAME`, `${NAME}`, `${NAME:-default}`,
/// `${NAME-default}`, `${NAME:?message}`, `${NAME?message}`, `${NAME:+other}` and
/// `${NAME+other}`. A variable missing from `variables` is unset. An unset variable with `?`
/// gives back the message as the error.
pub fn interpolate(text: &str, variables: &BTreeMap<&str, &str>) -> Result<String, String> {
    let mut output = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        output.push_str(&rest[..dollar]);
        rest = &rest[dollar + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            output.push('$');
            rest = after;
        } else if let Some(braced) = rest.strip_prefix('{') {
            let close = braced
                .find('}')
                .ok_or_else(|| format!("`${{` without a closing `}}` in `{text}`"))?;
            output.push_str(&expand(&braced[..close], variables)?);
            rest = &braced[close + 1..];
        } else {
            let length = rest
                .find(|character: char| !(character.is_ascii_alphanumeric() || character == '_'))
                .unwrap_or(rest.len());
            if length == 0 {
                output.push('$');
            } else {
                output.push_str(variables.get(&rest[..length]).copied().unwrap_or(""));
            }
            rest = &rest[length..];
        }
    }
    output.push_str(rest);
    Ok(output)
}

/// Expands the inside of one `${...}`.
fn expand(inner: &str, variables: &BTreeMap<&str, &str>) -> Result<String, String> {
    let name_length = inner
        .find(|character: char| !(character.is_ascii_alphanumeric() || character == '_'))
        .unwrap_or(inner.len());
    let (name, operator) = inner.split_at(name_length);
    let value = variables.get(name).copied();
    let set_and_not_empty = value.is_some_and(|value| !value.is_empty());

    let result = if operator.is_empty() {
        value.unwrap_or("").to_owned()
    } else if let Some(default) = operator.strip_prefix(":-") {
        if set_and_not_empty {
            value.unwrap_or("").to_owned()
        } else {
            default.to_owned()
        }
    } else if let Some(default) = operator.strip_prefix('-') {
        value.unwrap_or(default).to_owned()
    } else if let Some(message) = operator.strip_prefix(":?") {
        if !set_and_not_empty {
            return Err(message.to_owned());
        }
        value.unwrap_or("").to_owned()
    } else if let Some(message) = operator.strip_prefix('?') {
        value.ok_or_else(|| message.to_owned())?.to_owned()
    } else if let Some(other) = operator.strip_prefix(":+") {
        if set_and_not_empty {
            other.to_owned()
        } else {
            String::new()
        }
    } else if let Some(other) = operator.strip_prefix('+') {
        if value.is_some() {
            other.to_owned()
        } else {
            String::new()
        }
    } else {
        return Err(format!(
            "`${{{inner}}}` is not a substitution Compose understands"
        ));
    };
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variables() -> BTreeMap<&'static str, &'static str> {
        BTreeMap::from([
            ("DOCKER_REGISTRY", ""),
            ("JIM_VERSION", "1.2.3"),
            ("JIM_DB_IMAGE", "jim-postgres:15-debian"),
        ])
    }

    #[test]
    fn interpolation_follows_compose() {
        let variables = variables();
        let cases = [
            (
                "${DOCKER_REGISTRY:-}jim-web:${JIM_VERSION:?set it}",
                "jim-web:1.2.3",
            ),
            ("${DOCKER_REGISTRY-registry/}x", "x"),
            ("${DOCKER_REGISTRY:-registry/}x", "registry/x"),
            ("${JIM_DB_IMAGE:-postgres:18}", "jim-postgres:15-debian"),
            ("${UNSET:-postgres:18}", "postgres:18"),
            ("$JIM_VERSION-$$HOME", "1.2.3-$HOME"),
            ("${JIM_VERSION:+yes}${UNSET:+no}", "yes"),
            ("cost: 5$", "cost: 5$"),
        ];
        for (text, expected) in cases {
            assert_eq!(interpolate(text, &variables).unwrap(), expected, "{text}");
        }
        assert_eq!(
            interpolate("${UNSET:?UNSET must be set}", &variables).unwrap_err(),
            "UNSET must be set"
        );
        assert!(interpolate("${JIM_VERSION", &variables).is_err());
    }

    #[test]
    fn images_come_from_services_with_profiles_marked_optional() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("docker-compose.yml");
        fs::write(
            &path,
            "x-common: &common\n  restart: always\n\
             services:\n  web:\n    <<: *common\n    image: jim-web:${JIM_VERSION}\n\
             \x20 db:\n    image: ${JIM_DB_IMAGE:-postgres:18}\n    profiles: [with-db]\n\
             \x20 built:\n    build: .\n",
        )
        .unwrap();
        let images = images_named(&path).unwrap();
        assert_eq!(images.len(), 2);
        assert_eq!(images[0].service, "web");
        assert!(!images[0].optional);
        assert_eq!(images[1].expression, "${JIM_DB_IMAGE:-postgres:18}");
        assert!(images[1].optional);
    }
}
