//! `/api/v1/api-keys`: create (the key is shown once), list (prefix only), revoke.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{self, Caller, Role};
use crate::error::{ApiError, ErrorBody};

/// A key as listed: never the key itself.
#[derive(Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeySummary {
    pub id: Uuid,
    pub name: String,
    /// `jim_ak_` and the first eight hex characters.
    pub prefix: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The body of a create request.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateApiKey {
    pub name: String,
    pub role: Role,
    pub expires_at: Option<DateTime<Utc>>,
}

/// The answer to a create request; the only time the key is shown.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKey {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    /// The key; store it now, it cannot be shown again.
    pub key: String,
    pub prefix: String,
}

/// Lists the API keys.
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api-keys",
    security(("api_key" = [])),
    responses((status = 200, body = [ApiKeySummary]), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<ApiKeySummary>>, ApiError> {
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    let keys = sqlx::query_as(
        "SELECT id, name, prefix, role, created_at, expires_at, last_used_at, revoked_at \
         FROM api_keys ORDER BY created_at",
    )
    .fetch_all(pool)
    .await?;
    Ok(Json(keys))
}

/// Creates an API key (administrators only).
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api-keys",
    security(("api_key" = [])),
    request_body = CreateApiKey,
    responses((status = 201, body = CreatedApiKey), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Json(request): Json<CreateApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    caller.require_administrator()?;
    let name = request.name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_name",
            "`name` must be between 1 and 200 characters",
        ));
    }
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    let key = auth::generate_key();
    let id = Uuid::new_v4();
    let prefix = auth::display_prefix(&key);
    sqlx::query(
        "INSERT INTO api_keys (id, name, prefix, key_hash, role, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(name)
    .bind(&prefix)
    .bind(auth::hash_key(&key))
    .bind(request.role.as_str())
    .bind(request.expires_at)
    .execute(pool)
    .await?;
    tracing::info!(key = %id, name, role = request.role.as_str(), by = %caller.key, "API key created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedApiKey {
            id,
            name: name.to_string(),
            role: request.role,
            key,
            prefix,
        }),
    ))
}

/// Revokes an API key (administrators only).
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "api-keys",
    security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The key's id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    caller.require_administrator()?;
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    let revoked =
        sqlx::query("UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected();
    if revoked == 0 {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no active API key has the id `{id}`"),
        ));
    }
    tracing::info!(key = %id, by = %caller.key, "API key revoked");
    Ok(StatusCode::NO_CONTENT)
}
