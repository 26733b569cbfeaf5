//! The Logs page: the end of each service's newest log file under `JIM_LOG_PATH`, newest line
//! first, with a level filter. Only a bounded tail of each file is read, never the whole file.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::session::SignedIn;
use super::{PageError, escape, html, layout};
use crate::AppState;

/// How much of the end of a file is read.
pub const TAIL_BYTES: u64 = 256 * 1024;
/// How many lines each service shows at most.
pub const MAX_LINES: usize = 200;
/// The services whose logs are shown, by the name in their file names.
const SERVICES: [&str; 3] = ["web", "worker", "scheduler"];
/// The level names of `JIM_LOG_LEVEL`, with the tracing level each stands for.
const LEVELS: [(&str, &str); 5] = [
    ("Verbose", "TRACE"),
    ("Debug", "DEBUG"),
    ("Information", "INFO"),
    ("Warning", "WARN"),
    ("Error", "ERROR"),
];

fn rank(tracing_level: &str) -> usize {
    LEVELS
        .iter()
        .position(|(_, level)| level.eq_ignore_ascii_case(tracing_level))
        .unwrap_or(0)
}

/// The page's filters.
#[derive(Deserialize)]
pub struct LogQuery {
    level: Option<String>,
}

/// One line of a log, as the page shows it.
#[derive(Debug, PartialEq)]
pub struct LogLine {
    pub timestamp: String,
    pub level: String,
    pub target: String,
    pub message: String,
    pub fields: String,
}

/// An RFC 3339 time as `YYYY-MM-DD HH:MM:SS.mmm`; anything else as it is.
fn short_time(timestamp: &str) -> String {
    timestamp.replacen('T', " ", 1).chars().take(23).collect()
}

/// The newest `jim-<service>.*.log` file in `folder`: the date in the name sorts.
pub fn newest_file(folder: &Path, service: &str) -> Option<PathBuf> {
    let prefix = format!("jim-{service}.");
    std::fs::read_dir(folder)
        .ok()?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with(&prefix) && name.ends_with(".log"))
        })
        .max()
}

/// The last at most `limit` bytes of a file, starting at a whole line.
pub fn read_tail(path: &Path, limit: u64) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let length = file.metadata()?.len();
    let start = length.saturating_sub(limit);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::with_capacity(usize::try_from(length - start).unwrap_or(0));
    file.take(limit).read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    // A tail that starts inside a line drops that partial line.
    if start > 0 {
        return Ok(text
            .split_once('\n')
            .map(|(_, rest)| rest.to_string())
            .unwrap_or_default());
    }
    Ok(text)
}

