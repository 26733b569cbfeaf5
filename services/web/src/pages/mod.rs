//! The web pages, rendered on the server with inline styles and at most a small inline script;
//! they load nothing from anywhere. The status page at `/` is public: "JIM is starting" until
//! the application is ready, then each service's heartbeat. Every other page needs a sign-in
//! with an API key ([`session`]).

pub mod activities;
pub mod identity;
pub mod logs;
pub mod session;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
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

/// The pages' style: one sheet, inline in every page.
const APP_STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7fb}\
header{background:#1d2330;color:#fff;padding:.6rem 2rem;display:flex;gap:1.2rem;align-items:center}\
header a{color:#fff;text-decoration:none}header a.here{text-decoration:underline}\
header form{margin-left:auto}main{padding:1rem 2rem}h1{font-size:1.5rem}h2{font-size:1.15rem}\
table{border-collapse:collapse;background:#fff;margin-bottom:1rem}\
th,td{padding:.4rem .7rem;border-bottom:1px solid #dde1ea;text-align:left;vertical-align:top}\
th{background:#e9ecf4}.Ready,.Busy,.Complete,.Completed{color:#17692f}\
.Stale,.Stopping,.FailedWithError,.CompleteWithError,.Failed,.ERROR{color:#a11d1d}\
.InProgress,.Running,.Queued{color:#1d4fa1}.CompleteWithWarning,.WARN{color:#8a5a00}\
.note{color:#5b6375}progress{width:24rem;height:1.2rem}pre{white-space:pre-wrap;margin:0}\
.log td{font-family:ui-monospace,monospace;font-size:.85rem}\
input[type=password]{width:36rem;font-family:ui-monospace,monospace}.error{color:#a11d1d}";

/// Only inline styles and the pages' own inline script; requests go back to this server only.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
    script-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; img-src 'self'; \
    frame-ancestors 'none'; base-uri 'none'";

/// The sections in the header, as (path, label).
const SECTIONS: [(&str, &str); 5] = [
    ("/dashboard", "Dashboard"),
    ("/connected-systems", "Connected systems"),
    ("/activities", "Activities"),
    ("/schedules", "Schedules"),
    ("/logs", "Logs"),
];

/// A signed-in page: the header with the sections and sign-out, then `body`.
pub fn layout(title: &str, section: &str, body: &str) -> String {
    let links: String = SECTIONS
        .iter()
        .map(|(path, label)| {
            let here = if *path == section {
                " class=\"here\""
            } else {
                ""
            };
            format!("<a href=\"{path}\"{here}>{label}</a>")
        })
        .collect();
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{title} · JIM</title><style>{APP_STYLE}</style></head><body>\
         <header><strong>JIM</strong>{links}<form method=\"post\" action=\"/sign-out\">\
         <button type=\"submit\">Sign out</button></form></header><main>{body}\
         <p class=\"note\">JIM {version} · page made {now} UTC</p></main></body></html>",
        title = escape(title),
        version = jim_common::VERSION,
        now = Utc::now().format("%Y-%m-%d %H:%M:%S"),
    )
}

/// An HTML answer with the pages' security headers.
pub fn html(status: StatusCode, document: String) -> Response {
    let mut response = (status, Html(document)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// A time as the pages show it, in UTC.
pub fn time(value: &DateTime<Utc>) -> String {
    value.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// An optional time, or a dash.
pub fn optional_time(value: Option<&DateTime<Utc>>) -> String {
    value.map(time).unwrap_or_else(|| "–".into())
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum PageError {
    NotFound(String),
    Unavailable,
    Database(sqlx::Error),
}

impl From<sqlx::Error> for PageError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            Self::NotFound(what) => (StatusCode::NOT_FOUND, "Not found", what),
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "JIM is starting",
                "JIM cannot reach its database yet; try again shortly.".to_string(),
            ),
            Self::Database(error) => {
                tracing::error!(%error, "database error while showing a page");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Error",
                    "The page cannot be shown right now; the web service log has the details."
                        .to_string(),
                )
            }
        };
        let body = format!("<h1>{}</h1><p>{}</p>", escape(title), escape(&message));
        html(status, layout(title, "", &body))
    }
}

/// The routes of the pages (the status page is added by the caller).
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/sign-in",
            get(session::sign_in_form).post(session::sign_in),
        )
        .route("/sign-out", post(session::sign_out))
        .route("/dashboard", get(identity::dashboard))
        .route("/connected-systems", get(identity::connected_systems))
        .route("/connected-systems/{id}", get(identity::connected_system))
        .route(
            "/connected-systems/{id}/connector-space",
            get(identity::connector_space),
        )
        .route(
            "/connected-systems/{id}/connector-space/{object}",
            get(identity::connector_space_object),
        )
        .route("/activities", get(activities::activities))
        .route("/activities/{id}", get(activities::activity))
        .route(
            "/activities/{id}/progress",
            get(activities::activity_progress),
        )
        .route("/schedules", get(identity::schedules))
        .route("/logs", get(logs::logs))
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
                "<h1>JIM is running</h1><p><a href=\"/sign-in\">Sign in</a> to see connected \
                 systems, activities, schedules and logs.</p><h2>Services</h2><table><thead><tr><th>Service</th>\
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
