//! Runs a [`BuildPlan`]: every step writes into a staging folder inside the output folder, and
//! only a complete build is renamed into place, so a failed or interrupted build never leaves
//! a half bundle under the release's name.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use jim_checksums::signature::{self, SecretKey};
use jim_checksums::{ChecksumManifest, Sha256Digest, manifest_for_tree};

use crate::Error;
use crate::archive::{self, tree_size};
use crate::compose::{images_named, interpolate};
use crate::engine::Engine;
use crate::image::write_image;
use crate::image_archive::{familiar_reference, inspect_image_archive};
use crate::layout::{
    BUNDLE_FORMAT, BundleLayout, BundleManifest, CHECKSUMS_FILE, COMPOSE_FILES, ComposeEntry,
    INSTALLER_FILE, ImageEntry, ImageRole, SIGNATURE_FILE, SignatureEntry,
};
use crate::plan::{BuildPlan, Signing, Step};
use crate::progress::{Reporter, copy_with_progress};
use crate::services::{ServiceImageInputs, service_image_spec};
use crate::templates::apply_edits;

/// Mode of folders and executables in the bundle.
const EXECUTABLE_MODE: u32 = 0o755;
/// Mode of every other file in the bundle.
const FILE_MODE: u32 = 0o644;

/// What a finished build produced.
#[derive(Debug, Clone)]
pub struct BuildReport {
    /// The bundle folder.
    pub folder: PathBuf,
    /// The `.tar.gz`.
    pub archive: PathBuf,
    /// The `.tar.gz.sha256` beside it.
    pub archive_checksum_file: PathBuf,
    /// The archive's SHA-256.
    pub archive_digest: Sha256Digest,
    /// The archive's size in bytes.
    pub archive_size: u64,
    /// The images in the bundle.
    pub images: Vec<ImageEntry>,
    /// How many files `checksums.sha256` lists.
    pub checksummed_files: usize,
}

/// What the steps have produced so far.
struct BuildState {
    staging: PathBuf,
    tree: PathBuf,
    images: Vec<ImageEntry>,
    signing_key: Option<SecretKey>,
    engine: Option<Engine>,
    checksummed_files: usize,
    archive: Option<(archive::WrittenArchive, PathBuf, PathBuf)>,
}

/// Runs every step of `plan`, then moves the bundle folder, the archive and its checksum file
/// into the output folder, replacing those of an earlier build of the same version.
pub fn execute(plan: &BuildPlan, reporter: &dyn Reporter) -> Result<BuildReport, Error> {
    // Everything that can fail fast does so before the first image is written.
    let signing_key = plan
        .steps
        .iter()
        .find_map(|step| match step {
            Step::SignChecksums { signing } => Some(open_signing_key(signing)),
            _ => None,
        })
        .transpose()?;
    let needs_engine = plan
        .steps
        .iter()
        .any(|step| matches!(step, Step::ExportImage { .. }));
    let engine = if needs_engine {
        Some(Engine::connect()?)
    } else {
        None
    };

    fs::create_dir_all(&plan.out).map_err(|source| Error::Write {
        path: plan.out.clone(),
        source,
    })?;
    let staging = tempfile::Builder::new()
        .prefix(".jim-release-staging-")
        .tempdir_in(&plan.out)
        .map_err(|source| Error::Write {
            path: plan.out.clone(),
            source,
        })?;
    let tree = staging.path().join(plan.layout.folder_name());
    create_folder(&tree)?;

    let mut state = BuildState {
        staging: staging.path().to_owned(),
        tree,
        images: Vec::new(),
        signing_key,
        engine,
        checksummed_files: 0,
        archive: None,
    };
    let count = plan.steps.len();
    for (index, step) in plan.steps.iter().enumerate() {
        let total = match step {
            Step::CopyImage { source, .. } | Step::CopyFile { source, .. } => {
                fs::metadata(source).ok().map(|metadata| metadata.len())
            }
            Step::WriteArchive { .. } => Some(tree_size(&state.tree)?),
            _ => None,
        };
        reporter.start(index + 1, count, &step.to_string(), total);
        run_step(plan, step, &mut state, reporter)?;
        reporter.finish();
    }

    let (written, archive, checksum_file) = state.archive.take().ok_or_else(|| Error::Write {
        path: plan.out.clone(),
        source: std::io::Error::other("the plan has no archive step"),
    })?;
    let folder = plan.out.join(plan.layout.folder_name());
    let archive_final = plan.out.join(plan.layout.archive_name());
    let checksum_final = plan.out.join(plan.layout.archive_checksum_name());
    place(&state.tree, &folder)?;
    place(&archive, &archive_final)?;
    place(&checksum_file, &checksum_final)?;
    Ok(BuildReport {
        folder,
        archive: archive_final,
        archive_checksum_file: checksum_final,
        archive_digest: written.digest,
        archive_size: written.size,
        images: state.images,
        checksummed_files: state.checksummed_files,
    })
}

