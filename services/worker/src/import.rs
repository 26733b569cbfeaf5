//! Full import of a File connector: the CSV streams through a bounded buffer into a staging
//! table (`COPY FROM STDIN`), and everything else — duplicate keys, the comparison with the
//! connector space, deletions, references — is set-based SQL inside one transaction. Either
//! the whole import lands or, when it fails or its worker dies, none of it does.

use std::io::Read;
use std::path::Path;

use futures_util::TryStreamExt;
use jim_common::connector_file::{self, ConnectorFileError};
use serde_json::{Map, Value};
use sqlx::PgPool;
use sqlx::postgres::PgCopyIn;

use crate::activity::{Activity, Counts, Item, Severity};
use crate::run_profile::{ConnectedSystem, RunError, Summary};

/// How many bytes of staged rows are sent to PostgreSQL at a time; the buffer never grows
/// much past it, whatever the size of the file.
const COPY_CHUNK_BYTES: usize = 1024 * 1024;

/// How often, in rows, the reader offers progress (the activity throttles it by time).
const PROGRESS_ROWS: i64 = 1000;

/// How one column of the file is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    name: String,
    multi_valued: bool,
}

/// What the reading phase found.
#[derive(Debug, Default)]
struct ReadTotals {
    rows: i64,
}

/// Imports the file at `path` into the connector space of `system`.
pub async fn run(
    pool: &PgPool,
    activity: &mut Activity,
    system: &ConnectedSystem,
    path: &Path,
) -> Result<Summary, RunError> {
    activity.phase("ReadingFile", 0, None).await;
    let delimiter = connector_file::delimiter_byte(&system.delimiter)?;
    let mut reader = connector_file::csv_reader(connector_file::open_file(path)?, delimiter);
    let header_record = reader
        .headers()
        .map_err(|source| ConnectorFileError::Header {
            path: path.to_path_buf(),
            source,
        })?
        .clone();
    let header = connector_file::validate_header(path, &header_record)?;

    let mut transaction = pool.begin().await?;

    // The schema follows the file's header; it changes with the import or not at all.
    connector_file::write_schema(&mut transaction, system.id, path, &header).await?;
    let key_index = header
        .iter()
        .position(|name| *name == system.key_attribute)
        .ok_or_else(|| ConnectorFileError::KeyMissing {
            path: path.to_path_buf(),
            key: system.key_attribute.clone(),
        })?;
    let columns: Vec<Column> = header
        .iter()
        .map(|name| Column {
            name: name.clone(),
            multi_valued: system.multi_valued_attributes.contains(name),
        })
        .collect();

    sqlx::query(
        "CREATE TEMPORARY TABLE import_rows (line_number bigint NOT NULL, \
             external_id text NOT NULL, attributes jsonb) ON COMMIT DROP",
    )
    .execute(&mut *transaction)
    .await?;

    // Rows that cannot be imported are staged without attributes: their objects are neither
    // changed nor deleted, since the file still names them.
    let mut copy = transaction
        .copy_in_raw(
            "COPY import_rows (line_number, external_id, attributes) FROM STDIN (FORMAT csv)",
        )
        .await?;
    let staged = stage_rows(
        &mut reader,
        &mut copy,
        activity,
        path,
        &columns,
        key_index,
        &system.multi_value_separator,
    )
    .await;
    let totals = match staged {
        Ok(totals) => {
            copy.finish().await?;
            totals
        }
        Err(error) => {
            let _ = copy.abort("the import stopped").await;
            return Err(error);
        }
    };
    sqlx::query("CREATE INDEX ON import_rows (external_id, line_number)")
        .execute(&mut *transaction)
        .await?;
    sqlx::query("ANALYZE import_rows")
        .execute(&mut *transaction)
        .await?;

    // A key seen again keeps its first row; every later row is reported and dropped.
    activity
        .phase("DetectingDuplicates", totals.rows, Some(totals.rows))
        .await;
    {
        let mut duplicates = sqlx::query_as::<_, (i64, String, i64)>(
            "WITH ranked AS (SELECT line_number, \
                    min(line_number) OVER (PARTITION BY external_id) AS first_line \
                 FROM import_rows WHERE attributes IS NOT NULL) \
             DELETE FROM import_rows staged USING ranked \
             WHERE staged.line_number = ranked.line_number \
               AND ranked.line_number > ranked.first_line \
             RETURNING staged.line_number, staged.external_id, ranked.first_line",
        )
        .fetch(&mut *transaction);
        while let Some((line_number, key, first_line)) = duplicates.try_next().await? {
            activity
                .item(Item {
                    severity: Severity::Error,
                    kind: "DuplicateKey",
                    line_number: Some(line_number),
                    message: format!(
                        "the key `{key}` was already on line {first_line}; this row was skipped"
                    ),
                    external_id: Some(key),
                })
                .await;
        }
    }

    activity
        .phase("ApplyingChanges", totals.rows, Some(totals.rows))
        .await;
    let counts = apply_changes(&mut transaction, system).await?;

    activity
        .phase("ResolvingReferences", totals.rows, Some(totals.rows))
        .await;
    resolve_references(&mut transaction, activity, system).await?;

    transaction.commit().await?;

    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Summary {
        message: format!(
            "Imported `{file_name}`: {} rows, {} added, {} updated, {} deleted, {} unchanged; \
             {} errors, {} warnings",
            totals.rows,
            counts.added,
            counts.updated,
            counts.deleted,
            counts.unchanged,
            activity.errors,
            activity.warnings
        ),
        processed: totals.rows,
        counts,
    })
}

