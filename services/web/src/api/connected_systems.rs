//! `/api/v1/synchronisation/connected-systems`: create, list, get, update, delete, and import
//! the schema from the header of the system's CSV file.

use std::path::Path;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use jim_common::connector_file::{self, ConnectorFileError};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::api::paging::{Page, PageQuery};
use crate::api::{
    ApiJson, ApiQuery, PathIds, checked_name, conflict_on_duplicate, invalid, not_found,
};
use crate::auth::Administrator;
use crate::error::{ApiError, ErrorBody};

/// A connected system: for now always the File connector, reading one CSV file.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct ConnectedSystem {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// Always `File` in this version.
    pub connector_type: String,
    /// The CSV file, relative to the connector files folder.
    pub file_path: String,
    pub delimiter: String,
    /// The column whose value identifies an object.
    pub key_attribute: String,
    pub multi_value_separator: String,
    pub object_type: String,
    pub multi_valued_attributes: Vec<String>,
    pub reference_attributes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One attribute of a connected system's schema, as the last schema import read it.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct SchemaAttribute {
    pub name: String,
    /// The column's place in the header, from 0.
    pub position: i32,
    /// `Text` or `Reference`.
    pub data_type: String,
    pub is_multi_valued: bool,
    pub is_key: bool,
}

/// A connected system with its schema.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectedSystemDetail {
    #[serde(flatten)]
    pub system: ConnectedSystem,
    /// Empty until the schema has been imported.
    pub attributes: Vec<SchemaAttribute>,
}

/// The connector a connected system uses.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
pub enum ConnectorType {
    /// CSV files under the connector files folder.
    #[default]
    File,
}

/// The body of a create or update request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectedSystemRequest {
    pub name: String,
    pub description: Option<String>,
    #[serde(default)]
    pub connector_type: ConnectorType,
    /// Relative to the connector files folder; it may not leave that folder.
    pub file_path: String,
    /// One character (default `,`).
    pub delimiter: Option<String>,
    pub key_attribute: String,
    /// One character (default `|`).
    pub multi_value_separator: Option<String>,
    /// Default `person`.
    pub object_type: Option<String>,
    #[serde(default)]
    pub multi_valued_attributes: Vec<String>,
    #[serde(default)]
    pub reference_attributes: Vec<String>,
}

/// A request after its checks, ready to store.
struct CheckedSystem {
    name: String,
    description: Option<String>,
    file_path: String,
    delimiter: String,
    key_attribute: String,
    multi_value_separator: String,
    object_type: String,
    multi_valued_attributes: Vec<String>,
    reference_attributes: Vec<String>,
}

/// Checks a file path that must stay inside the connector files folder `root`, with the rules
/// the worker uses. Returns the path as given, trimmed.
pub fn checked_file_path<'a>(
    field: &str,
    value: &'a str,
    root: &Path,
) -> Result<&'a str, ApiError> {
    connector_file::resolve_file_path(root, value).map_err(|error| file_error(field, &error))?;
    Ok(value.trim())
}

/// A connector file error as a 422 naming the field, with the hint on the same line.
fn file_error(field: &str, error: &ConnectorFileError) -> ApiError {
    invalid(field, error.to_string().replace('\n', "; "))
}

fn one_character(field: &str, value: Option<&str>, default: &str) -> Result<String, ApiError> {
    let value = value.unwrap_or(default);
    connector_file::delimiter_byte(value).map_err(|error| file_error(field, &error))?;
    Ok(value.to_string())
}

impl ConnectedSystemRequest {
    fn checked(self, root: &Path) -> Result<CheckedSystem, ApiError> {
        let name = checked_name("name", &self.name)?.to_string();
        let file_path = checked_file_path("filePath", &self.file_path, root)?.to_string();
        let key_attribute = self.key_attribute.trim().to_string();
        if key_attribute.is_empty() {
            return Err(invalid("keyAttribute", "must name a column of the file"));
        }
        let object_type = self.object_type.as_deref().unwrap_or("person").trim();
        if object_type.is_empty() {
            return Err(invalid("objectType", "must not be empty"));
        }
        Ok(CheckedSystem {
            name,
            description: self.description.filter(|text| !text.trim().is_empty()),
            file_path,
            delimiter: one_character("delimiter", self.delimiter.as_deref(), ",")?,
            key_attribute,
            multi_value_separator: one_character(
                "multiValueSeparator",
                self.multi_value_separator.as_deref(),
                "|",
            )?,
            object_type: object_type.to_string(),
            multi_valued_attributes: self.multi_valued_attributes,
            reference_attributes: self.reference_attributes,
        })
    }
}

