//! The assets of a published release: what a release server (GitHub, or a mirror with the same
//! API) offers beside each version, so that a connected host can set JIM up without the whole
//! bundle, and a host that prepares media can fetch the bundle alone.
//!
//! ```text
//! jim-release-X.Y.Z.tar.gz          the bundle, for transfer to media
//! jim-release-X.Y.Z.tar.gz.sha256   its checksum, as `jim-bundle build` writes it
//! docker-compose.yml, docker-compose.production.yml, docker-compose.override.yml
//! .env.example                      GitHub serves it as `default.env.example`
//! checksums.sha256                  sha256sum format, over every other asset
//! ```

use super::{BundleLayout, COMPOSE_FILES, ENV_TEMPLATE_FILE};

/// The asset that lists the SHA-256 of every other asset, in `sha256sum` format.
pub const RELEASE_CHECKSUMS_ASSET: &str = "checksums.sha256";

/// The name GitHub gives an uploaded asset called `.env.example`: it replaces a leading dot.
pub const RENAMED_ENV_TEMPLATE_ASSET: &str = "default.env.example";

/// The files a connected setup downloads: the compose files, then the `.env` template.
pub fn connected_setup_assets() -> Vec<&'static str> {
    let mut assets = COMPOSE_FILES.to_vec();
    assets.push(ENV_TEMPLATE_FILE);
    assets
}

/// The other names an asset may be served under, for the `.env` template only.
pub fn asset_aliases(asset: &str) -> &'static [&'static str] {
    if asset == ENV_TEMPLATE_FILE {
        &[RENAMED_ENV_TEMPLATE_ASSET]
    } else {
        &[]
    }
}

impl BundleLayout {
    /// Every asset of this release except the checksums asset, in upload order.
    pub fn release_assets(&self) -> Vec<String> {
        let mut assets = vec![self.archive_name(), self.archive_checksum_name()];
        assets.extend(connected_setup_assets().into_iter().map(String::from));
        assets
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::ReleaseVersion;

    #[test]
    fn a_release_offers_the_bundle_and_the_files_of_a_connected_setup() {
        let layout = BundleLayout::new(ReleaseVersion::parse("1.4.0").unwrap());
        assert_eq!(
            layout.release_assets(),
            [
                "jim-release-1.4.0.tar.gz",
                "jim-release-1.4.0.tar.gz.sha256",
                "docker-compose.yml",
                "docker-compose.production.yml",
                "docker-compose.override.yml",
                ".env.example",
            ]
        );
        assert_eq!(asset_aliases(".env.example"), ["default.env.example"]);
        assert!(asset_aliases("docker-compose.yml").is_empty());
    }
}
