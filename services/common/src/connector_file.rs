//! The files of File connectors: where a connected system's file may live (always inside the
//! connector files folder), how its CSV is read (the `csv` crate, UTF-8 with or without a byte
//! order mark), and its schema as the header row gives it. The web's schema import and the
//! worker's full import both go through here, so they agree on every rule.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Component, Path, PathBuf};

use sqlx::{Connection, PgConnection};
use uuid::Uuid;

/// Why a connector file could not be found, read or turned into a schema.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorFileError {
    #[error(
        "the file path `{path}` is absolute\n\
         hint: give a path relative to the connector files folder (JIM_CONNECTOR_FILES_PATH)"
    )]
    AbsolutePath { path: String },
    #[error(
        "the file path `{path}` leads outside the connector files folder\n\
         hint: give a path inside the folder, without `..`"
    )]
    OutsideRoot { path: String },
    #[error("the file path is empty\nhint: give a path relative to the connector files folder")]
    EmptyPath,
    #[error(
        "the delimiter `{value}` is not a single ASCII character\n\
         hint: use a delimiter such as `,`, `;`, `|` or a tab"
    )]
    Delimiter { value: String },
    #[error(
        "cannot open `{path}`: {source}\n\
         hint: put the file in the connector files folder and check its permissions"
    )]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the header row of `{path}`: {source}\nhint: save the file as UTF-8 CSV")]
    Header { path: PathBuf, source: csv::Error },
    #[error("`{path}` has no header row\nhint: the first line must name the attributes")]
    NoHeader { path: PathBuf },
    #[error("column {position} of the header of `{path}` has no name\nhint: name every column")]
    UnnamedColumn { path: PathBuf, position: usize },
    #[error("the header of `{path}` names `{name}` twice\nhint: give every column its own name")]
    DuplicateColumn { path: PathBuf, name: String },
    #[error(
        "the header of `{path}` has no column `{key}`, the key attribute\n\
         hint: add the column to the file, or change the connected system's key attribute"
    )]
    KeyMissing { path: PathBuf, key: String },
    #[error("no connected system has the id `{0}`")]
    ConnectedSystemNotFound(Uuid),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Resolves `relative` under `root` without touching the file system more than needed: an
/// absolute path, a `..` that climbs out, or a symbolic link whose target is outside the root
/// are refused. The file itself need not exist yet (an export creates it).
pub fn resolve_file_path(root: &Path, relative: &str) -> Result<PathBuf, ConnectorFileError> {
    let trimmed = relative.trim();
    if trimmed.is_empty() {
        return Err(ConnectorFileError::EmptyPath);
    }
    let candidate = Path::new(trimmed);
    if candidate.is_absolute() || trimmed.starts_with('\\') {
        return Err(ConnectorFileError::AbsolutePath {
            path: relative.to_string(),
        });
    }

    // A lexical walk first: `a/../b` is fine, `a/../../b` is not.
    let mut depth: usize = 0;
    let mut resolved = root.to_path_buf();
    for component in candidate.components() {
        match component {
            Component::Normal(part) => {
                depth += 1;
                resolved.push(part);
            }
            Component::CurDir => {}
            Component::ParentDir => {
                if depth == 0 {
                    return Err(ConnectorFileError::OutsideRoot {
                        path: relative.to_string(),
                    });
                }
                depth -= 1;
                resolved.pop();
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(ConnectorFileError::AbsolutePath {
                    path: relative.to_string(),
                });
            }
        }
    }
    if depth == 0 {
        return Err(ConnectorFileError::EmptyPath);
    }

    // Then the real path of the deepest part that exists, so a symbolic link inside the folder
    // cannot point the worker at a file elsewhere.
    if let Ok(real_root) = root.canonicalize() {
        let mut existing = resolved.as_path();
        while !existing.exists() {
            match existing.parent() {
                Some(parent) => existing = parent,
                None => break,
            }
        }
        if let Ok(real) = existing.canonicalize()
            && !real.starts_with(&real_root)
        {
            return Err(ConnectorFileError::OutsideRoot {
                path: relative.to_string(),
            });
        }
    }
    Ok(resolved)
}