/// Reads every row of the file and sends it to the `COPY`, reporting the rows that cannot be
/// imported. Memory holds one row and one chunk of staged bytes at a time.
async fn stage_rows<R: Read>(
    reader: &mut csv::Reader<R>,
    copy: &mut PgCopyIn<&mut sqlx::PgConnection>,
    activity: &mut Activity,
    path: &Path,
    columns: &[Column],
    key_index: usize,
    separator: &str,
) -> Result<ReadTotals, RunError> {
    let mut totals = ReadTotals::default();
    let mut record = csv::ByteRecord::new();
    let mut staging = staging_writer(Vec::with_capacity(COPY_CHUNK_BYTES + 64 * 1024));
    let mut attributes = Map::new();

    loop {
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|source| RunError::Read {
                path: path.to_path_buf(),
                source,
            })?;
        if !more {
            break;
        }
        if is_blank(&record) {
            continue;
        }
        totals.rows += 1;
        let line_number = record
            .position()
            .map_or(totals.rows + 1, |position| position.line() as i64);

        match parse_row(&record, columns, key_index, separator, &mut attributes) {
            Ok(key) => {
                let json = Value::Object(std::mem::take(&mut attributes)).to_string();
                write_staged(&mut staging, line_number, key, Some(&json), path)?;
            }
            Err(problem) => {
                if let Some(key) = &problem.key {
                    write_staged(&mut staging, line_number, key, None, path)?;
                }
                activity
                    .item(Item {
                        severity: Severity::Error,
                        kind: problem.kind,
                        line_number: Some(line_number),
                        external_id: problem.key,
                        message: problem.message,
                    })
                    .await;
            }
        }
        attributes.clear();

        if staging.get_ref().len() >= COPY_CHUNK_BYTES {
            send_chunk(&mut staging, copy, path).await?;
        }
        if totals.rows % PROGRESS_ROWS == 0 {
            activity.progress(totals.rows).await;
        }
    }
    send_chunk(&mut staging, copy, path).await?;
    activity
        .phase("ReadingFile", totals.rows, Some(totals.rows))
        .await;
    Ok(totals)
}

