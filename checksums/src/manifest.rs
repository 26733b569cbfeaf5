//! The `checksums.sha256` manifest, byte for byte as GNU `sha256sum` writes it.
//!
//! One line per file: the digest in lowercase hexadecimal, two spaces, and the path relative
//! to the bundle root with `/` separators, ending in LF. Lines are sorted by path in byte
//! order, so the same tree always renders the same bytes. The manifest never lists itself nor
//! its signature.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fs;
use std::path::Path;

use crate::{Error, MalformedLine, Sha256Digest};

/// The manifest's file name at the bundle root.
pub const MANIFEST_FILE_NAME: &str = "checksums.sha256";

/// The file name of the manifest's minisign signature, beside the manifest.
pub const SIGNATURE_FILE_NAME: &str = "checksums.sha256.minisig";

/// Length of a SHA-256 digest in hexadecimal characters.
const DIGEST_HEX_LENGTH: usize = 64;

/// The digests of every file in a bundle, keyed by path relative to the bundle root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChecksumManifest {
    entries: BTreeMap<String, Sha256Digest>,
}

impl ChecksumManifest {
    /// An empty manifest.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file. The path must be relative, use `/`, and have no `.`, `..` or empty
    /// components; adding the same path twice is refused.
    pub fn insert(&mut self, path: &str, digest: Sha256Digest) -> Result<(), Error> {
        validate_entry_path(path)?;
        match self.entries.entry(path.to_owned()) {
            Entry::Occupied(_) => Err(Error::DuplicateEntry {
                path: path.to_owned(),
            }),
            Entry::Vacant(slot) => {
                slot.insert(digest);
                Ok(())
            }
        }
    }

    /// The digest listed for a path, if the path is listed.
    pub fn get(&self, path: &str) -> Option<&Sha256Digest> {
        self.entries.get(path)
    }

    /// The listed paths and their digests, in the manifest's order (path bytes).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Sha256Digest)> {
        self.entries
            .iter()
            .map(|(path, digest)| (path.as_str(), digest))
    }

    /// How many files are listed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no file is listed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The manifest text, exactly as `sha256sum` would write it for these files.
    pub fn render(&self) -> String {
        let mut text = String::with_capacity(self.entries.len() * (DIGEST_HEX_LENGTH + 40));
        for (path, digest) in &self.entries {
            text.push_str(&digest.to_hex());
            text.push_str("  ");
            text.push_str(path);
            text.push('\n');
        }
        text
    }

    /// Parses a manifest. Any line that `sha256sum -c` would not check exactly as intended is
    /// refused with its 1-based line number and the reason. The binary marker (` *`) is
    /// accepted; a missing LF after the last line is tolerated, as `sha256sum` does.
    pub fn parse(text: &[u8]) -> Result<Self, Error> {
        let mut manifest = Self::new();
        let mut first_lines: BTreeMap<String, usize> = BTreeMap::new();

        // A final LF ends the last line rather than starting an empty one.
        let body = text.strip_suffix(b"\n").unwrap_or(text);
        if text.is_empty() {
            return Ok(manifest);
        }

        for (index, raw_line) in body.split(|&byte| byte == b'\n').enumerate() {
            let line = index + 1;
            let malformed = |reason| Error::MalformedLine { line, reason };
            let (digest, path) = parse_line(raw_line).map_err(malformed)?;
            if let Some(&first_line) = first_lines.get(path) {
                return Err(malformed(MalformedLine::Duplicate {
                    path: path.to_owned(),
                    first_line,
                }));
            }
            first_lines.insert(path.to_owned(), line);
            manifest.entries.insert(path.to_owned(), digest);
        }
        Ok(manifest)
    }

    /// Reads and parses a manifest file; errors name the file and the line.
    pub fn read(path: &Path) -> Result<Self, Error> {
        let text = fs::read(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).map_err(|error| match error {
            Error::MalformedLine { line, reason } => Error::InvalidManifestFile {
                path: path.to_owned(),
                line,
                reason,
            },
            other => other,
        })
    }

    /// Writes the rendered manifest to a file.
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        fs::write(path, self.render()).map_err(|source| Error::Write {
            path: path.to_owned(),
            source,
        })
    }
}

/// Checks that a path can be listed: relative, `/`-separated, no `.`, `..` or empty
/// components, nothing `sha256sum` would have to escape, and not the manifest or its signature.
pub fn validate_entry_path(path: &str) -> Result<(), Error> {
    if let Some(reason) = path_problem(path) {
        return Err(Error::InvalidEntryPath {
            path: path.to_owned(),
            reason,
        });
    }
    if lists_manifest(path) {
        return Err(Error::InvalidEntryPath {
            path: path.to_owned(),
            reason: "the manifest never lists itself or its signature",
        });
    }
    Ok(())
}

