//! `jim-bundle postgres-image`: writes the PostgreSQL image made from the host's Debian
//! packages.

use anyhow::Result;
use jim_bundle::postgres::{PostgresImageRequest, build_postgres_image, newest_installed_major};
use jim_bundle::source::resolve_created;

use crate::cli::PostgresImageArguments;

/// Writes the image tar and prints its reference, id and size.
pub fn run(arguments: &PostgresImageArguments) -> Result<()> {
    let major = arguments
        .postgres_version
        .unwrap_or_else(newest_installed_major);
    let reference = arguments
        .tag
        .clone()
        .unwrap_or_else(|| format!("jim-postgres:{major}-debian"));
    let request = PostgresImageRequest {
        reference,
        major,
        created: resolve_created(&arguments.source)?,
    };
    let written = build_postgres_image(&request, &arguments.out)?;
    println!("image:    {}", written.reference);
    println!("id:       sha256:{}", written.image_id);
    println!("file:     {}", arguments.out.display());
    println!("size:     {} bytes", written.archive_size);
    Ok(())
}
