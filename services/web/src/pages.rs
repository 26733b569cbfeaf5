//! The status page at `/`: "JIM is starting" until the application is ready, then each
//! service's heartbeat. Server-rendered with inline styles; it loads nothing from anywhere.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Html;
use chrono::Utc;
use jim_common::readiness::Readiness;

use crate::AppState;
use crate::system::{ServiceHeartbeat, heartbeats};

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#1d2330;background:#f6f7fb}\
h1{font-size:1.5rem}table{border-collapse:collapse;background:#fff;min-width:40rem}\
th,td{padding:.5rem .8rem;border-bottom:1px solid #dde1ea;text-align:left}\
th{background:#e9ecf4}.Ready,.Busy{color:#17692f}.Stale,.Stopping{color:#a11d1d}\
.note{color:#5b6375}";

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"5\">\
         <title>{title}</title><style>{STYLE}</style></head><body>{body}\
         <p class=\"note\">JIM {version} · refreshed {now} UTC every 5 seconds</p></body></html>",
        title = escape(title),
        version = jim_common::VERSION,
        now = Utc::now().format("%Y-%m-%d %H:%M:%S"),
    )
}

fn heartbeat_rows(services: &[ServiceHeartbeat]) -> String {
    services
        .iter()
        .map(|service| {
            format!(
                "<tr><td>{name}</td><td class=\"{state}\">{state}</td><td>{version}</td>\
                 <td>{seen}</td><td>{host}</td><td>{work}</td></tr>",
                name = escape(&service.service),
                state = escape(&service.state),
                version = escape(&service.version),
                seen = service.last_seen_at.format("%Y-%m-%d %H:%M:%S"),
                host = escape(&service.host),
                work = escape(service.current_work.as_deref().unwrap_or("")),
            )
        })
        .collect()
}

/// The status page.
pub async fn index(State(state): State<AppState>) -> (StatusCode, Html<String>) {
    let readiness = state.readiness().await;
    let pool = match (&readiness, state.pool()) {
        (Readiness::Ready, Some(pool)) => pool,
        (Readiness::NotReady { reason, .. }, _) => {
            let body = format!(
                "<h1>JIM is starting</h1><p>JIM is not ready yet: {}.</p>\
                 <p class=\"note\">This page refreshes by itself.</p>",
                escape(reason.describe())
            );
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Html(page("JIM is starting", &body)),
            );
        }
        (Readiness::Ready, None) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Html(page("JIM is starting", "<h1>JIM is starting</h1>")),
            );
        }
    };
    match heartbeats(pool).await {
        Ok(services) => {
            let body = format!(
                "<h1>JIM is running</h1><h2>Services</h2><table><thead><tr><th>Service</th>\
                 <th>State</th><th>Version</th><th>Last seen (UTC)</th><th>Host</th>\
                 <th>Current work</th></tr></thead><tbody>{}</tbody></table>",
                heartbeat_rows(&services)
            );
            (StatusCode::OK, Html(page("JIM", &body)))
        }
        Err(error) => {
            tracing::error!(%error, "cannot read the service heartbeats");
            let body = "<h1>JIM</h1><p>The service heartbeats cannot be read right now; \
                        the web service log has the details.</p>";
            (StatusCode::INTERNAL_SERVER_ERROR, Html(page("JIM", body)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