/// Runs one step.
fn run_step(
    plan: &BuildPlan,
    step: &Step,
    state: &mut BuildState,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    match step {
        Step::WriteServiceImage {
            service,
            binary,
            destination,
            ..
        } => {
            let inputs = ServiceImageInputs {
                binary,
                version: plan.layout.version(),
                registry_prefix: &plan.registry_prefix,
                revision: &plan.revision,
                created: plan.created,
            };
            let spec = service_image_spec(*service, &inputs);
            let output = prepare_destination(&state.tree, destination)?;
            let written = write_image(&spec, &output)?;
            state.images.push(ImageEntry {
                file: destination.clone(),
                reference: written.reference,
                image_id: format!("sha256:{}", written.image_id),
                size: written.archive_size,
                role: ImageRole::Service(*service),
            });
        }
        Step::ExportImage {
            reference,
            role,
            destination,
        } => {
            let output = prepare_destination(&state.tree, destination)?;
            let engine = state
                .engine
                .as_ref()
                .ok_or_else(|| Error::EngineUnreachable {
                    endpoint: crate::engine::engine_endpoint(),
                    source: "the engine was not connected before the export".into(),
                })?;
            let size = engine.export_image(reference, &output, reporter)?;
            set_mode(&output, FILE_MODE)?;
            let info = inspect_image_archive(&output)?;
            if !info.references.contains(reference) {
                return Err(Error::InvalidImageArchive {
                    path: output,
                    reason: format!(
                        "the engine exported it with the tags {:?}, not `{reference}`",
                        info.references
                    ),
                });
            }
            state.images.push(ImageEntry {
                file: destination.clone(),
                reference: reference.clone(),
                image_id: info.image_id,
                size,
                role: *role,
            });
        }
        Step::CopyImage {
            source,
            reference,
            image_id,
            role,
            destination,
        } => {
            let output = prepare_destination(&state.tree, destination)?;
            let size = copy_file(source, &output, reporter)?;
            set_mode(&output, FILE_MODE)?;
            state.images.push(ImageEntry {
                file: destination.clone(),
                reference: reference.clone(),
                image_id: image_id.clone(),
                size,
                role: *role,
            });
        }
        Step::CopyFile {
            source,
            destination,
            executable,
            edits,
        } => {
            let output = prepare_destination(&state.tree, destination)?;
            if edits.is_empty() {
                copy_file(source, &output, reporter)?;
            } else {
                let text = fs::read_to_string(source).map_err(|error| Error::Read {
                    path: source.clone(),
                    source: error,
                })?;
                let edited = apply_edits(&text, edits, source)?;
                write_new_file(&output, edited.as_bytes())?;
            }
            set_mode(
                &output,
                if *executable {
                    EXECUTABLE_MODE
                } else {
                    FILE_MODE
                },
            )?;
        }
        Step::WriteFile {
            destination,
            contents,
        } => {
            let output = prepare_destination(&state.tree, destination)?;
            write_new_file(&output, contents.as_bytes())?;
            set_mode(&output, FILE_MODE)?;
        }
        Step::CheckComposeImages {
            variables,
            include_optional,
        } => check_compose_images(&state.tree, variables, *include_optional, &state.images)?,
        Step::WriteBundleManifest => {
            let manifest = bundle_manifest(plan, state);
            let output = prepare_destination(&state.tree, crate::layout::BUNDLE_MANIFEST_FILE)?;
            write_new_file(&output, manifest.to_json()?.as_bytes())?;
            set_mode(&output, FILE_MODE)?;
        }
        Step::WriteChecksums => {
            let manifest = manifest_for_tree(&state.tree)?;
            let output = state.tree.join(CHECKSUMS_FILE);
            manifest.write(&output)?;
            set_mode(&output, FILE_MODE)?;
            state.checksummed_files = manifest.len();
        }
        Step::SignChecksums { .. } => {
            let key = state.signing_key.as_ref().ok_or_else(|| Error::Write {
                path: state.tree.join(SIGNATURE_FILE),
                source: std::io::Error::other("the signing key was not opened"),
            })?;
            let manifest_path = state.tree.join(CHECKSUMS_FILE);
            let data = fs::read(&manifest_path).map_err(|source| Error::Read {
                path: manifest_path.clone(),
                source,
            })?;
            // A fixed trusted comment, where minisign's default records the time of signing.
            // Known limitation: minisign signatures mix in random noise, so two signed builds
            // differ in `checksums.sha256.minisig` (and so in the archive); unsigned builds are
            // byte for byte identical, and the signed content is too.
            let comment = format!(
                "{} {CHECKSUMS_FILE} revision {}",
                plan.layout.folder_name(),
                plan.revision
            );
            let text = signature::sign(key, &data, Some(&comment))?;
            let output = state.tree.join(SIGNATURE_FILE);
            write_new_file(&output, text.as_bytes())?;
            set_mode(&output, FILE_MODE)?;
        }
        Step::WriteArchive {
            archive,
            checksum_file,
        } => {
            let archive_path = state.staging.join(archive);
            let written = archive::write_archive(
                &state.tree,
                &plan.layout.folder_name(),
                plan.created.unix_seconds(),
                &archive_path,
                reporter,
            )?;
            let mut listing = ChecksumManifest::new();
            listing.insert(archive, written.digest)?;
            let checksum_path = state.staging.join(checksum_file);
            listing.write(&checksum_path)?;
            set_mode(&checksum_path, FILE_MODE)?;
            state.archive = Some((written, archive_path, checksum_path));
        }
    }
    Ok(())
}

