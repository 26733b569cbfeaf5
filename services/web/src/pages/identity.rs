//! The pages about identity data: the dashboard, connected systems with their schema and run
//! profiles, the connector space browser and schedules, and what the activity pages share with
//! them. Every value is escaped into the HTML.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::session::SignedIn;
use super::{PageError, escape, html, layout, optional_time, time};
use crate::AppState;
use crate::api::activities::{self, Activity};
use crate::api::paging::{Page, Paging};
use crate::api::{connected_systems, connector_space, run_profiles, schedules};
use crate::system::heartbeats;

/// The `?page=` of a paged page; anything unusable shows the first page.
#[derive(Deserialize)]
pub struct PageParameter {
    page: Option<String>,
}

impl PageParameter {
    pub(super) fn paging(&self, page_size: i64) -> Paging {
        let page = self
            .page
            .as_deref()
            .and_then(|value| value.parse::<i64>().ok())
            .filter(|page| *page >= 1)
            .unwrap_or(1);
        Paging { page, page_size }
    }
}

pub(super) fn pool(state: &AppState) -> Result<&PgPool, PageError> {
    state.pool().ok_or(PageError::Unavailable)
}

pub(super) fn parse_id(value: &str, what: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(value)
        .map_err(|_| PageError::NotFound(format!("There is no {what} `{value}`.")))
}

/// Links to the previous and next page, and where this one stands.
pub(super) fn pager<T>(base: &str, page: &Page<T>, noun: &str) -> String {
    let mut links = format!(
        "<p class=\"pager\" id=\"pager\">Page {} of {} · {} {noun}",
        page.page,
        page.total_pages.max(1),
        page.total_count
    );
    if page.has_previous_page {
        links.push_str(&format!(
            " · <a href=\"{base}?page={}\" id=\"previous-page\">previous</a>",
            page.page - 1
        ));
    }
    if page.has_next_page {
        links.push_str(&format!(
            " · <a href=\"{base}?page={}\" id=\"next-page\">next</a>",
            page.page + 1
        ));
    }
    links.push_str("</p>");
    links
}

pub(super) fn activity_rows(activities: &[Activity]) -> String {
    if activities.is_empty() {
        return "<tr><td colspan=\"6\" class=\"note\">No activities yet.</td></tr>".into();
    }
    activities
        .iter()
        .map(|activity| {
            format!(
                "<tr><td><a href=\"/activities/{id}\">{created}</a></td><td>{system}</td>\
                 <td>{profile}</td><td>{run_type}</td><td class=\"{status}\">{status}</td>\
                 <td>{processed}</td></tr>",
                id = activity.id,
                created = time(&activity.created_at),
                system = escape(activity.connected_system_name.as_deref().unwrap_or("–")),
                profile = escape(activity.run_profile_name.as_deref().unwrap_or("–")),
                run_type = escape(&activity.run_type),
                status = escape(&activity.status),
                processed = activity.objects_processed,
            )
        })
        .collect()
}

pub(super) const ACTIVITY_HEAD: &str = "<table id=\"activities\"><thead><tr><th>Started (UTC)</th>\
    <th>Connected system</th><th>Run profile</th><th>Run type</th><th>Status</th>\
    <th>Objects processed</th></tr></thead><tbody>";

/// The dashboard: each service's health and the latest activities.
pub async fn dashboard(
    SignedIn(_): SignedIn,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let pool = pool(&state)?;
    let services = heartbeats(pool).await?;
    let recent = activities::list_page(
        pool,
        Paging {
            page: 1,
            page_size: 10,
        },
        None,
        None,
    )
    .await?;
    let service_rows: String = if services.is_empty() {
        "<tr><td colspan=\"5\" class=\"note\">No service has reported yet.</td></tr>".into()
    } else {
        services
            .iter()
            .map(|service| {
                format!(
                    "<tr><td>{name}</td><td class=\"{state}\">{state}</td><td>{version}</td>\
                     <td>{seen}</td><td>{work}</td></tr>",
                    name = escape(&service.service),
                    state = escape(&service.state),
                    version = escape(&service.version),
                    seen = time(&service.last_seen_at),
                    work = escape(service.current_work.as_deref().unwrap_or("")),
                )
            })
            .collect()
    };
    let body = format!(
        "<h1>Dashboard</h1><h2>Service health</h2><table id=\"services\"><thead><tr>\
         <th>Service</th><th>State</th><th>Version</th><th>Last seen (UTC)</th>\
         <th>Current work</th></tr></thead><tbody>{service_rows}</tbody></table>\
         <h2>Latest activities</h2>{ACTIVITY_HEAD}{}</tbody></table>\
         <p><a href=\"/activities\">All activities</a></p>",
        activity_rows(&recent.items)
    );
    Ok(html(
        StatusCode::OK,
        layout("Dashboard", "/dashboard", &body),
    ))
}

