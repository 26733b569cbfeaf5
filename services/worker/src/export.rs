//! Export of a File connector: the connector space streams from the database into a temporary
//! file beside the target, which is synced and then renamed over it. Readers of the file see
//! the old export or the new one, never half of one.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use futures_util::TryStreamExt;
use jim_common::connector_file;
use serde_json::Value;
use sqlx::PgPool;

use crate::activity::{Activity, Counts, Item, Severity};
use crate::run_profile::{ConnectedSystem, RunError, Summary};

/// How often, in objects, the export offers progress (the activity throttles it by time).
const PROGRESS_ROWS: i64 = 1000;

/// A temporary file that is removed unless it was renamed into place.
struct TemporaryFile {
    path: PathBuf,
    kept: bool,
}

impl Drop for TemporaryFile {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes the connector space of `system` to `path`.
pub async fn run(
    pool: &PgPool,
    activity: &mut Activity,
    system: &ConnectedSystem,
    path: &Path,
) -> Result<Summary, RunError> {
    let delimiter = connector_file::delimiter_byte(&system.delimiter)?;
    let separator = &system.multi_value_separator;
    let header: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM connected_system_attributes WHERE connected_system_id = $1 \
         ORDER BY position",
    )
    .bind(system.id)
    .fetch_all(pool)
    .await?;
    if header.is_empty() {
        return Err(RunError::NoSchema(system.name.clone()));
    }
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM connector_space_objects WHERE connected_system_id = $1",
    )
    .bind(system.id)
    .fetch_one(pool)
    .await?;
    activity.phase("Exporting", 0, Some(total)).await;

    let write_error = |source: std::io::Error| RunError::Write {
        path: path.to_path_buf(),
        source,
    };
    let folder = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder).map_err(write_error)?;
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut temporary = TemporaryFile {
        path: folder.join(format!(
            ".{file_name}.{}.partial",
            uuid::Uuid::new_v4().simple()
        )),
        kept: false,
    };
    let file = File::create(&temporary.path).map_err(write_error)?;
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(BufWriter::with_capacity(256 * 1024, file));
    let csv_error = |error: csv::Error| match error.into_kind() {
        csv::ErrorKind::Io(source) => write_error(source),
        other => write_error(std::io::Error::other(format!("{other:?}"))),
    };
    writer.write_record(&header).map_err(csv_error)?;

    // Rows stream in key order; only the current row is in memory.
    let mut exported: i64 = 0;
    let mut fields: Vec<String> = Vec::with_capacity(header.len());
    let mut rows = sqlx::query_as::<_, (String, Value)>(
        "SELECT external_id, attributes FROM connector_space_objects \
         WHERE connected_system_id = $1 ORDER BY external_id",
    )
    .bind(system.id)
    .fetch(pool);
    while let Some((key, attributes)) = rows.try_next().await? {
        fields.clear();
        for name in &header {
            let field = match attributes.get(name) {
                Some(Value::Array(values)) => {
                    let mut joined = String::new();
                    for (index, value) in values.iter().enumerate() {
                        let text = value.as_str().unwrap_or_default();
                        if text.contains(separator.as_str()) {
                            activity
                                .item(Item {
                                    severity: Severity::Warning,
                                    kind: "ValueContainsSeparator",
                                    line_number: None,
                                    external_id: Some(key.clone()),
                                    message: format!(
                                        "a value of `{name}` contains the separator \
                                         `{separator}`; it will read back as several values"
                                    ),
                                })
                                .await;
                        }
                        if index > 0 {
                            joined.push_str(separator);
                        }
                        joined.push_str(text);
                    }
                    joined
                }
                Some(Value::String(text)) => text.clone(),
                Some(Value::Null) => String::new(),
                Some(other) => other.to_string(),
                None if *name == system.key_attribute => key.clone(),
                None => String::new(),
            };
            fields.push(field);
        }
        writer.write_record(&fields).map_err(csv_error)?;
        exported += 1;
        if exported % PROGRESS_ROWS == 0 {
            activity.progress(exported).await;
        }
    }
    drop(rows);

    // Durable before visible: the data reaches the disk, then the name moves, then the
    // folder's entry reaches the disk.
    let buffered = writer
        .into_inner()
        .map_err(|error| write_error(std::io::Error::other(error.to_string())))?;
    let file = buffered
        .into_inner()
        .map_err(|error| write_error(std::io::Error::other(error.to_string())))?;
    file.sync_all().map_err(write_error)?;
    drop(file);
    std::fs::rename(&temporary.path, path).map_err(write_error)?;
    temporary.kept = true;
    if let Ok(directory) = File::open(folder) {
        let _ = directory.sync_all();
    }

    Ok(Summary {
        message: format!("Exported {exported} objects to `{file_name}`"),
        processed: exported,
        counts: Counts::default(),
    })
}
