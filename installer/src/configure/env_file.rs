//! A `.env` file edited in place: every line the user or the template wrote (comments, blank
//! lines, order, keys the installer does not know) survives, and only the values that are set
//! change.

use std::fs::{self, File, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::ConfigureError;
use super::dotenv::{self, ParsedEntry};

/// The mode of `.env` and `.env.previous`: they hold passwords, so only the owner reads them.
const SECRET_FILE_MODE: u32 = 0o600;

/// One physical line of the file, or several when a quoted value spans lines.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    /// The text exactly as read (or as written by [`EnvFile::set`]), without the final newline.
    text: String,
    /// The entry on this line; `None` for comments, blank lines and text that is not an entry.
    entry: Option<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    key: String,
    value: String,
    export: bool,
}

/// The contents of a `.env` file (or its `.env.example` template), line by line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvFile {
    lines: Vec<Line>,
}

impl EnvFile {
    /// Reads `text` as Docker Compose reads a `.env` file. Lines that are not entries are kept
    /// as they are; nothing is refused.
    pub fn parse(text: &str) -> Self {
        let text = text.strip_suffix('\n').unwrap_or(text);
        let physical: Vec<&str> = if text.is_empty() {
            Vec::new()
        } else {
            text.split('\n').collect()
        };

        let mut lines = Vec::new();
        let mut index = 0;
        while index < physical.len() {
            match dotenv::parse_entry(&physical[index..]) {
                Some(ParsedEntry {
                    key,
                    value,
                    export,
                    line_count,
                }) => {
                    lines.push(Line {
                        text: physical[index..index + line_count].join("\n"),
                        entry: Some(Entry { key, value, export }),
                    });
                    index += line_count;
                }
                None => {
                    lines.push(Line {
                        text: physical[index].to_string(),
                        entry: None,
                    });
                    index += 1;
                }
            }
        }
        Self { lines }
    }

    /// Reads and parses the file at `path`.
    pub fn read(path: &Path) -> Result<Self, ConfigureError> {
        let text = fs::read_to_string(path).map_err(|source| ConfigureError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self::parse(&text))
    }

    /// The value of `key` as Compose would read it (the last entry wins, as in Compose), or
    /// `None` when the key is absent or only commented out. Variable references are not expanded.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries()
            .filter(|entry| entry.key == key)
            .last()
            .map(|entry| entry.value.as_str())
    }

    /// The keys that have an entry, in file order, each once.
    pub fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = Vec::new();
        for entry in self.entries() {
            if !keys.contains(&entry.key.as_str()) {
                keys.push(&entry.key);
            }
        }
        keys
    }

    /// Sets `key` to `value` and returns whether the value changed. The entry is replaced where
    /// it stands (every entry, if the key appears more than once); otherwise a commented-out
    /// `# KEY=` line becomes the entry; otherwise the entry is appended. An entry whose value is
    /// already `value` keeps its text as written.
    ///
    /// `key` must be a variable name (letters, digits and `_`, not starting with a digit).
    pub fn set(&mut self, key: &str, value: &str) -> bool {
        debug_assert!(dotenv::is_valid_key(key), "`{key}` is not a variable name");
        let previous = self.get(key).map(str::to_string);

        let mut found = false;
        for line in &mut self.lines {
            if let Some(entry) = &mut line.entry
                && entry.key == key
            {
                found = true;
                if entry.value != value {
                    let prefix = if entry.export { "export " } else { "" };
                    line.text = format!("{prefix}{key}={}", dotenv::quote_value(value));
                    entry.value = value.to_string();
                }
            }
        }

        if !found {
            let new_line = Line {
                text: format!("{key}={}", dotenv::quote_value(value)),
                entry: Some(Entry {
                    key: key.to_string(),
                    value: value.to_string(),
                    export: false,
                }),
            };
            let commented = self.lines.iter().position(|line| {
                line.entry.is_none() && dotenv::is_commented_entry(&line.text, key)
            });
            match commented {
                Some(index) => self.lines[index] = new_line,
                None => self.lines.push(new_line),
            }
        }

        previous.as_deref() != Some(value)
    }

    /// The file's text, every line ending with a newline.
    pub fn render(&self) -> String {
        let mut text = String::new();
        for line in &self.lines {
            text.push_str(&line.text);
            text.push('\n');
        }
        text
    }

    /// Writes the file to `path` so that no reader ever sees a partial file: the text goes to a
    /// temporary file in the same folder (mode 0600) and is flushed to disk; the current file, if
    /// any, is kept as `<name>.previous` (mode 0600); then the new file is renamed into place.
    pub fn write_atomic(&self, path: &Path) -> Result<(), ConfigureError> {
        let write_error = |source| ConfigureError::Write {
            path: path.to_path_buf(),
            source,
        };
        let folder = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };

        if path.exists() {
            let previous = previous_path(path);
            let old = fs::read(path).map_err(|source| ConfigureError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            replace_file(folder, &previous, &old).map_err(|source| ConfigureError::Write {
                path: previous.clone(),
                source,
            })?;
        }

        replace_file(folder, path, self.render().as_bytes()).map_err(write_error)?;

        // Flushing the folder makes the renames themselves survive a power cut.
        File::open(folder)
            .and_then(|handle| handle.sync_all())
            .map_err(write_error)
    }
}

impl EnvFile {
    fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.lines.iter().filter_map(|line| line.entry.as_ref())
    }
}

