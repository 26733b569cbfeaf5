//! Signing in to the pages: an administrator (or a reader) pastes an API key, which is checked
//! exactly as the `X-API-Key` header is and then kept in an `HttpOnly`, `SameSite=Strict`
//! cookie. The cookie holds the key and nothing else; every page checks it again, so a revoked
//! key stops working at once.

use axum::Form;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{escape, html};
use crate::AppState;
use crate::auth::{self, Caller};

/// The cookie that carries the key.
pub const COOKIE: &str = "jim_session";
/// How long a sign-in lasts: eight hours.
const MAX_AGE_SECONDS: u32 = 8 * 3600;

/// A signed-in visitor; pages that take it redirect everyone else to the sign-in page.
pub struct SignedIn(pub Caller);

/// The cookie's value, if the request carries it.
fn cookie_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_string())
}

/// A local path to return to after signing in; anything else becomes the dashboard.
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_string()
        }
        _ => "/dashboard".to_string(),
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        if let Some(key) = cookie_key(&parts.headers) {
            match auth::authenticate(state, &key).await {
                Ok(caller) => return Ok(Self(caller)),
                Err(error) if error.status == StatusCode::SERVICE_UNAVAILABLE => {
                    return Err(super::PageError::Unavailable.into_response());
                }
                Err(_) => {}
            }
        }
        let next = parts
            .uri
            .path_and_query()
            .map(|path| path.as_str())
            .unwrap_or("/dashboard");
        let target = format!("/sign-in?next={}", percent_encode(next));
        Err(Redirect::to(&target).into_response())
    }
}

/// Encodes a path for a query string value.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The query of the sign-in page.
#[derive(Deserialize)]
pub struct SignInQuery {
    next: Option<String>,
}

/// The sign-in form's fields.
#[derive(Deserialize)]
pub struct SignInForm {
    api_key: String,
    next: Option<String>,
}

fn sign_in_page(status: StatusCode, next: &str, problem: Option<&str>) -> Response {
    let problem = problem
        .map(|text| format!("<p class=\"error\" id=\"problem\">{}</p>", escape(text)))
        .unwrap_or_default();
    let document = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in · JIM\
         </title><style>{style}</style></head><body><main><h1>Sign in to JIM</h1>\
         <p>Paste an API key (<code>jim_ak_…</code>). Administrators create keys with \
         <code>POST /api/v1/api-keys</code>; the key from <code>JIM_INFRASTRUCTURE_API_KEY</code> \
         works too.</p>{problem}<form method=\"post\" action=\"/sign-in\">\
         <input type=\"hidden\" name=\"next\" value=\"{next}\">\
         <p><label>API key <input type=\"password\" name=\"api_key\" id=\"api_key\" \
         autocomplete=\"off\" required></label></p>\
         <p><button type=\"submit\" id=\"sign-in\">Sign in</button></p></form>\
         <p class=\"note\"><a href=\"/\">Service status</a> needs no sign-in.</p>\
         </main></body></html>",
        style = super::APP_STYLE,
        next = escape(next),
    );
    html(status, document)
}

/// The sign-in form.
pub async fn sign_in_form(Query(query): Query<SignInQuery>) -> Response {
    sign_in_page(StatusCode::OK, &local_path(query.next.as_deref()), None)
}

/// Checks the pasted key; on success sets the cookie and goes to the page asked for.
pub async fn sign_in(State(state): State<AppState>, Form(form): Form<SignInForm>) -> Response {
    let next = local_path(form.next.as_deref());
    let key = form.api_key.trim();
    match auth::authenticate(&state, key).await {
        Ok(caller) => {
            tracing::info!(key = %caller.key, role = caller.role.as_str(), "Signed in to the pages");
            let cookie = format!(
                "{COOKIE}={key}; Path=/; HttpOnly; SameSite=Strict; Max-Age={MAX_AGE_SECONDS}"
            );
            let mut response = Redirect::to(&next).into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Err(error) => sign_in_page(error.status, &next, Some(&error.message)),
    }
}

/// Forgets the cookie.
pub async fn sign_out() -> Response {
    let mut response = Redirect::to("/sign-in").into_response();
    let cookie = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path(Some("/activities/1")), "/activities/1");
        assert_eq!(local_path(Some("//evil.example")), "/dashboard");
        assert_eq!(local_path(Some("https://evil.example")), "/dashboard");
        assert_eq!(local_path(Some("/\\evil.example")), "/dashboard");
        assert_eq!(local_path(None), "/dashboard");
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; jim_session=jim_ak_1; other=2"),
        );
        assert_eq!(cookie_key(&headers).as_deref(), Some("jim_ak_1"));
    }
}
