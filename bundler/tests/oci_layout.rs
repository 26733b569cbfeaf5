//! The OCI half of the image tar, which the Docker Engine 20.10 on the test machines does not
//! read (it loads through `manifest.json`), is checked with `skopeo`, an independent reader
//! of both the OCI layout and the Docker archive. The test fails, never skips, when `skopeo`
//! is missing (`apt-get install skopeo`).

use std::path::Path;
use std::process::Command;

use jim_bundle::image::{HealthCheck, ImageFile, ImageSpec, SourceDateEpoch, write_image};
use jim_checksums::Sha256Digest;
use serde_json::Value;

/// Runs `skopeo inspect <options> <transport>:<archive>` and returns its stdout.
fn skopeo_inspect(transport: &str, archive: &Path, options: &[&str]) -> Vec<u8> {
    let mut command = Command::new("skopeo");
    command.arg("inspect").args(options);
    let output = command
        .arg(format!("{transport}:{}", archive.display()))
        .output()
        .expect("skopeo must be installed to run this test (apt-get install skopeo)");
    assert!(
        output.status.success(),
        "skopeo inspect {transport} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The parsed summary skopeo gives of an image.
fn summary(transport: &str, archive: &Path) -> Value {
    serde_json::from_slice(&skopeo_inspect(transport, archive, &[])).unwrap()
}

#[test]
fn oci_layout_and_docker_archive_describe_the_same_image() {
    let dir = tempfile::tempdir().unwrap();
    let created = SourceDateEpoch::from_unix_seconds(1_767_225_600).unwrap();
    let mut spec = ImageSpec::new("jim-web", "0.1.0", created);
    spec.entrypoint = vec!["/app/jim-web".into()];
    spec.files.push(ImageFile::from_bytes(
        "not a real binary",
        "/app/jim-web",
        0o755,
    ));
    spec.healthcheck = Some(HealthCheck::exec(["/app/jim-web", "healthcheck"]));
    spec.insert_oci_labels("0.1.0", "abc123", "https://example.invalid/jim");
    let archive = dir.path().join("jim-web.tar");
    let written = write_image(&spec, &archive).unwrap();

    let layer = format!("sha256:{}", written.layer_digest);
    let oci = summary("oci-archive", &archive);
    assert_eq!(oci["Digest"], format!("sha256:{}", written.manifest_digest));
    assert_eq!(oci["Layers"], serde_json::json!([layer]));
    assert_eq!(oci["Architecture"], "amd64");
    assert_eq!(oci["Created"], "2026-01-01T00:00:00Z");

    let docker = summary("docker-archive", &archive);
    assert_eq!(docker["Layers"], serde_json::json!([layer]));
    assert_eq!(
        docker["Labels"]["org.opencontainers.image.version"],
        "0.1.0"
    );

    // Both readers find the same config blob, byte for byte, with the image id as digest.
    let raw_config = ["--raw", "--config"];
    let oci_config = skopeo_inspect("oci-archive", &archive, &raw_config);
    let docker_config = skopeo_inspect("docker-archive", &archive, &raw_config);
    assert!(
        oci_config == docker_config,
        "the two readers found different configs"
    );
    assert_eq!(Sha256Digest::of_bytes(&oci_config), written.image_id);
    let config: Value = serde_json::from_slice(&oci_config).unwrap();
    assert_eq!(config["config"]["User"], "1654");
    assert_eq!(
        config["config"]["Healthcheck"]["Test"],
        serde_json::json!(["CMD", "/app/jim-web", "healthcheck"])
    );
}
