//! The release archive: the bundle folder as a gzip-compressed tar whose bytes depend on the
//! folder's contents alone. Members are owned by 0/0 with empty names, carry fixed modes and
//! one modification time, and come in a fixed order: the checksum manifest and its signature
//! first, so that a reader can verify every later member while it streams, then
//! `bundle.json`, then everything else sorted by path.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use flate2::{Compression, GzBuilder};
use jim_checksums::{HashingWriter, Sha256Digest};
use tar::{EntryType, Header};

use crate::Error;
use crate::layout::{BUNDLE_MANIFEST_FILE, CHECKSUMS_FILE, SIGNATURE_FILE};
use crate::progress::Reporter;

/// Mode of folders and of files executable in the tree.
const EXECUTABLE_MODE: u32 = 0o755;
/// Mode of every other file.
const FILE_MODE: u32 = 0o644;

/// One member of the archive, before it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Member {
    /// The path inside the bundle folder, `/`-separated; empty for the folder itself.
    relative: String,
    source: PathBuf,
    kind: MemberKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MemberKind {
    Folder,
    File { executable: bool, size: u64 },
}

/// What was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrittenArchive {
    /// The SHA-256 of the `.tar.gz`.
    pub digest: Sha256Digest,
    /// Its size in bytes.
    pub size: u64,
}

/// The total size of the files under `root`, for progress.
pub fn tree_size(root: &Path) -> Result<u64, Error> {
    Ok(members(root)?
        .iter()
        .map(|member| match member.kind {
            MemberKind::File { size, .. } => size,
            MemberKind::Folder => 0,
        })
        .sum())
}

/// Writes the folder `root` as `output` (a `.tar.gz`), every member under `top_folder/`, every
/// time set to `mtime`.
pub fn write_archive(
    root: &Path,
    top_folder: &str,
    mtime: u64,
    output: &Path,
    reporter: &dyn Reporter,
) -> Result<WrittenArchive, Error> {
    let write_error = |source| Error::Write {
        path: output.to_owned(),
        source,
    };
    let members = members(root)?;

    let file = File::create(output).map_err(write_error)?;
    let hashing = HashingWriter::new(BufWriter::with_capacity(1024 * 1024, file));
    // No file name and time zero in the gzip header: nothing about this build leaks into it.
    let encoder = GzBuilder::new()
        .mtime(0)
        .write(hashing, Compression::default());
    let mut builder = tar::Builder::new(encoder);

    for member in &members {
        append_member(&mut builder, member, top_folder, mtime, reporter)?;
    }

    let encoder = builder.into_inner().map_err(write_error)?;
    let hashing = encoder.finish().map_err(write_error)?;
    let size = hashing.byte_count();
    let (mut buffered, digest) = hashing.finish();
    buffered.flush().map_err(write_error)?;
    fs::set_permissions(output, fs::Permissions::from_mode(FILE_MODE)).map_err(write_error)?;
    Ok(WrittenArchive { digest, size })
}

/// Appends one member with its fixed header.
fn append_member<W: Write>(
    builder: &mut tar::Builder<W>,
    member: &Member,
    top_folder: &str,
    mtime: u64,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    let read_error = |source| Error::Read {
        path: member.source.clone(),
        source,
    };
    let mut header = Header::new_gnu();
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(mtime);

    match member.kind {
        MemberKind::Folder => {
            let name = if member.relative.is_empty() {
                format!("{top_folder}/")
            } else {
                format!("{top_folder}/{}/", member.relative)
            };
            header.set_entry_type(EntryType::Directory);
            header.set_mode(EXECUTABLE_MODE);
            header.set_size(0);
            builder
                .append_data(&mut header, name, io::empty())
                .map_err(read_error)
        }
        MemberKind::File { executable, size } => {
            let name = format!("{top_folder}/{}", member.relative);
            header.set_entry_type(EntryType::Regular);
            header.set_mode(if executable {
                EXECUTABLE_MODE
            } else {
                FILE_MODE
            });
            header.set_size(size);
            let file = File::open(&member.source).map_err(read_error)?;
            // The header states the size, so a file that changes while it is copied would
            // corrupt the archive: the reader is capped and the count checked.
            let mut reader = ProgressReader {
                inner: io::Read::take(file, size),
                reporter,
                read: 0,
            };
            builder
                .append_data(&mut header, name, &mut reader)
                .map_err(read_error)?;
            if reader.read != size {
                return Err(Error::SourceChanged {
                    path: member.source.clone(),
                    expected: size,
                });
            }
            Ok(())
        }
    }
}

/// A reader that tells a reporter about what it reads.
struct ProgressReader<'a, R> {
    inner: R,
    reporter: &'a dyn Reporter,
    read: u64,
}

impl<R: io::Read> io::Read for ProgressReader<'_, R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let count = self.inner.read(buffer)?;
        self.read += count as u64;
        self.reporter.advance(count as u64);
        Ok(count)
    }
}