fn write_staged(
    staging: &mut csv::Writer<Vec<u8>>,
    line_number: i64,
    key: &str,
    attributes: Option<&str>,
    path: &Path,
) -> Result<(), RunError> {
    // An unquoted empty field is NULL to `COPY ... (FORMAT csv)`: no attributes.
    staging
        .write_record([
            line_number.to_string().as_str(),
            key,
            attributes.unwrap_or_default(),
        ])
        .map_err(|source| RunError::Read {
            path: path.to_path_buf(),
            source,
        })
}

async fn send_chunk(
    staging: &mut csv::Writer<Vec<u8>>,
    copy: &mut PgCopyIn<&mut sqlx::PgConnection>,
    path: &Path,
) -> Result<(), RunError> {
    // The writer hands its bytes over only by value; the same allocation goes back into a
    // fresh writer, so the buffer is allocated once per run.
    let full = std::mem::replace(staging, staging_writer(Vec::new()));
    let mut chunk = full.into_inner().map_err(|error| RunError::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(error.to_string()),
    })?;
    if !chunk.is_empty() {
        copy.send(chunk.as_slice()).await?;
        chunk.clear();
    }
    *staging = staging_writer(chunk);
    Ok(())
}

/// A CSV writer for the staged rows, in the form `COPY ... (FORMAT csv)` reads.
fn staging_writer(buffer: Vec<u8>) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(buffer)
}

/// The field at `index`, without the carriage return that a CRLF line end leaves on the last
/// field (records end at line feeds only, so that line numbers stay exact).
fn field(record: &csv::ByteRecord, index: usize) -> Option<&[u8]> {
    let bytes = record.get(index)?;
    if index + 1 == record.len() {
        Some(bytes.strip_suffix(b"\r").unwrap_or(bytes))
    } else {
        Some(bytes)
    }
}

/// Whether the record is a blank line (possibly a lone carriage return), which is skipped.
fn is_blank(record: &csv::ByteRecord) -> bool {
    record.len() == 1 && field(record, 0).is_some_and(<[u8]>::is_empty)
}

/// Why one row cannot be imported; `key` is its key when the row still shows one.
#[derive(Debug)]
struct RowProblem {
    kind: &'static str,
    key: Option<String>,
    message: String,
}

/// Turns one row into its key and attributes (into `attributes`), or says what is wrong.
fn parse_row<'r>(
    record: &'r csv::ByteRecord,
    columns: &[Column],
    key_index: usize,
    separator: &str,
    attributes: &mut Map<String, Value>,
) -> Result<&'r str, RowProblem> {
    let key = field(record, key_index)
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
        .map(str::trim)
        .filter(|key| !key.is_empty());

    if record.len() != columns.len() {
        return Err(RowProblem {
            kind: "MalformedRow",
            key: key.map(str::to_string),
            message: format!(
                "the row has {} fields but the header has {}; the row was skipped",
                record.len(),
                columns.len()
            ),
        });
    }
    for (index, column) in columns.iter().enumerate() {
        let bytes = field(record, index).unwrap_or_default();
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Err(RowProblem {
                kind: "InvalidText",
                key: key.map(str::to_string),
                message: format!(
                    "the value of `{}` is not UTF-8 text; the row was skipped",
                    column.name
                ),
            });
        };
        if index == key_index {
            continue;
        }
        if column.multi_valued {
            let values: Vec<Value> = text
                .split(separator)
                .filter(|value| !value.is_empty())
                .map(|value| Value::String(value.to_string()))
                .collect();
            if !values.is_empty() {
                attributes.insert(column.name.clone(), Value::Array(values));
            }
        } else if !text.is_empty() {
            attributes.insert(column.name.clone(), Value::String(text.to_string()));
        }
    }
    let Some(key) = key else {
        return Err(RowProblem {
            kind: "MissingKey",
            key: None,
            message: format!(
                "the row has no value for the key attribute `{}`; the row was skipped",
                columns[key_index].name
            ),
        });
    };
    attributes.insert(
        columns[key_index].name.clone(),
        Value::String(key.to_string()),
    );
    Ok(key)
}

