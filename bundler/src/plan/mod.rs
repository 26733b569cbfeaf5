//! The build plan: the command line turned into typed steps, checked before anything is
//! written. `jim-bundle plan` prints it; [`crate::execute`] runs it.
//!
//! Planning reads (the source tree, the binaries folder, the `manifest.json` of image tars
//! given with `--image-tar`) but never writes and never contacts the Docker Engine, so a
//! missing binary or a wrong option is reported before minutes of work, not after.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::documents::{self, DocumentFacts};
use crate::image::SourceDateEpoch;
use crate::image_archive::{familiar_reference, inspect_image_archive};
use crate::layout::{
    BundleLayout, COMPOSE_FILES, COPIED_DOCS, DOCS_FOLDER, ENV_TEMPLATE_FILE, INSTALL_GUIDE_FILE,
    INSTALLER_FILE, ImageRole, POWERSHELL_MODULE_FOLDER, POWERSHELL_MODULE_MANIFEST, README_FILE,
    Service, VERSION_FILE,
};
use crate::source;
use crate::templates::{LineEdit, numeric_version};

mod request;
mod step;

pub use request::{BuildRequest, ImageTar, IncludedImage, Signing};
pub use step::Step;

/// Where the compose templates live in the source tree.
pub const COMPOSE_TEMPLATES_FOLDER: &str = "compose-templates";
/// Where the PowerShell module lives in the source tree.
pub const POWERSHELL_SOURCE_FOLDER: &str = "powershell/JIM";
/// The binaries folder used unless `--binaries` says otherwise, relative to the source tree.
pub const DEFAULT_BINARIES_FOLDER: &str = "target/x86_64-unknown-linux-gnu/release";

/// The whole plan of one release build.
#[derive(Debug, Clone)]
pub struct BuildPlan {
    /// The names of the release.
    pub layout: BundleLayout,
    /// The creation time of every image and archive member.
    pub created: SourceDateEpoch,
    /// The source revision recorded in the labels and in `bundle.json`.
    pub revision: String,
    /// The prefix of the JIM image names.
    pub registry_prefix: String,
    /// The output folder.
    pub out: PathBuf,
    /// The database image's reference, when the bundle has one.
    pub database_reference: Option<String>,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

impl fmt::Display for BuildPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "plan for {} (revision {}, created {} = SOURCE_DATE_EPOCH {}), into {}",
            self.layout.folder_name(),
            self.revision,
            self.created.rfc3339(),
            self.created.unix_seconds(),
            self.out.display()
        )?;
        let width = self.steps.len().to_string().len();
        for (index, step) in self.steps.iter().enumerate() {
            writeln!(f, "  {:>width$}. {step}", index + 1)?;
        }
        Ok(())
    }
}

/// Makes the plan of a build, checking every input that can be checked without writing.
pub fn plan_build(request: &BuildRequest) -> Result<BuildPlan, Error> {
    let layout = BundleLayout::new(request.version.clone())
        .with_database_image_file(&request.database_image_file)?;
    validate_registry_prefix(&request.registry_prefix)?;
    let compose_folder = request.source.join(COMPOSE_TEMPLATES_FOLDER);
    require_file(
        &compose_folder.join(COMPOSE_FILES[0]),
        "compose file",
        "run jim-bundle from the repository root, or name it with `--source DIR`",
    )?;
    let created = source::resolve_created(&request.source)?;
    let revision = source::resolve_revision(&request.source, request.revision.as_deref());

    let mut steps = Vec::new();
    let version = request.version.as_str();
    for service in Service::ALL {
        let binary = request.binaries.join(service.name());
        require_file(
            &binary,
            "service binary",
            &format!(
                "build it with `cargo build --release -p {}`, or name the folder holding it \
                 with `--binaries DIR`",
                service.name()
            ),
        )?;
        steps.push(Step::WriteServiceImage {
            service,
            binary,
            reference: format!("{}{}:{version}", request.registry_prefix, service.name()),
            destination: BundleLayout::service_image_path(service),
        });
    }
    let installer = request.binaries.join(INSTALLER_FILE);
    require_file(
        &installer,
        "installer binary",
        "build it with `cargo build --release -p jim-install`; a bundle is never built without \
         its installer",
    )?;

    let (image_steps, database_reference) = plan_extra_images(request, &layout)?;
    steps.extend(image_steps);

    steps.push(Step::CopyFile {
        source: installer,
        destination: INSTALLER_FILE.to_owned(),
        executable: true,
        edits: Vec::new(),
    });
    steps.extend(plan_source_files(request, database_reference.as_deref())?);
    steps.extend(plan_generated_files(
        request,
        &layout,
        &steps,
        database_reference.as_deref(),
    ));

    let mut variables = vec![
        ("DOCKER_REGISTRY", request.registry_prefix.clone()),
        ("JIM_VERSION", version.to_owned()),
    ];
    if let Some(reference) = &database_reference {
        variables.push(("JIM_DB_IMAGE", reference.clone()));
    }
    steps.push(Step::CheckComposeImages {
        variables,
        include_optional: database_reference.is_some(),
    });
    steps.push(Step::WriteBundleManifest);
    steps.push(Step::WriteChecksums);
    if let Some(signing) = &request.signing {
        require_file(
            &signing.secret_key,
            "secret key",
            "create one with `jim-bundle keygen`",
        )?;
        if let Some(password_file) = &signing.password_file {
            require_file(password_file, "password file", "name an existing file")?;
        }
        steps.push(Step::SignChecksums {
            signing: signing.clone(),
        });
    }
    steps.push(Step::WriteArchive {
        archive: layout.archive_name(),
        checksum_file: layout.archive_checksum_name(),
    });

    Ok(BuildPlan {
        layout,
        created,
        revision,
        registry_prefix: request.registry_prefix.clone(),
        out: request.out.clone(),
        database_reference,
        steps,
    })
}

