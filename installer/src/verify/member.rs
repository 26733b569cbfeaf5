//! Judging one tar member before any of its bytes are used: is its name a plain path under the
//! bundle's single top folder, and is it a regular file or a folder?
//!
//! The `tar` crate's own `unpack` skips `..` members, strips a leading `/` and creates links
//! that point outside the tree, so the installer never calls it: every member passes through
//! [`MemberJudge::judge`] instead, and anything unusual is refused rather than skipped.

use std::collections::HashSet;
use std::fmt;
use std::io::Read;

use jim_bundle::layout::{RELEASE_NAME_PREFIX, ReleaseVersion};
use tar::{Entry, EntryType};

use crate::verify::VerifyError;

/// What a member is, once it has been found safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MemberKind {
    /// A folder.
    Folder,
    /// A regular file; `executable` when any execute bit is set in its mode.
    File {
        /// Whether it is written with mode 0755 rather than 0644.
        executable: bool,
    },
}

/// A member found safe, named relative to the bundle root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Member {
    /// The name as stored in the archive, for messages.
    pub(crate) name: String,
    /// The path below the top folder, `/`-separated; empty for the top folder itself.
    pub(crate) path: String,
    /// A folder or a regular file.
    pub(crate) kind: MemberKind,
    /// The size the header declares.
    pub(crate) size: u64,
}

/// Judges members in archive order and remembers what it has seen, so that a second top
/// folder or a repeated name is caught.
#[derive(Debug, Default)]
pub(crate) struct MemberJudge {
    top_folder: Option<String>,
    seen: HashSet<String>,
}

impl MemberJudge {
    /// The top folder named by the first member, once there is one.
    pub(crate) fn top_folder(&self) -> Option<&str> {
        self.top_folder.as_deref()
    }

    /// Refuses the member unless it is a regular file or folder with a plain name under the
    /// top folder, seen for the first time.
    pub(crate) fn judge<R: Read>(&mut self, entry: &Entry<'_, R>) -> Result<Member, VerifyError> {
        let raw_name = entry.path_bytes();
        let name = String::from_utf8_lossy(&raw_name).into_owned();
        let refuse = |reason| VerifyError::UnsafeMember {
            member: name.clone(),
            reason,
        };
        if std::str::from_utf8(&raw_name).is_err() {
            return Err(refuse(UnsafeReason::NotUtf8));
        }

        let header = entry.header();
        let kind = match member_kind(header.entry_type()) {
            Ok(MemberKind::File { .. }) => {
                let mode = header
                    .mode()
                    .map_err(|_| refuse(UnsafeReason::UnreadableHeader { field: "mode" }))?;
                MemberKind::File {
                    executable: mode & 0o111 != 0,
                }
            }
            Ok(kind) => kind,
            Err(reason) => {
                // A link is refused whatever its name, but an unsafe name is the graver
                // finding, so it is reported first; links are shown with their target.
                check_name(&name, false).map_err(&refuse)?;
                return Err(refuse(link_reason(entry, reason)));
            }
        };

        let components = check_name(&name, kind == MemberKind::Folder).map_err(&refuse)?;
        let path = self.place(&name, &components, kind)?;
        if !self.seen.insert(path.clone()) {
            return Err(refuse(UnsafeReason::Duplicate));
        }
        Ok(Member {
            name,
            path,
            kind,
            size: entry.size(),
        })
    }