/// Deletes, updates and adds objects so the connector space matches the staged rows.
async fn apply_changes(
    transaction: &mut sqlx::PgConnection,
    system: &ConnectedSystem,
) -> Result<Counts, RunError> {
    let deleted = sqlx::query(
        "DELETE FROM connector_space_objects object \
         WHERE object.connected_system_id = $1 AND NOT EXISTS \
               (SELECT 1 FROM import_rows staged WHERE staged.external_id = object.external_id)",
    )
    .bind(system.id)
    .execute(&mut *transaction)
    .await?
    .rows_affected();
    let updated = sqlx::query(
        "UPDATE connector_space_objects object \
         SET attributes = staged.attributes, object_type = $2, updated_at = now() \
         FROM import_rows staged \
         WHERE object.connected_system_id = $1 AND object.external_id = staged.external_id \
           AND staged.attributes IS NOT NULL \
           AND (object.attributes <> staged.attributes OR object.object_type <> $2)",
    )
    .bind(system.id)
    .bind(&system.object_type)
    .execute(&mut *transaction)
    .await?
    .rows_affected();
    let added = sqlx::query(
        "INSERT INTO connector_space_objects \
             (id, connected_system_id, object_type, external_id, attributes) \
         SELECT gen_random_uuid(), $1, $2, staged.external_id, staged.attributes \
         FROM import_rows staged \
         WHERE staged.attributes IS NOT NULL AND NOT EXISTS \
               (SELECT 1 FROM connector_space_objects object \
                WHERE object.connected_system_id = $1 \
                  AND object.external_id = staged.external_id)",
    )
    .bind(system.id)
    .bind(&system.object_type)
    .execute(&mut *transaction)
    .await?
    .rows_affected();
    let imported: i64 =
        sqlx::query_scalar("SELECT count(*) FROM import_rows WHERE attributes IS NOT NULL")
            .fetch_one(&mut *transaction)
            .await?;

    let added = added as i64;
    let updated = updated as i64;
    Ok(Counts {
        added,
        updated,
        deleted: deleted as i64,
        unchanged: (imported - added - updated).max(0),
    })
}