/// The steps of the images we do not build, the database image first, and its reference.
fn plan_extra_images(
    request: &BuildRequest,
    layout: &BundleLayout,
) -> Result<(Vec<Step>, Option<String>), Error> {
    let mut taken: Vec<String> = Service::ALL.map(Service::image_file).to_vec();
    let mut claim = |file: &str| {
        if taken.iter().any(|existing| existing == file) {
            return Err(Error::DuplicateImageFile {
                file: file.to_owned(),
            });
        }
        taken.push(file.to_owned());
        Ok(())
    };
    let role_of = |file: &str| {
        if file == layout.database_image_file() {
            ImageRole::Database
        } else {
            ImageRole::Extra
        }
    };

    let mut steps = Vec::new();
    for image in &request.included_images {
        claim(&image.file_name)?;
        steps.push(Step::ExportImage {
            reference: familiar_reference(&image.reference),
            role: role_of(&image.file_name),
            destination: BundleLayout::image_path(&image.file_name),
        });
    }
    for tar in &request.image_tars {
        claim(&tar.file_name)?;
        require_file(
            &tar.source,
            "image tar",
            "name an existing file written by `docker save`",
        )?;
        let info = inspect_image_archive(&tar.source)?;
        steps.push(Step::CopyImage {
            source: tar.source.clone(),
            reference: info.references[0].clone(),
            image_id: info.image_id,
            role: role_of(&tar.file_name),
            destination: BundleLayout::image_path(&tar.file_name),
        });
    }
    steps.sort_by_key(|step| match step {
        Step::ExportImage { role, .. } | Step::CopyImage { role, .. } => {
            *role != ImageRole::Database
        }
        _ => true,
    });

    let database_reference = steps.iter().find_map(|step| match step {
        Step::ExportImage {
            reference,
            role: ImageRole::Database,
            ..
        }
        | Step::CopyImage {
            reference,
            role: ImageRole::Database,
            ..
        } => Some(reference.clone()),
        _ => None,
    });
    match (&database_reference, request.no_database_image) {
        (None, false) => Err(Error::NoDatabaseImage {
            file: layout.database_image_file().to_owned(),
        }),
        (Some(_), true) => Err(Error::InvalidArgument {
            option: "--no-database-image",
            value: layout.database_image_file().to_owned(),
            reason: "an image is also written as the database image; drop one of the two"
                .to_owned(),
        }),
        _ => Ok((steps, database_reference)),
    }
}