/// The list of connected systems.
pub async fn connected_systems(
    SignedIn(_): SignedIn,
    State(state): State<AppState>,
    Query(parameter): Query<PageParameter>,
) -> Result<Response, PageError> {
    let pool = pool(&state)?;
    let page = connected_systems::list_page(pool, parameter.paging(50)).await?;
    let rows: String = if page.items.is_empty() {
        "<tr><td colspan=\"5\" class=\"note\">No connected systems yet; create one with \
         POST /api/v1/synchronisation/connected-systems.</td></tr>"
            .into()
    } else {
        page.items
            .iter()
            .map(|system| {
                format!(
                    "<tr><td><a href=\"/connected-systems/{id}\">{name}</a></td><td>{kind}</td>\
                     <td>{file}</td><td>{key}</td><td>{description}</td></tr>",
                    id = system.id,
                    name = escape(&system.name),
                    kind = escape(&system.connector_type),
                    file = escape(&system.file_path),
                    key = escape(&system.key_attribute),
                    description = escape(system.description.as_deref().unwrap_or("")),
                )
            })
            .collect()
    };
    let body = format!(
        "<h1>Connected systems</h1><table id=\"connected-systems\"><thead><tr><th>Name</th>\
         <th>Connector</th><th>File</th><th>Key attribute</th><th>Description</th></tr></thead>\
         <tbody>{rows}</tbody></table>{}",
        pager("/connected-systems", &page, "connected systems")
    );
    Ok(html(
        StatusCode::OK,
        layout("Connected systems", "/connected-systems", &body),
    ))
}

/// One connected system: its settings, schema, run profiles and latest activities.
pub async fn connected_system(
    SignedIn(_): SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let pool = pool(&state)?;
    let id = parse_id(&id, "connected system")?;
    let Some(detail) = connected_systems::find(pool, id).await? else {
        return Err(PageError::NotFound(format!(
            "There is no connected system `{id}`."
        )));
    };
    let system = &detail.system;
    let profiles = run_profiles::of_system(pool, id).await?;
    let recent = activities::list_page(
        pool,
        Paging {
            page: 1,
            page_size: 10,
        },
        Some(id),
        None,
    )
    .await?;

    let schema: String = if detail.attributes.is_empty() {
        "<tr><td colspan=\"4\" class=\"note\">The schema has not been imported yet.</td></tr>"
            .into()
    } else {
        detail
            .attributes
            .iter()
            .map(|attribute| {
                format!(
                    "<tr><td>{name}</td><td>{data_type}</td><td>{multi}</td><td>{key}</td></tr>",
                    name = escape(&attribute.name),
                    data_type = escape(&attribute.data_type),
                    multi = if attribute.is_multi_valued { "yes" } else { "" },
                    key = if attribute.is_key { "key" } else { "" },
                )
            })
            .collect()
    };
    let profile_rows: String = if profiles.is_empty() {
        "<tr><td colspan=\"4\" class=\"note\">No run profiles yet.</td></tr>".into()
    } else {
        profiles
            .iter()
            .map(|profile| {
                format!(
                    "<tr><td>{name}</td><td>{run_type}</td><td>{file}</td><td><code>{id}</code></td></tr>",
                    name = escape(&profile.name),
                    run_type = escape(&profile.run_type),
                    file = escape(profile.file_path.as_deref().unwrap_or("(the system's file)")),
                    id = profile.id,
                )
            })
            .collect()
    };
    let body = format!(
        "<h1>{name}</h1><p>{description}</p><table id=\"settings\"><tbody>\
         <tr><th>Connector</th><td>{kind}</td></tr><tr><th>File</th><td>{file}</td></tr>\
         <tr><th>Delimiter</th><td>{delimiter}</td></tr><tr><th>Key attribute</th><td>{key}</td></tr>\
         <tr><th>Object type</th><td>{object_type}</td></tr><tr><th>Updated (UTC)</th><td>{updated}</td></tr>\
         </tbody></table><p><a href=\"/connected-systems/{id}/connector-space\" id=\"browse\">\
         Browse the connector space</a></p>\
         <h2>Schema</h2><table id=\"schema\"><thead><tr><th>Attribute</th><th>Type</th>\
         <th>Multi-valued</th><th>Key</th></tr></thead><tbody>{schema}</tbody></table>\
         <h2>Run profiles</h2><table id=\"run-profiles\"><thead><tr><th>Name</th><th>Run type</th>\
         <th>File</th><th>Id</th></tr></thead><tbody>{profile_rows}</tbody></table>\
         <h2>Latest activities</h2>{ACTIVITY_HEAD}{activity_rows}</tbody></table>",
        name = escape(&system.name),
        description = escape(system.description.as_deref().unwrap_or("")),
        kind = escape(&system.connector_type),
        file = escape(&system.file_path),
        delimiter = escape(&system.delimiter),
        key = escape(&system.key_attribute),
        object_type = escape(&system.object_type),
        updated = time(&system.updated_at),
        activity_rows = activity_rows(&recent.items),
    );
    Ok(html(
        StatusCode::OK,
        layout(&system.name, "/connected-systems", &body),
    ))
}