/// Whether a path names the manifest or its signature at the bundle root.
fn lists_manifest(path: &str) -> bool {
    path == MANIFEST_FILE_NAME || path == SIGNATURE_FILE_NAME
}

/// Why a path cannot stand in a manifest, or `None` when it can.
fn path_problem(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        return Some("the path is empty");
    }
    if path.starts_with('/') {
        return Some("absolute paths are not allowed; paths are relative to the bundle root");
    }
    if path.contains('\\') {
        return Some("backslashes are not allowed (sha256sum would escape them)");
    }
    if path.contains(['\n', '\r', '\0']) {
        return Some("line breaks and NUL characters are not allowed");
    }
    for component in path.split('/') {
        match component {
            "" => return Some("empty components (`//` or a trailing `/`) are not allowed"),
            "." => return Some("`.` components are not allowed"),
            ".." => return Some("`..` components are not allowed"),
            _ => {}
        }
    }
    None
}

/// Splits one line (without its LF) into digest and path, or says why it cannot.
fn parse_line(line: &[u8]) -> Result<(Sha256Digest, &str), MalformedLine> {
    if line.is_empty() {
        return Err(MalformedLine::Empty);
    }
    if line.ends_with(b"\r") {
        return Err(MalformedLine::CarriageReturn);
    }
    let line = std::str::from_utf8(line).map_err(|_| MalformedLine::NotUtf8)?;
    if line.starts_with('\\') {
        return Err(MalformedLine::EscapedFileName);
    }

    let digest_text = line
        .get(..DIGEST_HEX_LENGTH)
        .ok_or(MalformedLine::InvalidDigest)?;
    let digest = Sha256Digest::from_hex(digest_text).map_err(|_| MalformedLine::InvalidDigest)?;

    let rest = &line[DIGEST_HEX_LENGTH..];
    if rest.trim().is_empty() {
        return Err(MalformedLine::MissingPath);
    }
    let path = rest
        .strip_prefix("  ")
        .or_else(|| rest.strip_prefix(" *"))
        .ok_or(MalformedLine::InvalidSeparator)?;

    if let Some(reason) = path_problem(path) {
        return Err(MalformedLine::InvalidPath {
            path: path.to_owned(),
            reason,
        });
    }
    if lists_manifest(path) {
        return Err(MalformedLine::ListsManifest {
            path: path.to_owned(),
        });
    }
    Ok((digest, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn digest(hex: &str) -> Sha256Digest {
        Sha256Digest::from_hex(hex).unwrap()
    }

    fn parse_error(text: &str) -> (usize, MalformedLine) {
        match ChecksumManifest::parse(text.as_bytes()) {
            Err(Error::MalformedLine { line, reason }) => (line, reason),
            other => panic!("expected a malformed line, got {other:?}"),
        }
    }

    #[test]
    fn renders_sorted_by_path_bytes_with_two_spaces_and_lf() {
        let mut manifest = ChecksumManifest::new();
        manifest.insert("docs/README.md", digest(ABC)).unwrap();
        manifest.insert("Z-upper.txt", digest(EMPTY)).unwrap();
        manifest.insert("a-b", digest(EMPTY)).unwrap();
        manifest.insert("a/b", digest(ABC)).unwrap();
        let expected =
            format!("{EMPTY}  Z-upper.txt\n{EMPTY}  a-b\n{ABC}  a/b\n{ABC}  docs/README.md\n");
        assert_eq!(manifest.render(), expected);
    }

    #[test]
    fn render_then_parse_round_trips() {
        let mut manifest = ChecksumManifest::new();
        manifest
            .insert("docker-images/jim-web.tar", digest(ABC))
            .unwrap();
        manifest
            .insert("name with spaces .txt", digest(EMPTY))
            .unwrap();
        let parsed = ChecksumManifest::parse(manifest.render().as_bytes()).unwrap();
        assert_eq!(parsed, manifest);
        assert_eq!(parsed.get("name with spaces .txt"), Some(&digest(EMPTY)));
    }

    #[test]
    fn parse_accepts_binary_marker_and_missing_final_newline() {
        let text = format!("{ABC} *bin/jim-install\n{EMPTY}  empty");
        let manifest = ChecksumManifest::parse(text.as_bytes()).unwrap();
        assert_eq!(manifest.len(), 2);
        assert_eq!(manifest.get("bin/jim-install"), Some(&digest(ABC)));
        assert_eq!(manifest.get("empty"), Some(&digest(EMPTY)));
    }

    #[test]
    fn parse_of_empty_text_is_an_empty_manifest() {
        assert!(ChecksumManifest::parse(b"").unwrap().is_empty());
    }

    #[test]
    fn parse_names_line_and_reason_for_malformed_lines() {
        let good = format!("{ABC}  good\n");
        let cases: Vec<(String, MalformedLine)> = vec![
            (format!("{good}\n"), MalformedLine::Empty),
            (
                format!("{good}{ABC}  crlf\r\n"),
                MalformedLine::CarriageReturn,
            ),
            (
                format!("{good}\\{ABC}  escaped\n"),
                MalformedLine::EscapedFileName,
            ),
            (
                format!("{good}{}  upper\n", ABC.to_uppercase()),
                MalformedLine::InvalidDigest,
            ),
            (format!("{good}abc  short\n"), MalformedLine::InvalidDigest),
            (
                format!("{good}{ABC} one-space\n"),
                MalformedLine::InvalidSeparator,
            ),
            (format!("{good}{ABC}\tx\n"), MalformedLine::InvalidSeparator),
            (format!("{good}{ABC}  \n"), MalformedLine::MissingPath),
            (
                format!("{good}SHA256 (x) = {ABC}\n"),
                MalformedLine::InvalidDigest,
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_error(&text), (2, expected), "input: {text:?}");
        }
    }

    #[test]
    fn parse_rejects_absolute_and_parent_paths() {
        let (line, reason) = parse_error(&format!("{ABC}  /etc/passwd\n"));
        assert_eq!(line, 1);
        assert!(
            matches!(reason, MalformedLine::InvalidPath { ref path, .. } if path == "/etc/passwd")
        );

        for bad in ["../escape", "a/../b", "a/./b", "a//b", "a/", "a\\b"] {
            let (line, reason) = parse_error(&format!("{EMPTY}  ok\n{ABC}  {bad}\n"));
            assert_eq!(line, 2, "{bad}");
            assert!(
                matches!(reason, MalformedLine::InvalidPath { .. }),
                "{bad}: {reason}"
            );
        }
    }

    #[test]
    fn parse_rejects_duplicates_naming_the_first_line() {
        let text = format!("{ABC}  a\n{EMPTY}  b\n{EMPTY}  a\n");
        assert_eq!(
            parse_error(&text),
            (
                3,
                MalformedLine::Duplicate {
                    path: "a".into(),
                    first_line: 1
                }
            )
        );
    }

    #[test]
    fn parse_rejects_the_manifest_listing_itself() {
        for name in [MANIFEST_FILE_NAME, SIGNATURE_FILE_NAME] {
            let (line, reason) = parse_error(&format!("{ABC}  {name}\n"));
            assert_eq!(line, 1);
            assert_eq!(reason, MalformedLine::ListsManifest { path: name.into() });
        }
        // The same names deeper in the tree are ordinary files.
        let nested = format!("{ABC}  sub/{MANIFEST_FILE_NAME}\n");
        assert_eq!(ChecksumManifest::parse(nested.as_bytes()).unwrap().len(), 1);
    }

    #[test]
    fn parse_error_message_reads_well() {
        let error = ChecksumManifest::parse(format!("{ABC}  ../x\n").as_bytes()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "line 1 of the checksum manifest is malformed: path `../x`: `..` components are \
             not allowed"
        );
    }

    #[test]
    fn insert_refuses_bad_paths_and_duplicates() {
        let mut manifest = ChecksumManifest::new();
        assert!(manifest.insert("/abs", digest(ABC)).is_err());
        assert!(manifest.insert(MANIFEST_FILE_NAME, digest(ABC)).is_err());
        manifest.insert("a", digest(ABC)).unwrap();
        let error = manifest.insert("a", digest(EMPTY)).unwrap_err();
        assert!(matches!(error, Error::DuplicateEntry { ref path } if path == "a"));
    }

    #[test]
    fn read_names_the_file_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MANIFEST_FILE_NAME);
        fs::write(&path, format!("{ABC}  ok\nnot a line\n")).unwrap();
        let error = ChecksumManifest::read(&path).unwrap_err();
        assert!(matches!(error, Error::InvalidManifestFile { line: 2, .. }));
        assert!(error.to_string().contains(&path.display().to_string()));
    }
}
