//! The activity pages: the list, and one activity whose progress section updates itself
//! every second while the run is in progress. Every value is escaped into the HTML.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::identity::{ACTIVITY_HEAD, PageParameter, activity_rows, pager, parse_id, pool};
use super::session::SignedIn;
use super::{PageError, escape, html, layout, optional_time, time};
use crate::AppState;
use crate::api::activities::{self, Activity, ActivityProgress};
use crate::api::paging::Paging;

/// All activities, newest first.
pub async fn activities(
    SignedIn(_): SignedIn,
    State(state): State<AppState>,
    Query(parameter): Query<PageParameter>,
) -> Result<Response, PageError> {
    let pool = pool(&state)?;
    let page = activities::list_page(pool, parameter.paging(50), None, None).await?;
    let body = format!(
        "<h1>Activities</h1>{ACTIVITY_HEAD}{}</tbody></table>{}",
        activity_rows(&page.items),
        pager("/activities", &page, "activities")
    );
    Ok(html(
        StatusCode::OK,
        layout("Activities", "/activities", &body),
    ))
}

/// The progress section of an activity page; the page's script fetches it again every second
/// while the activity is in progress.
fn progress_section(activity: &Activity) -> String {
    let progress = ActivityProgress::from(activity);
    let bar = match (progress.objects_total, progress.percent_complete) {
        (Some(total), Some(_)) => format!(
            "<progress id=\"bar\" max=\"{total}\" value=\"{}\"></progress>",
            progress.objects_processed
        ),
        _ if progress.is_finished => String::new(),
        _ => "<progress id=\"bar\"></progress>".into(),
    };
    let percent = progress
        .percent_complete
        .map(|percent| format!(" ({percent:.0}%)"))
        .unwrap_or_default();
    let total = progress
        .objects_total
        .map(|total| format!(" of {total}"))
        .unwrap_or_default();
    format!(
        "<section id=\"progress\" data-finished=\"{finished}\" \
         data-source=\"/activities/{id}/progress\"><h2>Progress</h2>\
         <p>Status: <strong id=\"status\" class=\"{status}\">{status}</strong> · phase \
         <span id=\"phase\">{phase}</span></p>{bar}<p><span id=\"objects-processed\">{processed}\
         </span>{total} objects processed{percent}</p>\
         <table id=\"counts\"><thead><tr><th>Added</th><th>Updated</th><th>Deleted</th>\
         <th>Unchanged</th><th>Errors</th></tr></thead><tbody><tr><td>{added}</td><td>{updated}</td>\
         <td>{deleted}</td><td>{unchanged}</td><td>{errors}</td></tr></tbody></table>\
         <p id=\"message\">{message}</p></section>",
        finished = progress.is_finished,
        id = activity.id,
        status = escape(&activity.status),
        phase = escape(&activity.phase),
        processed = activity.objects_processed,
        added = activity.added,
        updated = activity.updated,
        deleted = activity.deleted,
        unchanged = activity.unchanged,
        errors = activity.errors,
        message = escape(activity.message.as_deref().unwrap_or("")),
    )
}

/// Polls the progress section while the activity runs; nothing else.
const PROGRESS_SCRIPT: &str = "<script>(function(){function tick(){\
var p=document.getElementById('progress');\
if(!p||p.getAttribute('data-finished')==='true'){return;}\
fetch(p.getAttribute('data-source'),{credentials:'same-origin',cache:'no-store'})\
.then(function(r){return r.ok?r.text():'';})\
.then(function(t){if(t){p.outerHTML=t;}setTimeout(tick,1000);})\
.catch(function(){setTimeout(tick,3000);});}setTimeout(tick,1000);})();</script>";

/// One activity with its progress (live while in progress) and its reported items.
pub async fn activity(
    SignedIn(_): SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let pool = pool(&state)?;
    let id = parse_id(&id, "activity")?;
    let Some(activity) = activities::find(pool, id).await? else {
        return Err(PageError::NotFound(format!("There is no activity `{id}`.")));
    };
    let items = activities::items_page(
        pool,
        id,
        Paging {
            page: 1,
            page_size: 100,
        },
    )
    .await?;
    let item_rows: String = if items.items.is_empty() {
        "<tr><td colspan=\"5\" class=\"note\">No warnings or errors.</td></tr>".into()
    } else {
        items
            .items
            .iter()
            .map(|item| {
                format!(
                    "<tr><td class=\"{severity}\">{severity}</td><td>{kind}</td><td>{line}</td>\
                     <td>{external}</td><td>{message}</td></tr>",
                    severity = escape(&item.severity),
                    kind = escape(&item.kind),
                    line = item
                        .line_number
                        .map(|line| line.to_string())
                        .unwrap_or_default(),
                    external = escape(item.external_id.as_deref().unwrap_or("")),
                    message = escape(&item.message),
                )
            })
            .collect()
    };
    let system = match (
        activity.connected_system_id,
        &activity.connected_system_name,
    ) {
        (Some(system), Some(name)) => {
            format!(
                "<a href=\"/connected-systems/{system}\">{}</a>",
                escape(name)
            )
        }
        _ => "–".into(),
    };
    let body = format!(
        "<h1>{run_type} of {system}</h1><table id=\"activity\"><tbody>\
         <tr><th>Run profile</th><td>{profile}</td></tr>\
         <tr><th>Initiated by</th><td>{initiated_by}</td></tr>\
         <tr><th>Created (UTC)</th><td>{created}</td></tr>\
         <tr><th>Started (UTC)</th><td>{started}</td></tr>\
         <tr><th>Completed (UTC)</th><td>{completed}</td></tr></tbody></table>{progress}\
         <h2>Warnings and errors ({count})</h2><table id=\"items\"><thead><tr><th>Severity</th>\
         <th>Kind</th><th>Line</th><th>Object</th><th>Message</th></tr></thead>\
         <tbody>{item_rows}</tbody></table>{PROGRESS_SCRIPT}",
        run_type = escape(&activity.run_type),
        profile = escape(activity.run_profile_name.as_deref().unwrap_or("–")),
        initiated_by = escape(&activity.initiated_by),
        created = time(&activity.created_at),
        started = optional_time(activity.started_at.as_ref()),
        completed = optional_time(activity.completed_at.as_ref()),
        progress = progress_section(&activity),
        count = items.total_count,
    );
    Ok(html(
        StatusCode::OK,
        layout("Activity", "/activities", &body),
    ))
}

/// The progress section alone, for the activity page's script.
pub async fn activity_progress(
    SignedIn(_): SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let pool = pool(&state)?;
    let id = parse_id(&id, "activity")?;
    let Some(activity) = activities::find(pool, id).await? else {
        return Err(PageError::NotFound(format!("There is no activity `{id}`.")));
    };
    Ok(html(StatusCode::OK, progress_section(&activity)))
}