/// A value of a connector space object as text: arrays become a list.
fn value_text(value: Option<&serde_json::Value>) -> String {
    match value {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(text)) => escape(text),
        Some(serde_json::Value::Array(values)) => values
            .iter()
            .map(|value| match value {
                serde_json::Value::String(text) => escape(text),
                other => escape(&other.to_string()),
            })
            .collect::<Vec<_>>()
            .join("<br>"),
        Some(other) => escape(&other.to_string()),
    }
}

/// The connector space of a connected system, paged.
pub async fn connector_space(
    SignedIn(_): SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(parameter): Query<PageParameter>,
) -> Result<Response, PageError> {
    let pool = pool(&state)?;
    let id = parse_id(&id, "connected system")?;
    let Some(detail) = connected_systems::find(pool, id).await? else {
        return Err(PageError::NotFound(format!(
            "There is no connected system `{id}`."
        )));
    };
    let page = connector_space::list_page(pool, id, parameter.paging(50)).await?;

    // The schema's first columns, or those of the first object before a schema import.
    let mut columns: Vec<String> = detail.attributes.iter().map(|a| a.name.clone()).collect();
    if columns.is_empty()
        && let Some(serde_json::Value::Object(first)) = page.items.first().map(|o| &o.attributes)
    {
        columns = first.keys().cloned().collect();
    }
    columns.retain(|name| *name != detail.system.key_attribute);
    columns.truncate(6);

    let head: String = columns
        .iter()
        .map(|name| format!("<th>{}</th>", escape(name)))
        .collect();
    let rows: String = if page.items.is_empty() {
        "<tr><td class=\"note\">No objects on this page.</td></tr>".into()
    } else {
        page.items
            .iter()
            .map(|object| {
                let cells: String = columns
                    .iter()
                    .map(|name| format!("<td>{}</td>", value_text(object.attributes.get(name))))
                    .collect();
                format!(
                    "<tr><td><a href=\"/connected-systems/{id}/connector-space/{object_id}\">{external}</a></td>\
                     <td>{object_type}</td>{cells}</tr>",
                    object_id = object.id,
                    external = escape(&object.external_id),
                    object_type = escape(&object.object_type),
                )
            })
            .collect()
    };
    let base = format!("/connected-systems/{id}/connector-space");
    let body = format!(
        "<h1>Connector space of <a href=\"/connected-systems/{id}\">{name}</a></h1>\
         <table id=\"objects\"><thead><tr><th>{key}</th><th>Object type</th>{head}</tr></thead>\
         <tbody>{rows}</tbody></table>{pager}",
        name = escape(&detail.system.name),
        key = escape(&detail.system.key_attribute),
        pager = pager(&base, &page, "objects"),
    );
    Ok(html(
        StatusCode::OK,
        layout("Connector space", "/connected-systems", &body),
    ))
}

