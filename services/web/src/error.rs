//! The error answer of every API route: a status and a JSON body `{code, message}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The JSON body of an error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable, machine-readable code such as `invalid_api_key`.
    pub code: String,
    /// What went wrong and what to do, for a person.
    pub message: String,
}

/// An error that a handler returns; it becomes the status and body above.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "JIM cannot reach its database yet; try again shortly",
        )
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        // Text that PostgreSQL cannot store (a NUL character) is the caller's input, not a fault.
        let unstorable = error
            .as_database_error()
            .and_then(|database| database.code())
            .is_some_and(|code| code == "22021" || code == "22P05");
        if unstorable {
            return Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_text",
                "a text value holds a character that cannot be stored, such as U+0000; \
                 remove it and send the request again",
            );
        }
        // The cause goes to the log once; the answer says little.
        tracing::error!(%error, "database error while answering a request");
        match error {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                Self::unavailable()
            }
            _ => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "an internal error occurred; the service log has the details",
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code.to_string(),
            message: self.message,
        };
        (self.status, Json(body)).into_response()
    }
}