const COLUMNS: &str = "id, name, description, connector_type, file_path, delimiter, \
                       key_attribute, multi_value_separator, object_type, \
                       multi_valued_attributes, reference_attributes, created_at, updated_at";

/// One page of connected systems, by name.
pub async fn list_page(
    pool: &PgPool,
    paging: crate::api::paging::Paging,
) -> Result<Page<ConnectedSystem>, sqlx::Error> {
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM connected_systems")
        .fetch_one(pool)
        .await?;
    let sql = format!("SELECT {COLUMNS} FROM connected_systems ORDER BY name LIMIT $1 OFFSET $2");
    let items = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(paging.page_size)
        .bind(paging.offset())
        .fetch_all(pool)
        .await?;
    Ok(paging.envelope(items, total))
}

/// One connected system with its schema, if it exists.
pub async fn find(pool: &PgPool, id: Uuid) -> Result<Option<ConnectedSystemDetail>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM connected_systems WHERE id = $1");
    let system: Option<ConnectedSystem> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    let Some(system) = system else {
        return Ok(None);
    };
    let attributes = sqlx::query_as(
        "SELECT name, position, data_type, is_multi_valued, is_key \
         FROM connected_system_attributes WHERE connected_system_id = $1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(Some(ConnectedSystemDetail { system, attributes }))
}

async fn found(pool: &PgPool, id: Uuid) -> Result<ConnectedSystemDetail, ApiError> {
    find(pool, id)
        .await?
        .ok_or_else(|| not_found("connected system", id))
}