/// Checks that every image the compose files name, once the variables are substituted, is
/// one of the images written.
fn check_compose_images(
    tree: &Path,
    variables: &[(&'static str, String)],
    include_optional: bool,
    images: &[ImageEntry],
) -> Result<(), Error> {
    let values: BTreeMap<&str, &str> = variables
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let present: Vec<String> = images
        .iter()
        .map(|image| familiar_reference(&image.reference))
        .collect();
    let mut missing = Vec::new();
    for file in COMPOSE_FILES {
        let path = BundleLayout::resolve(tree, &BundleLayout::compose_path(file));
        for image in images_named(&path)? {
            if image.optional && !include_optional {
                continue;
            }
            let reference = interpolate(&image.expression, &values).map_err(|reason| {
                Error::InvalidComposeFile {
                    path: path.clone(),
                    reason: format!("the image of `{}`: {reason}", image.service),
                }
            })?;
            let reference = familiar_reference(&reference);
            if !present.contains(&reference) && !missing.contains(&reference) {
                missing.push(reference);
            }
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::ComposeImagesMissing { missing, present })
    }
}

/// `bundle.json` from the plan and the images written.
fn bundle_manifest(plan: &BuildPlan, state: &BuildState) -> BundleManifest {
    BundleManifest {
        format: BUNDLE_FORMAT,
        version: plan.layout.version().clone(),
        revision: plan.revision.clone(),
        created: plan.created.rfc3339(),
        registry_prefix: plan.registry_prefix.clone(),
        installer: INSTALLER_FILE.to_owned(),
        images: state.images.clone(),
        includes_database_image: state
            .images
            .iter()
            .any(|image| image.role == ImageRole::Database),
        compose: ComposeEntry::default(),
        signature: state.signing_key.as_ref().map(|key| SignatureEntry {
            file: SIGNATURE_FILE.to_owned(),
            key_id: key.key_id(),
        }),
    }
}

/// Opens the secret key, with the password from the first line of the password file.
fn open_signing_key(signing: &Signing) -> Result<SecretKey, Error> {
    let read = |path: &Path| {
        fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })
    };
    let text = read(&signing.secret_key)?;
    let password = match &signing.password_file {
        Some(path) => Some(read(path)?.lines().next().unwrap_or("").to_owned()),
        None => None,
    };
    Ok(SecretKey::from_text(&text, password.as_deref())?)
}

/// The path on disk of a bundle path, with its parent folders created (mode 0755).
fn prepare_destination(tree: &Path, bundle_path: &str) -> Result<PathBuf, Error> {
    let mut folder = tree.to_path_buf();
    let parts: Vec<&str> = bundle_path.split('/').collect();
    if let Some((_, parents)) = parts.split_last() {
        for part in parents {
            folder.push(part);
            if !folder.is_dir() {
                create_folder(&folder)?;
            }
        }
    }
    Ok(BundleLayout::resolve(tree, bundle_path))
}

/// Creates one folder with mode 0755, whatever the umask.
fn create_folder(path: &Path) -> Result<(), Error> {
    fs::create_dir(path).map_err(|source| Error::Write {
        path: path.to_owned(),
        source,
    })?;
    set_mode(path, EXECUTABLE_MODE)
}

fn set_mode(path: &Path, mode: u32) -> Result<(), Error> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|source| Error::Write {
        path: path.to_owned(),
        source,
    })
}

fn write_new_file(path: &Path, contents: &[u8]) -> Result<(), Error> {
    fs::write(path, contents).map_err(|source| Error::Write {
        path: path.to_owned(),
        source,
    })
}

/// Copies a file, streaming, and returns its size.
fn copy_file(source: &Path, output: &Path, reporter: &dyn Reporter) -> Result<u64, Error> {
    let input = File::open(source).map_err(|error| Error::Read {
        path: source.to_owned(),
        source: error,
    })?;
    let write_error = |error| Error::Write {
        path: output.to_owned(),
        source: error,
    };
    let file = File::create(output).map_err(write_error)?;
    let mut writer = BufWriter::with_capacity(1024 * 1024, file);
    let mut reader = BufReader::with_capacity(1024 * 1024, input);
    let size = copy_with_progress(&mut reader, &mut writer, reporter).map_err(write_error)?;
    writer.flush().map_err(write_error)?;
    Ok(size)
}

/// Moves a finished output into place, replacing an older one of the same name.
fn place(staged: &Path, destination: &Path) -> Result<(), Error> {
    let write_error = |source| Error::Write {
        path: destination.to_owned(),
        source,
    };
    match fs::symlink_metadata(destination) {
        Ok(metadata) if metadata.is_dir() => {
            fs::remove_dir_all(destination).map_err(write_error)?
        }
        Ok(_) => fs::remove_file(destination).map_err(write_error)?,
        Err(_) => {}
    }
    fs::rename(staged, destination).map_err(write_error)
}
