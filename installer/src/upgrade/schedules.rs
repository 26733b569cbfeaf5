//! Quieting JIM before an upgrade: switch the enabled schedules off (remembering which), wait
//! for running activities and tasks to finish, and switch exactly those schedules on again.
//! The SQL runs with psql in the backup helper container.

use std::time::{Duration, Instant};

use crate::backup::BackupError;
use crate::backup::engine::Helper;

/// Switches every enabled schedule off; returns their ids.
pub async fn disable_enabled(helper: &Helper) -> Result<Vec<String>, BackupError> {
    let output = helper
        .psql("UPDATE schedules SET enabled = false WHERE enabled RETURNING id")
        .await?;
    let mut ids: Vec<String> = output
        .lines()
        .map(str::trim)
        .filter(|line| is_uuid(line))
        .map(String::from)
        .collect();
    ids.sort();
    Ok(ids)
}

/// Switches the schedules `ids` on again (and no other).
pub async fn enable(helper: &Helper, ids: &[String]) -> Result<(), BackupError> {
    if ids.is_empty() {
        return Ok(());
    }
    // The ids come from the database via the record; only UUIDs are let into the SQL.
    for id in ids {
        if !is_uuid(id) {
            return Err(BackupError::Other(format!(
                "the upgrade record names a schedule id `{id}` that is not a UUID"
            )));
        }
    }
    let list = ids
        .iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(", ");
    helper
        .psql(&format!(
            "UPDATE schedules SET enabled = true WHERE id IN ({list})"
        ))
        .await?;
    Ok(())
}

/// Whether `text` has the shape of a UUID (36 characters of hexadecimal digits and dashes).
fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.chars().enumerate().all(|(index, c)| match index {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// How many activities and worker tasks are running now.
pub async fn running_work(helper: &Helper) -> Result<u64, BackupError> {
    let tasks: u64 = helper
        .psql("SELECT count(*) FROM worker_tasks WHERE status = 'Running'")
        .await?
        .parse()
        .unwrap_or(0);
    let has_activities = helper
        .psql("SELECT to_regclass('activities') IS NOT NULL")
        .await?;
    let activities: u64 = if has_activities == "t" {
        helper
            .psql(
                "SELECT count(*) FROM activities \
                 WHERE status = 'InProgress' AND started_at IS NOT NULL",
            )
            .await?
            .parse()
            .unwrap_or(0)
    } else {
        0
    };
    Ok(tasks + activities)
}

/// Waits until nothing runs, up to `timeout`; returns how many still ran at the end.
pub async fn wait_until_idle(helper: &Helper, timeout: Duration) -> Result<u64, BackupError> {
    let started = Instant::now();
    loop {
        let running = running_work(helper).await?;
        if running == 0 || started.elapsed() >= timeout {
            return Ok(running);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_uuids_pass() {
        assert!(is_uuid("22222222-2222-4222-8222-000000000001"));
        assert!(!is_uuid("UPDATE 3"));
        assert!(!is_uuid("22222222-2222-4222-8222-00000000000'"));
    }
}