/// Lists the connected systems, by name.
#[utoipa::path(get, path = "/api/v1/synchronisation/connected-systems",
    tag = "connected-systems", security(("api_key" = [])), params(PageQuery),
    responses((status = 200, body = Page<ConnectedSystem>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Page<ConnectedSystem>>, ApiError> {
    let paging = query.checked()?;
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    Ok(Json(list_page(pool, paging).await?))
}

/// Creates a connected system (administrators only).
#[utoipa::path(post, path = "/api/v1/synchronisation/connected-systems",
    tag = "connected-systems", security(("api_key" = [])), request_body = ConnectedSystemRequest,
    responses((status = 201, body = ConnectedSystemDetail), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Administrator(caller): Administrator,
    ApiJson(request): ApiJson<ConnectedSystemRequest>,
) -> Result<(StatusCode, Json<ConnectedSystemDetail>), ApiError> {
    let system = request.checked(state.connector_files())?;
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    let id = Uuid::new_v4();
    let query = sqlx::query(
        "INSERT INTO connected_systems (id, name, description, file_path, delimiter, \
             key_attribute, multi_value_separator, object_type, multi_valued_attributes, \
             reference_attributes) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id);
    bind_settings(query, &system)
        .execute(pool)
        .await
        .map_err(|error| conflict_on_duplicate(error, "name", &system.name))?;
    tracing::info!(connected_system = %id, name = system.name, by = %caller.key, "Connected system created");
    Ok((StatusCode::CREATED, Json(found(pool, id).await?)))
}

/// Binds a checked system's settings as `$2` to `$10`, in the order of the columns that
/// `create` and `update` write.
fn bind_settings<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    system: &'q CheckedSystem,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    query
        .bind(&system.name)
        .bind(&system.description)
        .bind(&system.file_path)
        .bind(&system.delimiter)
        .bind(&system.key_attribute)
        .bind(&system.multi_value_separator)
        .bind(&system.object_type)
        .bind(&system.multi_valued_attributes)
        .bind(&system.reference_attributes)
}

/// One connected system with its schema.
#[utoipa::path(get, path = "/api/v1/synchronisation/connected-systems/{id}",
    tag = "connected-systems", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The connected system's id")),
    responses((status = 200, body = ConnectedSystemDetail), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    ids: PathIds,
) -> Result<Json<ConnectedSystemDetail>, ApiError> {
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    Ok(Json(found(pool, ids.first()).await?))
}

/// Replaces a connected system's settings (administrators only).
#[utoipa::path(put, path = "/api/v1/synchronisation/connected-systems/{id}",
    tag = "connected-systems", security(("api_key" = [])), request_body = ConnectedSystemRequest,
    params(("id" = Uuid, Path, description = "The connected system's id")),
    responses((status = 200, body = ConnectedSystemDetail), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    Administrator(caller): Administrator,
    ids: PathIds,
    ApiJson(request): ApiJson<ConnectedSystemRequest>,
) -> Result<Json<ConnectedSystemDetail>, ApiError> {
    let id = ids.first();
    let system = request.checked(state.connector_files())?;
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    let query = sqlx::query(
        "UPDATE connected_systems SET name = $2, description = $3, file_path = $4, \
             delimiter = $5, key_attribute = $6, multi_value_separator = $7, object_type = $8, \
             multi_valued_attributes = $9, reference_attributes = $10, updated_at = now() \
         WHERE id = $1",
    )
    .bind(id);
    let updated = bind_settings(query, &system)
        .execute(pool)
        .await
        .map_err(|error| conflict_on_duplicate(error, "name", &system.name))?
        .rows_affected();
    if updated == 0 {
        return Err(not_found("connected system", id));
    }
    tracing::info!(connected_system = %id, by = %caller.key, "Connected system updated");
    Ok(Json(found(pool, id).await?))
}

/// Deletes a connected system with its connector space, run profiles and schedules
/// (administrators only). Its activities stay, without the link.
#[utoipa::path(delete, path = "/api/v1/synchronisation/connected-systems/{id}",
    tag = "connected-systems", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The connected system's id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Administrator(caller): Administrator,
    ids: PathIds,
) -> Result<StatusCode, ApiError> {
    let id = ids.first();
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    let deleted = sqlx::query("DELETE FROM connected_systems WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(not_found("connected system", id));
    }
    tracing::info!(connected_system = %id, by = %caller.key, "Connected system deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Reads the schema from the header of the connected system's file and stores it
/// (administrators only). The key, multi-valued and reference columns come from the system's
/// settings.
#[utoipa::path(post, path = "/api/v1/synchronisation/connected-systems/{id}/import-schema",
    tag = "connected-systems", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The connected system's id")),
    responses((status = 200, body = ConnectedSystemDetail), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn import_schema(
    State(state): State<AppState>,
    Administrator(caller): Administrator,
    ids: PathIds,
) -> Result<Json<ConnectedSystemDetail>, ApiError> {
    let id = ids.first();
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    let system = found(pool, id).await?.system;

    let path = connector_file::resolve_file_path(state.connector_files(), &system.file_path)
        .map_err(|error| file_error("filePath", &error))?;
    let delimiter = connector_file::delimiter_byte(&system.delimiter)
        .map_err(|error| file_error("delimiter", &error))?;
    // Reading a file blocks; it gets a thread of its own.
    let header = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || connector_file::read_header(&path, delimiter))
            .await
            .map_err(|error| {
                tracing::error!(%error, "the schema reader stopped");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "an internal error occurred; the service log has the details",
                )
            })?
            .map_err(|error| file_error("filePath", &error))?
    };

    let mut connection = pool.acquire().await?;
    connector_file::write_schema(&mut connection, id, &path, &header)
        .await
        .map_err(|error| match error {
            ConnectorFileError::ConnectedSystemNotFound(id) => not_found("connected system", id),
            ConnectorFileError::Database(error) => error.into(),
            ConnectorFileError::KeyMissing { .. } => file_error("keyAttribute", &error),
            other => file_error("filePath", &other),
        })?;
    tracing::info!(connected_system = %id, attributes = header.len(), by = %caller.key, "Schema imported");
    Ok(Json(found(pool, id).await?))
}
