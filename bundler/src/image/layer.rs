//! The plan of the filesystem layer: every path the image holds, with its kind, permission
//! bits and owner. [`super::layer_tar`] turns the plan into the tar.
//!
//! Owners never come from the build machine: they are root unless the specification or the
//! owner map says otherwise, so the layer does not depend on who built it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::spec::{FileSource, ImageFile, ImageSpec, Owner, RootFilesystem};
use super::validate::normalise_image_path;
use crate::Error;

/// Permission bits of folders the writer creates itself (parents, volume folders).
const CREATED_FOLDER_MODE: u32 = 0o755;

/// Permission bits recorded for symbolic links, as Linux reports them.
const SYMLINK_MODE: u32 = 0o777;

/// What one path of the layer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum EntryKind {
    Directory,
    File(FileContent),
    Symlink(PathBuf),
    /// A hard link to an earlier entry, named by its tar path.
    HardLink(String),
}

/// Where a regular file's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum FileContent {
    Disk(PathBuf),
    Memory(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PlannedEntry {
    pub kind: EntryKind,
    pub mode: u32,
    pub owner: Owner,
}

/// Every path of the layer, keyed by its tar path (relative, no leading `/`), so iteration
/// is the sorted order the tar is written in.
#[derive(Debug, Default)]
pub(crate) struct LayerPlan {
    entries: BTreeMap<String, PlannedEntry>,
}

impl LayerPlan {
    /// Lays out the root filesystem (if any), the files, the working directory and the volume
    /// folders of a validated specification, adding every missing parent folder.
    pub(crate) fn from_spec(spec: &ImageSpec) -> Result<Self, Error> {
        let mut plan = Self::default();
        if let Some(tree) = &spec.root_filesystem {
            plan.add_tree(tree)?;
        }
        let mut placed = BTreeSet::new();
        for file in &spec.files {
            plan.add_file(file, &mut placed)?;
        }
        if let Some(folder) = &spec.working_dir {
            plan.ensure_folder(&tar_path(folder)?, None)?;
        }
        if !spec.volumes.is_empty() {
            let owner = spec.resolved_volume_owner()?;
            for folder in &spec.volumes {
                plan.ensure_folder(&tar_path(folder)?, Some(owner))?;
            }
        }
        plan.add_parents()?;
        Ok(plan)
    }

    /// Adds a whole folder as `/`: folders, files, symbolic links and hard links, with their
    /// permission bits, owned as the owner map says.
    fn add_tree(&mut self, tree: &RootFilesystem) -> Result<(), Error> {
        let mut inodes: HashMap<(u64, u64), Vec<String>> = HashMap::new();
        self.walk(tree, &tree.root, &mut inodes)?;

        // Within each group of hard links the first path in write order carries the bytes
        // and the others point at it, so a link never precedes its target in the tar.
        for mut paths in inodes.into_values().filter(|paths| paths.len() > 1) {
            paths.sort();
            let (first, others) = paths
                .split_first()
                .expect("a group holds at least two paths");
            for other in others {
                if let Some(entry) = self.entries.get_mut(other) {
                    entry.kind = EntryKind::HardLink(first.clone());
                }
            }
        }
        Ok(())
    }

    /// Adds the children of `folder`, in name order, and recurses into sub-folders. Files
    /// with several links are noted in `inodes` by device and inode.
    fn walk(
        &mut self,
        tree: &RootFilesystem,
        folder: &Path,
        inodes: &mut HashMap<(u64, u64), Vec<String>>,
    ) -> Result<(), Error> {
        let read_error = |path: &Path| {
            let path = path.to_owned();
            move |source| Error::Read { path, source }
        };
        let mut children = fs::read_dir(folder)
            .map_err(read_error(folder))?
            .map(|entry| entry.map(|entry| entry.path()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(read_error(folder))?;
        children.sort();

        for path in children {
            let metadata = fs::symlink_metadata(&path).map_err(read_error(&path))?;
            let relative = relative_tar_path(&tree.root, &path)?;
            let owner = tree.owners.owner_of(&format!("/{relative}"));
            let mode = metadata.mode() & 0o7777;
            let file_type = metadata.file_type();

            let entry = if file_type.is_dir() {
                PlannedEntry {
                    kind: EntryKind::Directory,
                    mode,
                    owner,
                }
            } else if file_type.is_file() {
                if metadata.nlink() > 1 {
                    let key = (metadata.dev(), metadata.ino());
                    inodes.entry(key).or_default().push(relative.clone());
                }
                let kind = EntryKind::File(FileContent::Disk(path.clone()));
                PlannedEntry { kind, mode, owner }
            } else if file_type.is_symlink() {
                let target = fs::read_link(&path).map_err(read_error(&path))?;
                let kind = EntryKind::Symlink(target);
                PlannedEntry {
                    kind,
                    mode: SYMLINK_MODE,
                    owner,
                }
            } else {
                return Err(Error::UnsupportedFileType { path });
            };

            let is_folder = entry.kind == EntryKind::Directory;
            self.entries.insert(relative, entry);
            if is_folder {
                self.walk(tree, &path, inodes)?;
            }
        }
        Ok(())
    }

    /// Adds one file of the specification, replacing a root filesystem file at that path.
    /// `placed` holds the paths earlier files of the specification took.
    fn add_file(&mut self, file: &ImageFile, placed: &mut BTreeSet<String>) -> Result<(), Error> {
        let path = tar_path(&file.destination)?;
        let conflict = |reason| Error::ConflictingImagePath {
            path: file.destination.clone(),
            reason,
        };
        if !placed.insert(path.clone()) {
            return Err(conflict("two files are placed at the same path"));
        }
        if self.entries.get(&path).map(|entry| &entry.kind) == Some(&EntryKind::Directory) {
            return Err(conflict("a folder of the root filesystem is already there"));
        }
        let linked_to = EntryKind::HardLink(path.clone());
        if self.entries.values().any(|entry| entry.kind == linked_to) {
            return Err(conflict(
                "hard links of the root filesystem share the file there",
            ));
        }

        let content = match &file.source {
            FileSource::Bytes(bytes) => FileContent::Memory(bytes.clone()),
            FileSource::Path(source) => {
                let metadata = fs::metadata(source).map_err(|error| Error::Read {
                    path: source.clone(),
                    source: error,
                })?;
                if !metadata.is_file() {
                    return Err(Error::UnsupportedFileType {
                        path: source.clone(),
                    });
                }
                FileContent::Disk(source.clone())
            }
        };
        let entry = PlannedEntry {
            kind: EntryKind::File(content),
            mode: file.mode,
            owner: file.owner,
        };
        self.entries.insert(path, entry);
        Ok(())
    }

    /// Makes sure a folder exists at `path`; with an owner, the folder gets that owner even
    /// if the root filesystem already had it.
    fn ensure_folder(&mut self, path: &str, owner: Option<Owner>) -> Result<(), Error> {
        match self.entries.get_mut(path) {
            Some(entry) if entry.kind == EntryKind::Directory => {
                if let Some(owner) = owner {
                    entry.owner = owner;
                }
                Ok(())
            }
            Some(_) => Err(Error::ConflictingImagePath {
                path: format!("/{path}"),
                reason: "a folder is needed where a file or link is",
            }),
            None => {
                let entry = PlannedEntry {
                    kind: EntryKind::Directory,
                    mode: CREATED_FOLDER_MODE,
                    owner: owner.unwrap_or(Owner::ROOT),
                };
                self.entries.insert(path.to_owned(), entry);
                Ok(())
            }
        }
    }

    /// Adds every missing parent folder, owned by root.
    fn add_parents(&mut self) -> Result<(), Error> {
        let mut parents = BTreeSet::new();
        for path in self.entries.keys() {
            let mut rest = path.as_str();
            while let Some((parent, _)) = rest.rsplit_once('/') {
                parents.insert(parent.to_owned());
                rest = parent;
            }
        }
        for parent in parents {
            self.ensure_folder(&parent, None)?;
        }
        Ok(())
    }

    /// The entries in write order, keyed by tar path.
    pub(super) fn entries(&self) -> &BTreeMap<String, PlannedEntry> {
        &self.entries
    }

    /// The tar paths in write order, with a trailing `/` on folders.
    #[cfg(test)]
    pub(crate) fn paths(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|(path, entry)| match entry.kind {
                EntryKind::Directory => format!("{path}/"),
                _ => path.clone(),
            })
            .collect()
    }
}

/// The tar path of an absolute image path.
fn tar_path(image_path: &str) -> Result<String, Error> {
    normalise_image_path(image_path).map_err(|reason| Error::InvalidImageSpec {
        field: "path",
        value: image_path.to_owned(),
        reason: reason.to_owned(),
    })
}

/// The `/`-separated UTF-8 path of `path` relative to `root`.
fn relative_tar_path(root: &Path, path: &Path) -> Result<String, Error> {
    let non_utf8 = || Error::NonUtf8Path {
        path: PathBuf::from(path.to_string_lossy().into_owned()),
    };
    let relative = path.strip_prefix(root).unwrap_or(path);
    let parts = relative
        .components()
        .map(|component| component.as_os_str().to_str().ok_or_else(non_utf8))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;
    use crate::image::spec::SourceDateEpoch;

    const CREATED: u64 = 1_767_225_600;

    fn spec() -> ImageSpec {
        let mut spec = ImageSpec::new(
            "jim-web",
            "0.1.0",
            SourceDateEpoch::from_unix_seconds(CREATED).unwrap(),
        );
        spec.entrypoint = vec!["/app/jim-web".into()];
        spec
    }

    #[test]
    fn files_get_parents_working_dir_and_volume_folders_in_path_order() {
        let dir = tempfile::tempdir().unwrap();
        let binary = dir.path().join("jim-web");
        fs::write(&binary, b"\x7fELF binary").unwrap();

        let mut spec = spec();
        spec.files
            .push(ImageFile::from_path(&binary, "/app/jim-web", 0o755));
        spec.files
            .push(ImageFile::from_bytes("x=1\n", "/etc/jim/defaults", 0o644));
        spec.working_dir = Some("/app".into());
        spec.volumes = vec!["/var/lib/jim".into()];

        let plan = LayerPlan::from_spec(&spec).unwrap();
        assert_eq!(
            plan.paths(),
            [
                "app/",
                "app/jim-web",
                "etc/",
                "etc/jim/",
                "etc/jim/defaults",
                "var/",
                "var/lib/",
                "var/lib/jim/"
            ]
        );
    }

    #[test]
    fn special_files_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("rootfs");
        fs::create_dir_all(&root).unwrap();
        let status = Command::new("mkfifo")
            .arg(root.join("pipe"))
            .status()
            .expect("mkfifo (coreutils) must be installed to run this test");
        assert!(status.success());

        let mut spec = spec();
        spec.root_filesystem = Some(RootFilesystem::new(&root));
        let error = LayerPlan::from_spec(&spec).unwrap_err();
        assert!(matches!(error, Error::UnsupportedFileType { ref path } if path.ends_with("pipe")));
    }

    #[test]
    fn conflicting_paths_are_refused() {
        let file_under_file = {
            let mut spec = spec();
            spec.files.push(ImageFile::from_bytes("a", "/app", 0o644));
            spec.files.push(ImageFile::from_bytes("b", "/app/x", 0o644));
            spec
        };
        let same_path_twice = {
            let mut spec = spec();
            spec.files.push(ImageFile::from_bytes("a", "/app/x", 0o644));
            spec.files.push(ImageFile::from_bytes("b", "/app/x", 0o644));
            spec
        };
        let volume_on_file = {
            let mut spec = spec();
            spec.files.push(ImageFile::from_bytes("a", "/data", 0o644));
            spec.volumes.push("/data".into());
            spec
        };
        for spec in [file_under_file, same_path_twice, volume_on_file] {
            let error = LayerPlan::from_spec(&spec).unwrap_err();
            assert!(
                matches!(error, Error::ConflictingImagePath { .. }),
                "{error}"
            );
        }
    }

    #[test]
    fn a_missing_source_file_is_named() {
        let mut spec = spec();
        spec.files.push(ImageFile::from_path(
            "/nonexistent/jim-web",
            "/app/jim-web",
            0o755,
        ));
        let error = LayerPlan::from_spec(&spec).unwrap_err();
        assert_eq!(error.to_string(), "cannot read `/nonexistent/jim-web`");
    }
}