/// The compose files, the PowerShell module and the copied documents.
fn plan_source_files(
    request: &BuildRequest,
    database_reference: Option<&str>,
) -> Result<Vec<Step>, Error> {
    let version = request.version.as_str();
    let compose_folder = request.source.join(COMPOSE_TEMPLATES_FOLDER);
    let mut steps = Vec::new();
    for file in COMPOSE_FILES {
        let source = compose_folder.join(file);
        require_file(&source, "compose file", "restore it from the repository")?;
        steps.push(copy(source, BundleLayout::compose_path(file), Vec::new()));
    }

    let mut env_edits = vec![
        LineEdit::EnvAssignment {
            name: "DOCKER_REGISTRY",
            value: request.registry_prefix.clone(),
        },
        LineEdit::EnvAssignment {
            name: "JIM_VERSION",
            value: version.to_owned(),
        },
    ];
    if let Some(reference) = database_reference {
        env_edits.push(LineEdit::EnvAssignment {
            name: "JIM_DB_IMAGE",
            value: reference.to_owned(),
        });
    }
    let env_template = compose_folder.join(ENV_TEMPLATE_FILE);
    require_file(
        &env_template,
        "environment template",
        "restore it from the repository",
    )?;
    steps.push(copy(
        env_template,
        BundleLayout::compose_path(ENV_TEMPLATE_FILE),
        env_edits,
    ));

    let module_folder = request.source.join(POWERSHELL_SOURCE_FOLDER);
    let manifest = module_folder.join(POWERSHELL_MODULE_MANIFEST);
    require_file(
        &manifest,
        "PowerShell module manifest",
        "restore it from the repository",
    )?;
    for relative in module_files(&module_folder)? {
        let edits = if relative == POWERSHELL_MODULE_MANIFEST {
            vec![LineEdit::PowerShellModuleVersion {
                value: numeric_version(version).to_owned(),
            }]
        } else {
            Vec::new()
        };
        let source = BundleLayout::resolve(&module_folder, &relative);
        steps.push(copy(
            source,
            format!("{POWERSHELL_MODULE_FOLDER}/{relative}"),
            edits,
        ));
    }

    for file in COPIED_DOCS {
        let source = request.source.join(DOCS_FOLDER).join(file);
        require_file(&source, "document", "restore it from the repository")?;
        steps.push(copy(source, BundleLayout::docs_path(file), Vec::new()));
    }
    Ok(steps)
}

/// The files generated from the plan: `VERSION`, `README.txt`, `docs/README.md` and
/// `docs/INSTALL.md`.
fn plan_generated_files(
    request: &BuildRequest,
    layout: &BundleLayout,
    steps: &[Step],
    database_reference: Option<&str>,
) -> Vec<Step> {
    let facts = DocumentFacts {
        layout,
        image_files: steps
            .iter()
            .filter_map(Step::image_destination)
            .map(str::to_owned)
            .collect(),
        database_reference: database_reference.map(str::to_owned),
        signed: request.signing.is_some(),
    };
    let write = |destination: String, contents: String| Step::WriteFile {
        destination,
        contents,
    };
    vec![
        write(VERSION_FILE.to_owned(), format!("{}\n", request.version)),
        write(README_FILE.to_owned(), documents::readme_text(&facts)),
        write(
            BundleLayout::docs_path("README.md"),
            documents::docs_readme(&facts),
        ),
        write(
            BundleLayout::docs_path(INSTALL_GUIDE_FILE),
            documents::install_guide(&facts),
        ),
    ]
}

fn copy(source: PathBuf, destination: String, edits: Vec<LineEdit>) -> Step {
    Step::CopyFile {
        source,
        destination,
        executable: false,
        edits,
    }
}

/// The files of the PowerShell module, relative and sorted, without its tests (which are for
/// developers, not for the people who run JIM).
fn module_files(folder: &Path) -> Result<Vec<String>, Error> {
    fn walk(folder: &Path, prefix: &str, files: &mut Vec<String>) -> Result<(), Error> {
        let read_error = |source| Error::Read {
            path: folder.to_owned(),
            source,
        };
        for entry in fs::read_dir(folder).map_err(read_error)? {
            let entry = entry.map_err(read_error)?;
            let name = entry
                .file_name()
                .into_string()
                .map_err(|_| Error::NonUtf8Path { path: entry.path() })?;
            let relative = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            let file_type = entry.file_type().map_err(read_error)?;
            if file_type.is_dir() {
                if name != "Tests" {
                    walk(&entry.path(), &relative, files)?;
                }
            } else if file_type.is_file() {
                if !name.ends_with(".Tests.ps1") {
                    files.push(relative);
                }
            } else {
                return Err(Error::UnsupportedFileType { path: entry.path() });
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(folder, "", &mut files)?;
    files.sort();
    Ok(files)
}

/// Refuses a registry prefix that would not form a valid image name.
fn validate_registry_prefix(prefix: &str) -> Result<(), Error> {
    if prefix.is_empty() || prefix.ends_with('/') {
        return Ok(());
    }
    Err(Error::InvalidArgument {
        option: "--registry-prefix",
        value: prefix.to_owned(),
        reason: "the prefix is put in front of the image name as is, so it must end with `/`"
            .to_owned(),
    })
}

/// Fails with [`Error::MissingInput`] when `path` is not a regular file.
fn require_file(path: &Path, what: &'static str, hint: &str) -> Result<(), Error> {
    if path.is_file() {
        return Ok(());
    }
    Err(Error::MissingInput {
        what,
        path: path.to_owned(),
        hint: hint.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_prefix_must_end_with_a_slash() {
        assert!(validate_registry_prefix("").is_ok());
        assert!(validate_registry_prefix("registry.local/jim/").is_ok());
        assert!(validate_registry_prefix("registry.local").is_err());
    }
}
