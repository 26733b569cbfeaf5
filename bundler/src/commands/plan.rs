//! `jim-bundle plan`: prints the steps of a build and writes nothing.

use std::path::PathBuf;

use anyhow::Result;
use jim_bundle::layout::ReleaseVersion;
use jim_bundle::plan::{
    BuildPlan, BuildRequest, DEFAULT_BINARIES_FOLDER, ImageTar, IncludedImage, Signing, plan_build,
};

use crate::cli::BuildArguments;

/// Prints the plan to stdout.
pub fn run(arguments: &BuildArguments) -> Result<()> {
    let plan = make_plan(arguments)?;
    print!("{plan}");
    Ok(())
}

/// Validates the options and plans the build.
pub fn make_plan(arguments: &BuildArguments) -> Result<BuildPlan> {
    let request = BuildRequest {
        version: ReleaseVersion::parse(&arguments.version)?,
        source: arguments.source.clone(),
        binaries: arguments.binaries.clone().unwrap_or_else(|| {
            arguments
                .source
                .join(PathBuf::from(DEFAULT_BINARIES_FOLDER))
        }),
        out: arguments.out.clone(),
        registry_prefix: arguments.registry_prefix.clone(),
        signing: arguments.sign.as_ref().map(|secret_key| Signing {
            secret_key: secret_key.clone(),
            password_file: arguments.password_file.clone(),
        }),
        included_images: arguments
            .include_image
            .iter()
            .map(|text| IncludedImage::parse(text))
            .collect::<Result<_, _>>()?,
        image_tars: arguments
            .image_tar
            .iter()
            .map(|text| ImageTar::parse(text))
            .collect::<Result<_, _>>()?,
        database_image_file: arguments.database_image_name.clone(),
        no_database_image: arguments.no_database_image,
        revision: arguments.revision.clone(),
    };
    Ok(plan_build(&request)?)
}
