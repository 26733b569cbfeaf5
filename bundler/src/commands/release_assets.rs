//! `jim-bundle release-assets`: the files to upload beside a release, from a build's output.

use anyhow::Result;
use jim_bundle::layout::{BundleLayout, ReleaseVersion};
use jim_bundle::release_assets::write_release_assets;

use crate::cli::ReleaseAssetsArguments;

/// Writes the assets and prints each path on stdout.
pub fn run(arguments: &ReleaseAssetsArguments) -> Result<()> {
    let layout = BundleLayout::new(ReleaseVersion::parse(&arguments.version)?);
    let out = arguments
        .out
        .clone()
        .unwrap_or_else(|| arguments.from.join(format!("release-{}", layout.version())));
    let assets = write_release_assets(&arguments.from, &layout, &out)?;
    for file in &assets.files {
        println!("{}", file.display());
    }
    Ok(())
}