/// Parses one JSON log line; a line that is not JSON is kept as its text.
pub fn parse_line(line: &str) -> LogLine {
    let Ok(serde_json::Value::Object(mut map)) = serde_json::from_str::<serde_json::Value>(line)
    else {
        return LogLine {
            timestamp: String::new(),
            level: String::new(),
            target: String::new(),
            message: line.to_string(),
            fields: String::new(),
        };
    };
    let mut take = |name: &str| match map.remove(name) {
        Some(serde_json::Value::String(text)) => text,
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let timestamp = take("timestamp");
    let level = take("level");
    let target = take("target");
    let message = take("message");
    let fields = map
        .iter()
        .map(|(name, value)| match value {
            serde_json::Value::String(text) => format!("{name}={text}"),
            other => format!("{name}={other}"),
        })
        .collect::<Vec<_>>()
        .join(" ");
    LogLine {
        timestamp,
        level,
        target,
        message,
        fields,
    }
}

/// The newest lines of a tail at or above `minimum` (a tracing level name), newest first.
pub fn filter_lines(tail: &str, minimum: &str) -> Vec<LogLine> {
    let minimum = rank(minimum);
    tail.lines()
        .rev()
        .filter(|line| !line.trim().is_empty())
        .map(parse_line)
        .filter(|line| line.level.is_empty() || rank(&line.level) >= minimum)
        .take(MAX_LINES)
        .collect()
}

struct ServiceLog {
    service: &'static str,
    file: Option<PathBuf>,
    lines: Result<Vec<LogLine>, String>,
}

fn read_logs(folder: &Path, minimum: &str) -> Vec<ServiceLog> {
    SERVICES
        .iter()
        .map(|service| {
            let file = newest_file(folder, service);
            let lines = match &file {
                Some(path) => read_tail(path, TAIL_BYTES)
                    .map(|tail| filter_lines(&tail, minimum))
                    .map_err(|error| error.to_string()),
                None => Ok(Vec::new()),
            };
            ServiceLog {
                service,
                file,
                lines,
            }
        })
        .collect()
}

/// The Logs page.
pub async fn logs(
    SignedIn(_): SignedIn,
    State(state): State<AppState>,
    Query(query): Query<LogQuery>,
) -> Result<Response, PageError> {
    let chosen = LEVELS
        .iter()
        .find(|(name, _)| Some(*name) == query.level.as_deref())
        .copied()
        .unwrap_or(("Information", "INFO"));
    let folder = state.log_path().to_path_buf();
    let minimum = chosen.1;
    let folder_for_reading = folder.clone();
    // Files are read on a blocking thread; each read is bounded by TAIL_BYTES.
    let logs = tokio::task::spawn_blocking(move || read_logs(&folder_for_reading, minimum))
        .await
        .unwrap_or_default();

    let options: String = LEVELS
        .iter()
        .map(|(name, _)| {
            let selected = if *name == chosen.0 { " selected" } else { "" };
            format!("<option value=\"{name}\"{selected}>{name} and above</option>")
        })
        .collect();
    let mut body = format!(
        "<h1>Logs</h1><form method=\"get\" action=\"/logs\"><label>Level \
         <select name=\"level\" id=\"level\">{options}</select></label> \
         <button type=\"submit\">Show</button></form>\
         <p class=\"note\">The newest {MAX_LINES} lines of the last {} KiB of each service's \
         newest file in <code>{}</code>, newest first.</p>",
        TAIL_BYTES / 1024,
        escape(&folder.display().to_string()),
    );
    for log in logs {
        let file = log
            .file
            .as_ref()
            .and_then(|path| path.file_name())
            .map(|name| escape(&name.to_string_lossy()))
            .unwrap_or_else(|| "no log file yet".into());
        let rows: String = match &log.lines {
            Err(error) => format!(
                "<tr><td colspan=\"4\" class=\"error\">The file cannot be read: {}</td></tr>",
                escape(error)
            ),
            Ok(lines) if lines.is_empty() => {
                "<tr><td colspan=\"4\" class=\"note\">No lines at this level.</td></tr>".into()
            }
            Ok(lines) => lines
                .iter()
                .map(|line| {
                    format!(
                        "<tr><td>{timestamp}</td><td class=\"{level}\">{level}</td>\
                         <td>{target}</td><td><pre>{message}{separator}{fields}</pre></td></tr>",
                        timestamp = escape(&short_time(&line.timestamp)),
                        level = escape(&line.level),
                        target = escape(&line.target),
                        message = escape(&line.message),
                        separator = if line.fields.is_empty() { "" } else { "  " },
                        fields = escape(&line.fields),
                    )
                })
                .collect(),
        };
        body.push_str(&format!(
            "<h2>{service} <span class=\"note\">({file})</span></h2><table class=\"log\" \
             id=\"log-{service}\"><thead><tr><th>Time (UTC)</th><th>Level</th><th>Source</th>\
             <th>Message</th></tr></thead><tbody>{rows}</tbody></table>",
            service = log.service,
        ));
    }
    Ok(html(StatusCode::OK, layout("Logs", "/logs", &body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_is_bounded_and_starts_at_a_line() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("jim-web.2026-12-03.log");
        let lines: String = (0..1000).map(|n| format!("line {n}\n")).collect();
        std::fs::write(&path, &lines).unwrap();
        let tail = read_tail(&path, 100).unwrap();
        assert!(tail.len() <= 100);
        assert!(tail.starts_with("line "), "{tail}");
        assert!(tail.ends_with("line 999\n"));
    }

    #[test]
    fn the_newest_file_of_a_service_is_chosen() {
        let folder = tempfile::tempdir().unwrap();
        for name in [
            "jim-web.2026-12-01.log",
            "jim-web.2026-12-03.log",
            "jim-worker.2026-12-04.log",
        ] {
            std::fs::write(folder.path().join(name), "").unwrap();
        }
        let newest = newest_file(folder.path(), "web").unwrap();
        assert!(newest.ends_with("jim-web.2026-12-03.log"));
        assert!(newest_file(folder.path(), "scheduler").is_none());
    }

    #[test]
    fn levels_filter_and_fields_are_kept() {
        let tail = "{\"timestamp\":\"t1\",\"level\":\"DEBUG\",\"target\":\"a\",\"message\":\"quiet\"}\n\
                    {\"timestamp\":\"t2\",\"level\":\"WARN\",\"target\":\"b\",\"message\":\"loud\",\"task\":\"x\"}\n\
                    not json\n";
        let lines = filter_lines(tail, "INFO");
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].message, "not json");
        assert_eq!(
            (lines[1].level.as_str(), lines[1].fields.as_str()),
            ("WARN", "task=x")
        );
        assert_eq!(filter_lines(tail, "TRACE").len(), 3);
    }
}