/// One connector space object: every value and every reference.
pub async fn connector_space_object(
    SignedIn(_): SignedIn,
    State(state): State<AppState>,
    Path((id, object)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let pool = pool(&state)?;
    let id = parse_id(&id, "connected system")?;
    let object_id = parse_id(&object, "object")?;
    let Some(detail) = connector_space::find(pool, id, object_id).await? else {
        return Err(PageError::NotFound(format!(
            "There is no object `{object_id}` in this connector space."
        )));
    };
    let values: String = match &detail.object.attributes {
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(name, value)| {
                format!(
                    "<tr><th>{}</th><td>{}</td></tr>",
                    escape(name),
                    value_text(Some(value))
                )
            })
            .collect(),
        _ => String::new(),
    };
    let references: String = if detail.references.is_empty() {
        "<tr><td colspan=\"2\" class=\"note\">No references.</td></tr>".into()
    } else {
        detail
            .references
            .iter()
            .map(|reference| {
                let target = match reference.target_object_id {
                    Some(target) => format!(
                        "<a href=\"/connected-systems/{id}/connector-space/{target}\">{}</a>",
                        escape(&reference.target_external_id)
                    ),
                    None => format!("{} (not found)", escape(&reference.target_external_id)),
                };
                format!(
                    "<tr><td>{}</td><td>{target}</td></tr>",
                    escape(&reference.attribute_name)
                )
            })
            .collect()
    };
    let body = format!(
        "<h1>{external}</h1><p><a href=\"/connected-systems/{id}/connector-space\">Back to the \
         connector space</a> · {object_type} · updated {updated} UTC</p>\
         <h2>Values</h2><table id=\"values\"><tbody>{values}</tbody></table>\
         <h2>References</h2><table id=\"references\"><thead><tr><th>Attribute</th><th>Object</th>\
         </tr></thead><tbody>{references}</tbody></table>",
        external = escape(&detail.object.external_id),
        object_type = escape(&detail.object.object_type),
        updated = time(&detail.object.updated_at),
    );
    Ok(html(
        StatusCode::OK,
        layout(&detail.object.external_id, "/connected-systems", &body),
    ))
}

/// The schedules and their latest runs.
pub async fn schedules(
    SignedIn(_): SignedIn,
    State(state): State<AppState>,
    Query(parameter): Query<PageParameter>,
) -> Result<Response, PageError> {
    let pool = pool(&state)?;
    let page = schedules::list_page(pool, parameter.paging(50)).await?;
    let mut rows = String::new();
    let mut runs = String::new();
    for schedule in &page.items {
        let trigger = match (&schedule.cron_expression, schedule.interval_seconds) {
            (Some(expression), _) => format!("cron <code>{}</code>", escape(expression)),
            (None, Some(seconds)) => format!("every {seconds} s"),
            _ => escape(&schedule.trigger_kind),
        };
        let target = match (schedule.connected_system_id, &schedule.run_profile_name) {
            (Some(system), Some(profile)) => format!(
                "<a href=\"/connected-systems/{system}\">{}</a>",
                escape(profile)
            ),
            _ => escape(&schedule.task_kind),
        };
        rows.push_str(&format!(
            "<tr><td>{name}</td><td>{trigger}</td><td>{target}</td><td>{enabled}</td>\
             <td>{next}</td><td>{last}</td></tr>",
            name = escape(&schedule.name),
            enabled = if schedule.enabled { "yes" } else { "no" },
            next = optional_time(schedule.next_run_at.as_ref()),
            last = optional_time(schedule.last_run_at.as_ref()),
        ));
        let executions = schedules::executions_page(
            pool,
            schedule.id,
            Paging {
                page: 1,
                page_size: 5,
            },
        )
        .await?;
        for execution in executions.items {
            let outcome = match (execution.activity_id, &execution.activity_status) {
                (Some(activity), Some(status)) => format!(
                    "<a href=\"/activities/{activity}\" class=\"{status}\">{status}</a>",
                    status = escape(status)
                ),
                _ => escape(execution.task_status.as_deref().unwrap_or("–")),
            };
            runs.push_str(&format!(
                "<tr><td>{name}</td><td>{due}</td><td>{by}</td><td>{outcome}</td></tr>",
                name = escape(&schedule.name),
                due = time(&execution.due_at),
                by = escape(&execution.enqueued_by),
            ));
        }
    }
    if rows.is_empty() {
        rows = "<tr><td colspan=\"6\" class=\"note\">No schedules yet; create one with \
                POST /api/v1/schedules.</td></tr>"
            .into();
    }
    if runs.is_empty() {
        runs = "<tr><td colspan=\"4\" class=\"note\">No runs yet.</td></tr>".into();
    }
    let body = format!(
        "<h1>Schedules</h1><table id=\"schedules\"><thead><tr><th>Name</th><th>Trigger (UTC)</th>\
         <th>Runs</th><th>Enabled</th><th>Next run (UTC)</th><th>Last run (UTC)</th></tr></thead>\
         <tbody>{rows}</tbody></table>{pager}<h2>Latest runs</h2><table id=\"executions\"><thead>\
         <tr><th>Schedule</th><th>Due (UTC)</th><th>Started by</th><th>Outcome</th></tr></thead>\
         <tbody>{runs}</tbody></table>",
        pager = pager("/schedules", &page, "schedules"),
    );
    Ok(html(
        StatusCode::OK,
        layout("Schedules", "/schedules", &body),
    ))
}
