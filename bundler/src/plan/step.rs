//! The steps of a build: typed units of work that `jim-bundle plan` prints and
//! [`crate::execute`] runs.

use std::fmt;
use std::path::PathBuf;

use super::Signing;
use crate::layout::{ImageRole, Service};
use crate::templates::LineEdit;

/// One unit of work. Destinations are bundle paths (relative, `/`-separated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Write a service's image from its binary, without a daemon.
    WriteServiceImage {
        /// The service.
        service: Service,
        /// Its static binary.
        binary: PathBuf,
        /// The reference the image gets.
        reference: String,
        /// The image tar's bundle path.
        destination: String,
    },
    /// Export an image from the local Docker Engine by its tag.
    ExportImage {
        /// The tagged reference.
        reference: String,
        /// Database or extra image.
        role: ImageRole,
        /// The image tar's bundle path.
        destination: String,
    },
    /// Copy an existing image tar, already checked to carry a tag.
    CopyImage {
        /// The tar to copy.
        source: PathBuf,
        /// The reference it loads as.
        reference: String,
        /// Its image id.
        image_id: String,
        /// Database or extra image.
        role: ImageRole,
        /// The image tar's bundle path.
        destination: String,
    },
    /// Copy a file of the source tree, with line edits applied.
    CopyFile {
        /// The file to copy.
        source: PathBuf,
        /// Its bundle path.
        destination: String,
        /// Whether it gets mode 0755 instead of 0644.
        executable: bool,
        /// Lines to set on the way.
        edits: Vec<LineEdit>,
    },
    /// Write a file generated from the plan.
    WriteFile {
        /// Its bundle path.
        destination: String,
        /// Its contents.
        contents: String,
    },
    /// Check that every image the compose files name is in `docker-images/`.
    CheckComposeImages {
        /// The values of the compose variables that name images.
        variables: Vec<(&'static str, String)>,
        /// Whether services in a profile (the bundled database) are checked too.
        include_optional: bool,
    },
    /// Write `bundle.json` from the images written.
    WriteBundleManifest,
    /// Hash every file into `checksums.sha256`.
    WriteChecksums,
    /// Sign `checksums.sha256`.
    SignChecksums {
        /// The secret key and its password file.
        signing: Signing,
    },
    /// Write the `.tar.gz` and its `.sha256`, then move everything into the output folder.
    WriteArchive {
        /// The archive's file name.
        archive: String,
        /// The checksum file's name.
        checksum_file: String,
    },
}

impl Step {
    /// The bundle path an image step writes, for steps that write an image.
    pub fn image_destination(&self) -> Option<&str> {
        match self {
            Step::WriteServiceImage { destination, .. }
            | Step::ExportImage { destination, .. }
            | Step::CopyImage { destination, .. } => Some(destination),
            _ => None,
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::WriteServiceImage {
                binary,
                reference,
                destination,
                ..
            } => write!(
                f,
                "write image    {destination} ({reference} from {})",
                binary.display()
            ),
            Step::ExportImage {
                reference,
                destination,
                ..
            } => write!(
                f,
                "export image   {destination} ({reference} from the Docker Engine)"
            ),
            Step::CopyImage {
                source,
                reference,
                destination,
                ..
            } => write!(
                f,
                "copy image     {destination} ({reference} from {})",
                source.display()
            ),
            Step::CopyFile {
                source,
                destination,
                edits,
                ..
            } => {
                write!(f, "copy file      {destination} (from {}", source.display())?;
                for edit in edits {
                    write!(f, ", set {edit}")?;
                }
                write!(f, ")")
            }
            Step::WriteFile {
                destination,
                contents,
            } => write!(f, "write file     {destination} ({} bytes)", contents.len()),
            Step::CheckComposeImages { variables, .. } => {
                let values: Vec<String> = variables
                    .iter()
                    .map(|(name, value)| format!("{name}={value}"))
                    .collect();
                write!(
                    f,
                    "check images   named by the compose files ({})",
                    values.join(", ")
                )
            }
            Step::WriteBundleManifest => {
                write!(f, "write file     bundle.json (the images written)")
            }
            Step::WriteChecksums => write!(f, "write file     checksums.sha256 (every file)"),
            Step::SignChecksums { signing } => write!(
                f,
                "sign           checksums.sha256.minisig (key {})",
                signing.secret_key.display()
            ),
            Step::WriteArchive {
                archive,
                checksum_file,
            } => write!(f, "write archive  {archive} and {checksum_file}"),
        }
    }
}
