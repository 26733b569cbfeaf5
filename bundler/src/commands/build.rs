//! `jim-bundle build`: plans, then runs the plan, then prints where the release is.

use std::time::Instant;

use anyhow::Result;
use jim_bundle::execute::execute;
use jim_bundle::layout::ImageRole;

use crate::cli::BuildCommand;
use crate::commands::plan::make_plan;
use crate::reporter::StepReporter;

/// Builds the release, or prints its plan with `--dry-run`.
pub fn run(arguments: &BuildCommand, quiet: bool) -> Result<()> {
    let plan = make_plan(&arguments.build)?;
    if arguments.dry_run {
        print!("{plan}");
        return Ok(());
    }

    let started = Instant::now();
    let reporter = StepReporter::new(quiet);
    let report = execute(&plan, &reporter)?;

    if !quiet {
        let database = report
            .images
            .iter()
            .find(|image| image.role == ImageRole::Database)
            .map_or("no database image".to_owned(), |image| {
                format!("database image {}", image.reference)
            });
        eprintln!(
            "built {} in {:.1} s: {} images ({database}), {} files checksummed",
            plan.layout.folder_name(),
            started.elapsed().as_secs_f64(),
            report.images.len(),
            report.checksummed_files,
        );
    }
    println!("folder:  {}", report.folder.display());
    println!("archive: {}", report.archive.display());
    println!("sha256:  {}", report.archive_digest);
    println!("size:    {} bytes", report.archive_size);
    Ok(())
}