/// The delimiter of a connected system as the byte the CSV reader and writer need.
pub fn delimiter_byte(delimiter: &str) -> Result<u8, ConnectorFileError> {
    let mut characters = delimiter.chars();
    match (characters.next(), characters.next()) {
        (Some(character), None) if character.is_ascii() && character != '"' => Ok(character as u8),
        _ => Err(ConnectorFileError::Delimiter {
            value: delimiter.to_string(),
        }),
    }
}

/// A CSV reader over `source` with the rules every connector file follows: a header row,
/// standard quoting, rows of any length (the caller reports a wrong field count per row), and
/// a UTF-8 byte order mark skipped. Records end at line feeds, so that a record's line number
/// is exact for both LF and CRLF files; a CRLF file leaves a carriage return at the end of the
/// last field, which readers take off (the header's names are trimmed).
pub fn csv_reader<R: Read>(source: R, delimiter: u8) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(source)
}

/// Opens a connector file for reading, naming it in the error.
pub fn open_file(path: &Path) -> Result<BufReader<File>, ConnectorFileError> {
    File::open(path)
        .map(|file| BufReader::with_capacity(256 * 1024, file))
        .map_err(|source| ConnectorFileError::Open {
            path: path.to_path_buf(),
            source,
        })
}

/// Checks a header read from `path`: it has columns, each has a name, no name repeats.
/// Returns the names with a byte order mark and surrounding spaces taken off.
pub fn validate_header(
    path: &Path,
    header: &csv::StringRecord,
) -> Result<Vec<String>, ConnectorFileError> {
    let names: Vec<String> = header
        .iter()
        .map(|name| name.trim_start_matches('\u{feff}').trim().to_string())
        .collect();
    if names.is_empty() || (names.len() == 1 && names[0].is_empty()) {
        return Err(ConnectorFileError::NoHeader {
            path: path.to_path_buf(),
        });
    }
    for (index, name) in names.iter().enumerate() {
        if name.is_empty() {
            return Err(ConnectorFileError::UnnamedColumn {
                path: path.to_path_buf(),
                position: index + 1,
            });
        }
        if names[..index].contains(name) {
            return Err(ConnectorFileError::DuplicateColumn {
                path: path.to_path_buf(),
                name: name.clone(),
            });
        }
    }
    Ok(names)
}

/// Reads the header row of the CSV file at `path`: the attribute names, in file order.
pub fn read_header(path: &Path, delimiter: u8) -> Result<Vec<String>, ConnectorFileError> {
    let mut reader = csv_reader(open_file(path)?, delimiter);
    let header = reader
        .headers()
        .map_err(|source| ConnectorFileError::Header {
            path: path.to_path_buf(),
            source,
        })?
        .clone();
    validate_header(path, &header)
}

/// One attribute of a connected system's schema, as stored in `connected_system_attributes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaAttribute {
    pub name: String,
    pub position: i32,
    pub is_multi_valued: bool,
    pub is_reference: bool,
    pub is_key: bool,
}