/// Every member in archive order.
fn members(root: &Path) -> Result<Vec<Member>, Error> {
    let mut all = vec![Member {
        relative: String::new(),
        source: root.to_owned(),
        kind: MemberKind::Folder,
    }];
    walk(root, "", &mut all)?;

    // The manifest, its signature and bundle.json lead; everything else follows by path.
    let rank = |member: &Member| match member.relative.as_str() {
        CHECKSUMS_FILE => 0,
        SIGNATURE_FILE => 1,
        BUNDLE_MANIFEST_FILE => 2,
        _ => 3,
    };
    all.sort_by(|left, right| {
        rank(left)
            .cmp(&rank(right))
            .then_with(|| left.relative.cmp(&right.relative))
    });
    Ok(all)
}

/// Adds the members below `folder`, whose bundle path is `prefix`.
fn walk(folder: &Path, prefix: &str, members: &mut Vec<Member>) -> Result<(), Error> {
    let read_error = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Read { path, source }
    };
    for entry in fs::read_dir(folder).map_err(read_error(folder))? {
        let entry = entry.map_err(read_error(folder))?;
        let path = entry.path();
        let name = entry
            .file_name()
            .into_string()
            .map_err(|_| Error::NonUtf8Path { path: path.clone() })?;
        let relative = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let metadata = fs::symlink_metadata(&path).map_err(read_error(&path))?;
        if metadata.is_dir() {
            members.push(Member {
                relative: relative.clone(),
                source: path.clone(),
                kind: MemberKind::Folder,
            });
            walk(&path, &relative, members)?;
        } else if metadata.is_file() {
            let executable = metadata.permissions().mode() & 0o111 != 0;
            members.push(Member {
                relative,
                source: path,
                kind: MemberKind::File {
                    executable,
                    size: metadata.len(),
                },
            });
        } else {
            return Err(Error::UnsupportedFileType { path });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use flate2::read::GzDecoder;

    use super::*;
    use crate::progress::Silent;

    fn tree(root: &Path) {
        fs::create_dir_all(root.join("docs")).unwrap();
        fs::write(root.join("docs/INSTALL.md"), "install\n").unwrap();
        fs::write(root.join("bundle.json"), "{}\n").unwrap();
        fs::write(root.join("checksums.sha256"), "x\n").unwrap();
        fs::write(root.join("checksums.sha256.minisig"), "sig\n").unwrap();
        fs::write(root.join("jim-install"), "binary").unwrap();
        fs::set_permissions(root.join("jim-install"), fs::Permissions::from_mode(0o700)).unwrap();
        fs::write(root.join("README.txt"), "readme\n").unwrap();
    }

    #[test]
    fn members_lead_with_the_manifest_and_have_fixed_headers() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("tree");
        tree(&root);
        let output = dir.path().join("out.tar.gz");
        let written =
            write_archive(&root, "jim-release-1.0.0", 1_767_225_600, &output, &Silent).unwrap();
        let bytes = fs::read(&output).unwrap();
        assert_eq!(written.digest, Sha256Digest::of_bytes(&bytes));
        assert_eq!(written.size, bytes.len() as u64);
        // The gzip header: no name flag, time zero.
        assert_eq!(bytes[3] & 0x08, 0, "no file name in the gzip header");
        assert_eq!(&bytes[4..8], &[0, 0, 0, 0]);

        let mut archive = tar::Archive::new(GzDecoder::new(bytes.as_slice()));
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let header = entry.header();
            assert_eq!((header.uid().unwrap(), header.gid().unwrap()), (0, 0));
            assert_eq!(header.username().unwrap(), Some(""));
            assert_eq!(header.mtime().unwrap(), 1_767_225_600);
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            seen.push((name, entry.header().mode().unwrap()));
            entry.read_to_end(&mut Vec::new()).unwrap();
        }
        let expected = [
            ("jim-release-1.0.0/checksums.sha256", 0o644),
            ("jim-release-1.0.0/checksums.sha256.minisig", 0o644),
            ("jim-release-1.0.0/bundle.json", 0o644),
            ("jim-release-1.0.0/", 0o755),
            ("jim-release-1.0.0/README.txt", 0o644),
            ("jim-release-1.0.0/docs/", 0o755),
            ("jim-release-1.0.0/docs/INSTALL.md", 0o644),
            ("jim-release-1.0.0/jim-install", 0o755),
        ];
        let expected: Vec<(String, u32)> = expected
            .iter()
            .map(|(name, mode)| (name.to_string(), *mode))
            .collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn the_same_tree_gives_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let (first, second) = (dir.path().join("a"), dir.path().join("b"));
        tree(&first);
        std::thread::sleep(std::time::Duration::from_millis(20));
        tree(&second);
        let write = |root: &Path, name: &str| {
            let output = dir.path().join(name);
            write_archive(root, "jim-release-1.0.0", 0, &output, &Silent).unwrap();
            fs::read(output).unwrap()
        };
        assert!(write(&first, "1.tar.gz") == write(&second, "2.tar.gz"));
    }

    #[test]
    fn symbolic_links_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("tree");
        tree(&root);
        std::os::unix::fs::symlink("/etc/passwd", root.join("docs/link")).unwrap();
        let output = dir.path().join("out.tar.gz");
        let error = write_archive(&root, "x", 0, &output, &Silent).unwrap_err();
        assert!(
            matches!(error, Error::UnsupportedFileType { .. }),
            "{error}"
        );
    }
}