/// Rebuilds the references of the connector space from the reference attributes, and reports
/// every reference whose key names no object.
async fn resolve_references(
    transaction: &mut sqlx::PgConnection,
    activity: &mut Activity,
    system: &ConnectedSystem,
) -> Result<(), RunError> {
    sqlx::query(
        "DELETE FROM connector_space_references reference \
         USING connector_space_objects object \
         WHERE reference.object_id = object.id AND object.connected_system_id = $1",
    )
    .bind(system.id)
    .execute(&mut *transaction)
    .await?;
    if system.reference_attributes.is_empty() {
        return Ok(());
    }

    // Each target is looked up by its key in the unique index, one value at a time. A join
    // would leave the choice of plan to the table's statistics, and those do not know the
    // objects this import just wrote (autovacuum cannot see them before the commit): taking the
    // system's objects for a handful, the planner may scan them once per object (a second
    // system's first import of 50,000 objects was still running after eleven minutes). The
    // lookup costs the same whatever the statistics say.
    sqlx::query(
        "INSERT INTO connector_space_references \
             (object_id, attribute_name, target_external_id, target_object_id) \
         SELECT object.id, attribute.name, target_key.value, \
                (SELECT target.id FROM connector_space_objects target \
                 WHERE target.connected_system_id = $1 AND target.external_id = target_key.value) \
         FROM connector_space_objects object \
         CROSS JOIN unnest($2::text[]) AS attribute (name) \
         CROSS JOIN LATERAL jsonb_array_elements_text( \
             CASE jsonb_typeof(object.attributes -> attribute.name) \
                 WHEN 'array' THEN object.attributes -> attribute.name \
                 ELSE jsonb_build_array(object.attributes -> attribute.name) END \
         ) AS target_key (value) \
         WHERE object.connected_system_id = $1 AND object.attributes ? attribute.name \
         ON CONFLICT DO NOTHING",
    )
    .bind(system.id)
    .bind(&system.reference_attributes)
    .execute(&mut *transaction)
    .await?;

    let mut dangling = sqlx::query_as::<_, (String, String, String, Option<i64>)>(
        "SELECT object.external_id, reference.attribute_name, reference.target_external_id, \
                (SELECT min(staged.line_number) FROM import_rows staged \
                 WHERE staged.external_id = object.external_id) \
         FROM connector_space_references reference \
         JOIN connector_space_objects object ON object.id = reference.object_id \
         WHERE object.connected_system_id = $1 AND reference.target_object_id IS NULL \
         ORDER BY 4, 2, 3",
    )
    .bind(system.id)
    .fetch(&mut *transaction);
    while let Some((key, attribute, target, line_number)) = dangling.try_next().await? {
        activity
            .item(Item {
                severity: Severity::Warning,
                kind: "DanglingReference",
                line_number,
                message: format!(
                    "`{attribute}` refers to `{target}`, which no object in this connected \
                     system has as its key"
                ),
                external_id: Some(key),
            })
            .await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns() -> Vec<Column> {
        ["id", "name", "groups"]
            .into_iter()
            .map(|name| Column {
                name: name.to_string(),
                multi_valued: name == "groups",
            })
            .collect()
    }

    #[test]
    fn a_row_becomes_its_key_and_attributes() {
        let record = csv::ByteRecord::from(vec!["7", "Ada, Countess", "a||b"]);
        let mut attributes = Map::new();
        let key = parse_row(&record, &columns(), 0, "|", &mut attributes).unwrap();
        assert_eq!(key, "7");
        assert_eq!(
            Value::Object(attributes),
            serde_json::json!({"id": "7", "name": "Ada, Countess", "groups": ["a", "b"]})
        );
    }

    #[test]
    fn empty_values_are_left_out() {
        let record = csv::ByteRecord::from(vec!["7", "", ""]);
        let mut attributes = Map::new();
        parse_row(&record, &columns(), 0, "|", &mut attributes).unwrap();
        assert_eq!(Value::Object(attributes), serde_json::json!({"id": "7"}));
    }

    #[test]
    fn a_short_row_keeps_its_key_for_protection() {
        let record = csv::ByteRecord::from(vec!["7", "Ada"]);
        let problem = parse_row(&record, &columns(), 0, "|", &mut Map::new()).unwrap_err();
        assert_eq!(problem.kind, "MalformedRow");
        assert_eq!(problem.key.as_deref(), Some("7"));
        assert!(problem.message.contains("2 fields but the header has 3"));
    }

    #[test]
    fn line_numbers_count_every_line_whatever_the_line_ends() {
        let text = "\u{feff}id,name\r\n1,\"two\r\nlines\"\r\n\r\n3,c\r\n";
        let mut reader = connector_file::csv_reader(text.as_bytes(), b',');
        reader.headers().unwrap();
        let mut record = csv::ByteRecord::new();
        let mut seen = Vec::new();
        while reader.read_byte_record(&mut record).unwrap() {
            if !is_blank(&record) {
                let last = field(&record, record.len() - 1).unwrap().to_vec();
                let line = record.position().unwrap().line();
                seen.push((line, String::from_utf8(last).unwrap()));
            }
        }
        assert_eq!(
            seen,
            [(2, "two\r\nlines".to_string()), (5, "c".to_string())]
        );
    }

    #[test]
    fn a_row_without_a_key_is_refused() {
        let record = csv::ByteRecord::from(vec![" ", "Ada", ""]);
        let problem = parse_row(&record, &columns(), 0, "|", &mut Map::new()).unwrap_err();
        assert_eq!(problem.kind, "MissingKey");
        assert!(problem.message.contains("`id`"));
    }
}