/// Replaces the schema of a connected system with the attributes of `header`, in one
/// transaction: the key, multi-valued and reference flags come from the connected system's
/// settings. `path` only names the file in errors. Returns the attributes written.
pub async fn write_schema(
    connection: &mut PgConnection,
    connected_system_id: Uuid,
    path: &Path,
    header: &[String],
) -> Result<Vec<SchemaAttribute>, ConnectorFileError> {
    let mut transaction = connection.begin().await?;
    let settings: Option<(String, Vec<String>, Vec<String>)> = sqlx::query_as(
        "SELECT key_attribute, multi_valued_attributes, reference_attributes \
         FROM connected_systems WHERE id = $1 FOR UPDATE",
    )
    .bind(connected_system_id)
    .fetch_optional(&mut *transaction)
    .await?;
    let Some((key, multi_valued, references)) = settings else {
        return Err(ConnectorFileError::ConnectedSystemNotFound(
            connected_system_id,
        ));
    };
    if !header.contains(&key) {
        return Err(ConnectorFileError::KeyMissing {
            path: path.to_path_buf(),
            key,
        });
    }

    let attributes: Vec<SchemaAttribute> = header
        .iter()
        .zip(1..)
        .map(|(name, position)| SchemaAttribute {
            name: name.clone(),
            position,
            is_multi_valued: multi_valued.contains(name),
            is_reference: references.contains(name),
            is_key: *name == key,
        })
        .collect();

    sqlx::query("DELETE FROM connected_system_attributes WHERE connected_system_id = $1")
        .bind(connected_system_id)
        .execute(&mut *transaction)
        .await?;
    for attribute in &attributes {
        let data_type = if attribute.is_reference {
            "Reference"
        } else {
            "Text"
        };
        sqlx::query(
            "INSERT INTO connected_system_attributes \
                 (connected_system_id, name, position, data_type, is_multi_valued, is_key) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(connected_system_id)
        .bind(&attribute.name)
        .bind(attribute.position)
        .bind(data_type)
        .bind(attribute.is_multi_valued)
        .bind(attribute.is_key)
        .execute(&mut *transaction)
        .await?;
    }
    sqlx::query("UPDATE connected_systems SET updated_at = now() WHERE id = $1")
        .bind(connected_system_id)
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(attributes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_inside_the_root_resolve() {
        let root = tempfile::tempdir().unwrap();
        let resolved = resolve_file_path(root.path(), "hr/people.csv").unwrap();
        assert_eq!(resolved, root.path().join("hr").join("people.csv"));
        let resolved = resolve_file_path(root.path(), "./a/../people.csv").unwrap();
        assert_eq!(resolved, root.path().join("people.csv"));
    }

    #[test]
    fn paths_that_escape_are_refused() {
        let root = tempfile::tempdir().unwrap();
        for path in [
            "/etc/passwd",
            "../people.csv",
            "a/../../people.csv",
            "",
            ".",
            "a/..",
        ] {
            let error = resolve_file_path(root.path(), path).unwrap_err();
            assert!(
                matches!(
                    error,
                    ConnectorFileError::AbsolutePath { .. }
                        | ConnectorFileError::OutsideRoot { .. }
                        | ConnectorFileError::EmptyPath
                ),
                "{path}: {error}"
            );
        }
        let error = resolve_file_path(root.path(), "../x.csv").unwrap_err();
        assert!(error.to_string().contains("`../x.csv`"), "{error}");
    }

    #[test]
    fn a_symbolic_link_out_of_the_root_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), root.path().join("out")).unwrap();
        let error = resolve_file_path(root.path(), "out/people.csv").unwrap_err();
        assert!(matches!(error, ConnectorFileError::OutsideRoot { .. }));
    }

    #[test]
    fn the_header_loses_its_byte_order_mark() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("people.csv");
        std::fs::write(&path, "\u{feff}id,\"display name\",mail\r\n1,a,b\r\n").unwrap();
        assert_eq!(
            read_header(&path, b',').unwrap(),
            ["id", "display name", "mail"]
        );
    }

    #[test]
    fn a_repeated_column_is_named() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("people.csv");
        std::fs::write(&path, "id;mail;mail\n").unwrap();
        let error = read_header(&path, b';').unwrap_err();
        assert!(error.to_string().contains("`mail` twice"), "{error}");
        assert!(error.to_string().contains("people.csv"), "{error}");
    }

    #[test]
    fn a_missing_file_is_named() {
        let error = read_header(Path::new("/nonexistent/people.csv"), b',').unwrap_err();
        assert!(error.to_string().contains("`/nonexistent/people.csv`"));
    }

    #[test]
    fn delimiters_are_single_ascii_characters() {
        assert_eq!(delimiter_byte(",").unwrap(), b',');
        assert_eq!(delimiter_byte("\t").unwrap(), b'\t');
        assert!(delimiter_byte("§").is_err());
        assert!(delimiter_byte(",,").is_err());
    }
}