    /// Puts the member under the top folder (the first member sets it) and gives its path
    /// below it.
    fn place(
        &mut self,
        name: &str,
        components: &[&str],
        kind: MemberKind,
    ) -> Result<String, VerifyError> {
        let (first, rest) = components
            .split_first()
            .ok_or_else(|| VerifyError::UnsafeMember {
                member: name.to_owned(),
                reason: UnsafeReason::NotNormal,
            })?;
        let top = match &self.top_folder {
            Some(top) => top,
            None => {
                let version = first.strip_prefix(RELEASE_NAME_PREFIX).unwrap_or_default();
                if ReleaseVersion::parse(version).is_err() {
                    return Err(VerifyError::NotAReleaseFolder {
                        member: name.to_owned(),
                    });
                }
                self.top_folder.insert((*first).to_owned())
            }
        };
        let refuse = |reason| VerifyError::UnsafeMember {
            member: name.to_owned(),
            reason,
        };
        if first != top {
            return Err(refuse(UnsafeReason::OutsideTopFolder { top: top.clone() }));
        }
        if rest.is_empty() && kind != MemberKind::Folder {
            return Err(refuse(UnsafeReason::TopFolderNotAFolder));
        }

        let path = rest.join("/");
        if !path.is_empty()
            && path != jim_checksums::MANIFEST_FILE_NAME
            && path != jim_checksums::SIGNATURE_FILE_NAME
        {
            jim_checksums::validate_entry_path(&path).map_err(|error| match error {
                jim_checksums::Error::InvalidEntryPath { reason, .. } => {
                    refuse(UnsafeReason::InvalidName(reason))
                }
                _ => refuse(UnsafeReason::NotNormal),
            })?;
        }
        Ok(path)
    }
}

/// Maps a tar entry type to a member kind, or to the reason it is refused.
fn member_kind(entry_type: EntryType) -> Result<MemberKind, UnsafeReason> {
    match entry_type {
        EntryType::Regular => Ok(MemberKind::File { executable: false }),
        EntryType::Directory => Ok(MemberKind::Folder),
        EntryType::Symlink => Err(UnsafeReason::SymbolicLink {
            target: String::new(),
        }),
        EntryType::Link => Err(UnsafeReason::HardLink {
            target: String::new(),
        }),
        EntryType::Char => Err(UnsafeReason::Device { kind: "character" }),
        EntryType::Block => Err(UnsafeReason::Device { kind: "block" }),
        EntryType::Fifo => Err(UnsafeReason::Fifo),
        other => Err(UnsafeReason::Unsupported {
            type_byte: other.as_byte(),
        }),
    }
}

/// Fills in a link's target, which only the entry knows.
fn link_reason<R: Read>(entry: &Entry<'_, R>, reason: UnsafeReason) -> UnsafeReason {
    let target = || {
        entry
            .link_name_bytes()
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    };
    match reason {
        UnsafeReason::SymbolicLink { .. } => UnsafeReason::SymbolicLink { target: target() },
        UnsafeReason::HardLink { .. } => UnsafeReason::HardLink { target: target() },
        other => other,
    }
}

/// Splits a member name into plain components, refusing absolute names, `..`, `.` and empty
/// components. A folder may end with one `/`.
fn check_name(name: &str, is_folder: bool) -> Result<Vec<&str>, UnsafeReason> {
    if name.starts_with('/') {
        return Err(UnsafeReason::AbsolutePath);
    }
    let trimmed = match name.strip_suffix('/') {
        Some(trimmed) if is_folder => trimmed,
        _ => name,
    };
    let components: Vec<&str> = trimmed.split('/').collect();
    if components.contains(&"..") {
        return Err(UnsafeReason::ParentComponent);
    }
    if components
        .iter()
        .any(|part| part.is_empty() || *part == ".")
    {
        return Err(UnsafeReason::NotNormal);
    }
    Ok(components)
}

/// Why an archive member is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnsafeReason {
    /// The name starts with `/`.
    AbsolutePath,
    /// The name has a `..` component.
    ParentComponent,
    /// The name has an empty or `.` component.
    NotNormal,
    /// The name cannot be a bundle path (the checksum crate's reason).
    InvalidName(&'static str),
    /// The name is not valid UTF-8.
    NotUtf8,
    /// A header field cannot be read.
    UnreadableHeader {
        /// The field's name.
        field: &'static str,
    },
    /// The member is not under the archive's top folder.
    OutsideTopFolder {
        /// The top folder set by the first member.
        top: String,
    },
    /// The top folder itself is stored as something other than a folder.
    TopFolderNotAFolder,
    /// A symbolic link.
    SymbolicLink {
        /// Where it points.
        target: String,
    },
    /// A hard link.
    HardLink {
        /// The member it links to.
        target: String,
    },
    /// A character or block device node.
    Device {
        /// `character` or `block`.
        kind: &'static str,
    },
    /// A named pipe.
    Fifo,
    /// Any other tar entry type.
    Unsupported {
        /// The entry type byte.
        type_byte: u8,
    },
    /// The name was already used by an earlier member.
    Duplicate,
}

