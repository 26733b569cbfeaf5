//! What a run tells the world while it works: the activity's phase, progress and counts, and
//! its per-row items. All of it is written through the pool, never through the run's own
//! transaction, so that the web shows a run moving and a failed run keeps what it found.

use std::time::{Duration, Instant};

use jim_common::identity::ActivityStatus;
use sqlx::PgPool;
use uuid::Uuid;

/// How often progress reaches the database at most while rows stream by.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(500);

/// How many items wait in memory before they are written in one statement.
const ITEM_BATCH: usize = 500;

/// The counts of a run, as the activity stores them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub added: i64,
    pub updated: i64,
    pub deleted: i64,
    pub unchanged: i64,
}

/// How serious an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "Warning",
            Severity::Error => "Error",
        }
    }
}

/// One thing a run found about one row or object.
#[derive(Debug, Clone)]
pub struct Item {
    pub severity: Severity,
    pub kind: &'static str,
    pub line_number: Option<i64>,
    pub external_id: Option<String>,
    pub message: String,
}

/// The activity of the run in progress.
pub struct Activity {
    pool: PgPool,
    pub id: Uuid,
    last_progress: Instant,
    pending_items: Vec<Item>,
    pub warnings: i64,
    pub errors: i64,
}

impl Activity {
    /// Starts (or, for a task run again after a crash, restarts) the activity: earlier items
    /// and counts are cleared, since the new attempt reports everything again.
    pub async fn start(pool: &PgPool, id: Uuid) -> Result<Self, sqlx::Error> {
        let mut transaction = pool.begin().await?;
        sqlx::query("DELETE FROM activity_items WHERE activity_id = $1")
            .bind(id)
            .execute(&mut *transaction)
            .await?;
        sqlx::query(
            "UPDATE activities SET status = 'InProgress', phase = 'Starting', started_at = now(), \
                 completed_at = NULL, message = NULL, objects_processed = 0, \
                 objects_total = NULL, added = 0, updated = 0, deleted = 0, unchanged = 0, \
                 errors = 0 \
             WHERE id = $1",
        )
        .bind(id)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(Self {
            pool: pool.clone(),
            id,
            last_progress: Instant::now(),
            pending_items: Vec::new(),
            warnings: 0,
            errors: 0,
        })
    }

    /// Enters a new phase; always written at once.
    pub async fn phase(&mut self, phase: &str, processed: i64, total: Option<i64>) {
        self.flush_items().await;
        self.write_progress(Some(phase), processed, total).await;
    }

    /// Reports progress within the phase, at most every half second.
    pub async fn progress(&mut self, processed: i64) {
        if self.last_progress.elapsed() >= PROGRESS_INTERVAL {
            self.flush_items().await;
            self.write_progress(None, processed, None).await;
        }
    }

    async fn write_progress(&mut self, phase: Option<&str>, processed: i64, total: Option<i64>) {
        self.last_progress = Instant::now();
        let written = sqlx::query(
            "UPDATE activities SET phase = coalesce($2, phase), objects_processed = $3, \
                 objects_total = coalesce($4, objects_total), errors = $5 \
             WHERE id = $1",
        )
        .bind(self.id)
        .bind(phase)
        .bind(processed)
        .bind(total)
        .bind(self.errors)
        .execute(&self.pool)
        .await;
        // Progress is for people watching; a run does not fail because one update did.
        if let Err(error) = written {
            tracing::warn!(activity = %self.id, %error, "cannot record the progress of a run");
        }
    }

    /// Records an item; items are written in batches.
    pub async fn item(&mut self, item: Item) {
        match item.severity {
            Severity::Warning => self.warnings += 1,
            Severity::Error => self.errors += 1,
        }
        self.pending_items.push(item);
        if self.pending_items.len() >= ITEM_BATCH {
            self.flush_items().await;
        }
    }

    /// Writes the items that wait in memory.
    pub async fn flush_items(&mut self) {
        if self.pending_items.is_empty() {
            return;
        }
        let items = std::mem::take(&mut self.pending_items);
        let mut severities = Vec::with_capacity(items.len());
        let mut kinds = Vec::with_capacity(items.len());
        let mut lines = Vec::with_capacity(items.len());
        let mut keys = Vec::with_capacity(items.len());
        let mut messages = Vec::with_capacity(items.len());
        for item in items {
            severities.push(item.severity.as_str());
            kinds.push(item.kind);
            lines.push(item.line_number);
            keys.push(item.external_id);
            messages.push(item.message);
        }
        let written = sqlx::query(
            "INSERT INTO activity_items \
                 (activity_id, severity, kind, line_number, external_id, message) \
             SELECT $1::uuid, * FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[], \
                                      $6::text[])",
        )
        .bind(self.id)
        .bind(&severities)
        .bind(&kinds)
        .bind(&lines)
        .bind(&keys)
        .bind(&messages)
        .execute(&self.pool)
        .await;
        if let Err(error) = written {
            tracing::error!(activity = %self.id, %error, "cannot record the items of a run");
        }
    }

    /// Ends the activity with its status, message and counts.
    pub async fn finish(
        mut self,
        status: ActivityStatus,
        message: &str,
        processed: i64,
        counts: Counts,
    ) -> Result<(), sqlx::Error> {
        self.flush_items().await;
        sqlx::query(
            "UPDATE activities SET status = $2, message = $3, phase = $4, \
                 objects_processed = $5, added = $6, updated = $7, deleted = $8, \
                 unchanged = $9, errors = $10, completed_at = now() \
             WHERE id = $1",
        )
        .bind(self.id)
        .bind(status.as_str())
        .bind(message)
        .bind(if status == ActivityStatus::FailedWithError {
            "Failed"
        } else {
            "Finished"
        })
        .bind(processed)
        .bind(counts.added)
        .bind(counts.updated)
        .bind(counts.deleted)
        .bind(counts.unchanged)
        .bind(self.errors)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The status a run that got to its end deserves, from what it reported.
    pub fn completed_status(&self) -> ActivityStatus {
        if self.errors > 0 {
            ActivityStatus::CompleteWithError
        } else if self.warnings > 0 {
            ActivityStatus::CompleteWithWarning
        } else {
            ActivityStatus::Complete
        }
    }
}
