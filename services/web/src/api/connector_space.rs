//! `/api/v1/synchronisation/connected-systems/{id}/connector-space`: the objects a connected
//! system's imports wrote, paged, and one object with its attribute values and references.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::api::paging::{Page, PageQuery, Paging};
use crate::api::{ApiQuery, PathIds, not_found};
use crate::error::{ApiError, ErrorBody};

/// A connector space object with its attribute values.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct ConnectorSpaceObject {
    pub id: Uuid,
    pub connected_system_id: Uuid,
    pub object_type: String,
    /// The value of the connected system's key attribute.
    pub external_id: String,
    /// Attribute name to value: a string, or an array of strings for a multi-valued attribute.
    #[schema(value_type = Object)]
    pub attributes: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A reference from an object to another by key.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReference {
    pub attribute_name: String,
    pub target_external_id: String,
    /// Empty while the key names no object in this connector space.
    pub target_object_id: Option<Uuid>,
}

/// One object with its references.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectorSpaceObjectDetail {
    #[serde(flatten)]
    pub object: ConnectorSpaceObject,
    pub references: Vec<ObjectReference>,
}

const COLUMNS: &str =
    "id, connected_system_id, object_type, external_id, attributes, created_at, updated_at";

/// Whether a connected system exists.
pub async fn system_exists(pool: &PgPool, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM connected_systems WHERE id = $1)")
        .bind(id)
        .fetch_one(pool)
        .await
}

/// One page of a connected system's objects, by external id.
pub async fn list_page(
    pool: &PgPool,
    system_id: Uuid,
    paging: Paging,
) -> Result<Page<ConnectorSpaceObject>, sqlx::Error> {
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM connector_space_objects WHERE connected_system_id = $1",
    )
    .bind(system_id)
    .fetch_one(pool)
    .await?;
    let sql = format!(
        "SELECT {COLUMNS} FROM connector_space_objects WHERE connected_system_id = $1 \
         ORDER BY external_id LIMIT $2 OFFSET $3"
    );
    let items = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(system_id)
        .bind(paging.page_size)
        .bind(paging.offset())
        .fetch_all(pool)
        .await?;
    Ok(paging.envelope(items, total))
}

/// One object of a connected system, with its references.
pub async fn find(
    pool: &PgPool,
    system_id: Uuid,
    object_id: Uuid,
) -> Result<Option<ConnectorSpaceObjectDetail>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM connector_space_objects WHERE connected_system_id = $1 AND id = $2"
    );
    let object: Option<ConnectorSpaceObject> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(system_id)
        .bind(object_id)
        .fetch_optional(pool)
        .await?;
    let Some(object) = object else {
        return Ok(None);
    };
    let references = sqlx::query_as(
        "SELECT attribute_name, target_external_id, target_object_id \
         FROM connector_space_references WHERE object_id = $1 \
         ORDER BY attribute_name, target_external_id",
    )
    .bind(object_id)
    .fetch_all(pool)
    .await?;
    Ok(Some(ConnectorSpaceObjectDetail { object, references }))
}

/// Lists a connected system's connector space objects with their values, by external id.
#[utoipa::path(get, path = "/api/v1/synchronisation/connected-systems/{id}/connector-space",
    tag = "connector-space", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The connected system's id"), PageQuery),
    responses((status = 200, body = Page<ConnectorSpaceObject>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ids: PathIds,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Page<ConnectorSpaceObject>>, ApiError> {
    let paging = query.checked()?;
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    if !system_exists(pool, ids.first()).await? {
        return Err(not_found("connected system", ids.first()));
    }
    Ok(Json(list_page(pool, ids.first(), paging).await?))
}

/// One connector space object with its values and references.
#[utoipa::path(get, path = "/api/v1/synchronisation/connected-systems/{id}/connector-space/{objectId}",
    tag = "connector-space", security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The connected system's id"),
           ("objectId" = Uuid, Path, description = "The object's id")),
    responses((status = 200, body = ConnectorSpaceObjectDetail), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    ids: PathIds,
) -> Result<Json<ConnectorSpaceObjectDetail>, ApiError> {
    let pool = state.pool().ok_or_else(ApiError::unavailable)?;
    if !system_exists(pool, ids.first()).await? {
        return Err(not_found("connected system", ids.first()));
    }
    let object = find(pool, ids.first(), ids.second()).await?;
    object.map(Json).ok_or_else(|| {
        not_found(
            "connector space object of this connected system",
            ids.second(),
        )
    })
}
