//! The identity-data routes of the REST API, and what they share: extractors that turn bad
//! input into a 400 or 422 naming the field, paging, and the mapping of database conflicts.

pub mod activities;
pub mod connected_systems;
pub mod connector_space;
pub mod paging;
pub mod run_profiles;
pub mod schedules;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::ApiError;

/// A JSON body whose rejection is an [`ApiError`]: 400 for malformed JSON, 422 naming the
/// field for a wrong type, a missing field or an unknown enum name.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_error(rejection)),
        }
    }
}

fn json_error(rejection: JsonRejection) -> ApiError {
    let code = match &rejection {
        JsonRejection::JsonDataError(_) => "invalid_field",
        JsonRejection::JsonSyntaxError(_) => "malformed_json",
        JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
        _ => "invalid_body",
    };
    ApiError::new(rejection.status(), code, rejection.body_text())
}

/// A query string whose rejection names the parameter (400).
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(query_error(rejection)),
        }
    }
}

fn query_error(rejection: QueryRejection) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_query",
        rejection.body_text(),
    )
}

/// The uuids in the path, in order; a value that is not a uuid is a 400 naming the parameter.
pub struct PathIds(pub Vec<Uuid>);

impl<S> FromRequestParts<S> for PathIds
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|rejection| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_path",
                    rejection.body_text(),
                )
            })?;
        raw.iter()
            .map(|(name, value)| {
                Uuid::parse_str(value).map_err(|_| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_id",
                        format!("the path parameter `{name}` must be a uuid, not `{value}`"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }
}

impl PathIds {
    /// The first id; the routes that use this extractor all have at least one.
    pub fn first(&self) -> Uuid {
        self.0.first().copied().unwrap_or_default()
    }

    /// The second id, for nested routes such as a run profile of a connected system.
    pub fn second(&self) -> Uuid {
        self.0.get(1).copied().unwrap_or_default()
    }
}

/// 404 with the kind of thing and its id.
pub fn not_found(what: &str, id: Uuid) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no {what} has the id `{id}`"),
    )
}

/// 422 naming the field.
pub fn invalid(field: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
        format!("`{field}`: {message}"),
    )
}

/// Maps a unique-key violation to 409 naming the value; other errors pass through.
pub fn conflict_on_duplicate(error: sqlx::Error, field: &str, value: &str) -> ApiError {
    let duplicate = error
        .as_database_error()
        .is_some_and(|database| database.is_unique_violation());
    if duplicate {
        ApiError::new(
            StatusCode::CONFLICT,
            "duplicate_name",
            format!("`{field}`: `{value}` is already taken; choose another {field}"),
        )
    } else {
        error.into()
    }
}

/// Checks a required name: trimmed, 1 to 200 characters.
pub fn checked_name<'a>(field: &str, value: &'a str) -> Result<&'a str, ApiError> {
    let trimmed = value.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 200 {
        return Err(invalid(field, "must be between 1 and 200 characters"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(trimmed)
}