impl fmt::Display for UnsafeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const ONLY_FILES: &str = "a JIM bundle holds only regular files and folders";
        const NO_LINKS: &str = "a JIM bundle holds no links, so every link is refused";
        match self {
            UnsafeReason::AbsolutePath => {
                write!(
                    f,
                    "it is an absolute path, which could write anywhere on this host"
                )
            }
            UnsafeReason::ParentComponent => {
                write!(
                    f,
                    "it has a `..` component, which could write outside the destination"
                )
            }
            UnsafeReason::NotNormal => {
                write!(
                    f,
                    "it has an empty or `.` component; bundle paths are plain"
                )
            }
            UnsafeReason::InvalidName(reason) => write!(f, "{reason}"),
            UnsafeReason::NotUtf8 => write!(f, "the name is not valid UTF-8"),
            UnsafeReason::UnreadableHeader { field } => {
                write!(f, "the `{field}` field of its tar header cannot be read")
            }
            UnsafeReason::OutsideTopFolder { top } => write!(
                f,
                "it lies outside the bundle's top folder `{top}/`; a bundle has a single top folder"
            ),
            UnsafeReason::TopFolderNotAFolder => {
                write!(
                    f,
                    "the bundle's top folder is stored as something other than a folder"
                )
            }
            UnsafeReason::SymbolicLink { target } => {
                write!(f, "it is a symbolic link to `{target}`; {NO_LINKS}")
            }
            UnsafeReason::HardLink { target } => {
                write!(f, "it is a hard link to `{target}`; {NO_LINKS}")
            }
            UnsafeReason::Device { kind } => write!(f, "it is a {kind} device node; {ONLY_FILES}"),
            UnsafeReason::Fifo => write!(f, "it is a named pipe (FIFO); {ONLY_FILES}"),
            UnsafeReason::Unsupported { type_byte } => write!(
                f,
                "its tar entry type `{}` is not supported; {ONLY_FILES}",
                char::from(*type_byte).escape_default()
            ),
            UnsafeReason::Duplicate => write!(
                f,
                "it appears twice in the archive, so one copy could hide the other"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_plain_relative_paths() {
        assert_eq!(check_name("a/b", false).unwrap(), ["a", "b"]);
        assert_eq!(check_name("a/b/", true).unwrap(), ["a", "b"]);
        assert_eq!(
            check_name("/tmp/evil", false),
            Err(UnsafeReason::AbsolutePath)
        );
        assert_eq!(
            check_name("a/../evil", false),
            Err(UnsafeReason::ParentComponent)
        );
        assert_eq!(check_name("..", true), Err(UnsafeReason::ParentComponent));
        for bad in ["a//b", "./a", "a/.", "a/b/", ""] {
            assert_eq!(
                check_name(bad, false),
                Err(UnsafeReason::NotNormal),
                "{bad}"
            );
        }
    }

    #[test]
    fn every_link_and_special_type_is_refused() {
        assert!(matches!(
            member_kind(EntryType::Symlink),
            Err(UnsafeReason::SymbolicLink { .. })
        ));
        assert!(matches!(
            member_kind(EntryType::Link),
            Err(UnsafeReason::HardLink { .. })
        ));
        assert_eq!(
            member_kind(EntryType::Block),
            Err(UnsafeReason::Device { kind: "block" })
        );
        assert_eq!(member_kind(EntryType::Fifo), Err(UnsafeReason::Fifo));
        assert_eq!(
            member_kind(EntryType::XGlobalHeader),
            Err(UnsafeReason::Unsupported { type_byte: b'g' })
        );
        assert_eq!(member_kind(EntryType::Directory), Ok(MemberKind::Folder));
    }

    #[test]
    fn unsupported_type_bytes_are_shown_printable() {
        let reason = UnsafeReason::Unsupported { type_byte: 0x01 };
        assert!(
            reason
                .to_string()
                .starts_with("its tar entry type `\\u{1}`"),
            "{reason}"
        );
    }
}