/// The path that keeps the file's previous contents: `.env` becomes `.env.previous`.
pub fn previous_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".previous");
    path.with_file_name(name)
}

/// Writes `contents` to a temporary file in `folder` with mode 0600, flushes it and renames it
/// over `target`.
fn replace_file(folder: &Path, target: &Path, contents: &[u8]) -> io::Result<()> {
    let mut temporary = tempfile::Builder::new()
        .prefix(".env.")
        .suffix(".tmp")
        .permissions(Permissions::from_mode(SECRET_FILE_MODE))
        .tempfile_in(folder)?;
    temporary.write_all(contents)?;
    // The umask may have narrowed the mode further, never widened it; set it exactly.
    fs::set_permissions(temporary.path(), Permissions::from_mode(SECRET_FILE_MODE))?;
    temporary.as_file().sync_all()?;
    temporary.persist(target).map_err(|error| error.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "\
# Top comment

DOCKER_REGISTRY=
JIM_DB_PASSWORD=CHANGE_ME
# JIM_INFRASTRUCTURE_API_KEY=
UNKNOWN_KEY='kept $as is' # with a note
export EXPORTED=1
JIM_SSO_MV_ATTRIBUTE=\"Subject Identifier\"
not an entry at all
";

    #[test]
    fn unchanged_file_renders_byte_for_byte() {
        assert_eq!(EnvFile::parse(TEMPLATE).render(), TEMPLATE);
    }

    #[test]
    fn get_reads_values_and_ignores_comments() {
        let env = EnvFile::parse(TEMPLATE);
        assert_eq!(env.get("JIM_DB_PASSWORD"), Some("CHANGE_ME"));
        assert_eq!(env.get("DOCKER_REGISTRY"), Some(""));
        assert_eq!(env.get("UNKNOWN_KEY"), Some("kept $as is"));
        assert_eq!(env.get("JIM_SSO_MV_ATTRIBUTE"), Some("Subject Identifier"));
        assert_eq!(env.get("JIM_INFRASTRUCTURE_API_KEY"), None);
        assert_eq!(
            env.keys(),
            [
                "DOCKER_REGISTRY",
                "JIM_DB_PASSWORD",
                "UNKNOWN_KEY",
                "EXPORTED",
                "JIM_SSO_MV_ATTRIBUTE"
            ]
        );
    }

    #[test]
    fn set_replaces_in_place_then_uncomments_then_appends() {
        let mut env = EnvFile::parse(TEMPLATE);
        assert!(env.set("JIM_DB_PASSWORD", "s3cret"));
        assert!(env.set("JIM_INFRASTRUCTURE_API_KEY", "jim_ak_00"));
        assert!(env.set("EXPORTED", "2"));
        assert!(env.set("JIM_VERSION", "1.2.3"));
        assert!(!env.set("JIM_SSO_MV_ATTRIBUTE", "Subject Identifier"));

        let expected = TEMPLATE
            .replace("JIM_DB_PASSWORD=CHANGE_ME", "JIM_DB_PASSWORD=s3cret")
            .replace(
                "# JIM_INFRASTRUCTURE_API_KEY=",
                "JIM_INFRASTRUCTURE_API_KEY=jim_ak_00",
            )
            .replace("export EXPORTED=1", "export EXPORTED=2")
            + "JIM_VERSION=1.2.3\n";
        assert_eq!(env.render(), expected);
    }

    #[test]
    fn set_updates_every_duplicate_so_the_last_one_agrees() {
        let mut env = EnvFile::parse("A=1\nA=2\n");
        assert_eq!(env.get("A"), Some("2"));
        env.set("A", "3");
        assert_eq!(env.render(), "A=3\nA=3\n");
    }

    #[test]
    fn values_that_need_quotes_get_them() {
        let mut env = EnvFile::parse("");
        env.set("A", "two words");
        env.set("B", "p$a\"ss\\");
        assert_eq!(env.render(), "A=\"two words\"\nB=\"p\\$a\\\"ss\\\\\"\n");
        let reread = EnvFile::parse(&env.render());
        assert_eq!(reread.get("B"), Some("p$a\"ss\\"));
    }

    #[test]
    fn file_without_final_newline_gets_one() {
        assert_eq!(EnvFile::parse("A=1").render(), "A=1\n");
        assert_eq!(EnvFile::parse("").render(), "");
    }

    #[test]
    fn write_atomic_keeps_the_previous_file_with_mode_0600() {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let path = folder.path().join(".env");
        fs::write(&path, "A=old\n").expect("write the old file");
        fs::set_permissions(&path, Permissions::from_mode(0o644)).expect("chmod");

        let mut env = EnvFile::read(&path).expect("read");
        env.set("A", "new");
        env.write_atomic(&path).expect("write");

        let mode = |p: &Path| fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        let previous = folder.path().join(".env.previous");
        assert_eq!(fs::read_to_string(&path).expect("read new"), "A=new\n");
        assert_eq!(
            fs::read_to_string(&previous).expect("read previous"),
            "A=old\n"
        );
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&previous), 0o600);

        let leftovers: Vec<_> = fs::read_dir(folder.path())
            .expect("list")
            .filter_map(Result::ok)
            .filter(|entry| entry.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }

    #[test]
    fn write_atomic_into_a_missing_folder_names_the_file() {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let path = folder.path().join("missing").join(".env");
        let error = EnvFile::parse("A=1\n")
            .write_atomic(&path)
            .expect_err("no folder");
        assert!(error.to_string().contains("missing/.env"), "{error}");
    }
}
