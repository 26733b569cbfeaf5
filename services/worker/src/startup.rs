//! The worker's life: start-up in order, then the task loop until shutdown.

use anyhow::Context;
use jim_common::database;
use jim_common::heartbeat::{self, ServiceState, StatusBoard};
use jim_common::shutdown::Shutdown;
use jim_common::{Service, VERSION};
use sqlx::PgPool;

use crate::WorkerConfig;
use crate::queue::{self, Outcome, TaskContext};

pub(crate) async fn run(config: WorkerConfig) -> anyhow::Result<()> {
    let shutdown = Shutdown::listen();
    let board = StatusBoard::new(Service::Worker);

    // The heartbeat file starts before anything that can take long, so that Docker does not
    // mark the worker unhealthy while it waits for the database or migrates.
    heartbeat::spawn_file_heartbeat(config.heartbeat_path.clone());

    board.set(ServiceState::WaitingForDatabase, None);
    let pool = tokio::select! {
        pool = database::wait_for_database(&config.database, "jim.worker", 10) => pool?,
        () = shutdown.wait() => return Ok(()),
    };

    board.set(
        ServiceState::Migrating,
        Some("Applying database migrations".into()),
    );
    database::migrate(&pool)
        .await
        .context("cannot migrate the database")?;
    heartbeat::spawn_row_heartbeat(board.clone(), pool.clone());

    converge_built_in_data(&pool)
        .await
        .context("cannot converge the built-in data")?;
    database::set_maintenance(&pool, false)
        .await
        .context("cannot leave maintenance mode")?;
    tracing::info!(
        version = VERSION,
        schema = ?database::schema_version(&pool).await.ok().flatten(),
        "JIM.Worker is ready; the application has left maintenance mode"
    );

    let recovered = queue::recover_stale(&pool, config.stale_after).await?;
    if recovered > 0 {
        tracing::warn!(
            recovered,
            "Recovered tasks left running by a worker that stopped"
        );
    }

    board.set(ServiceState::Ready, None);
    task_loop(&config, &pool, &board, &shutdown).await;

    board.set(ServiceState::Stopping, None);
    let _ = board.record(&pool).await;
    tracing::info!("JIM.Worker stopped");
    Ok(())
}

/// Claims and runs tasks until shutdown; sleeps when the queue is empty.
async fn task_loop(config: &WorkerConfig, pool: &PgPool, board: &StatusBoard, shutdown: &Shutdown) {
    let context = TaskContext {
        connector_files_root: config.connector_files_root.clone(),
    };
    let mut idle_rounds: u32 = 0;
    while !shutdown.requested() {
        // Recovery is cheap (an indexed update), but once every few idle rounds is plenty.
        if idle_rounds % 5 == 4 {
            match queue::recover_stale(pool, config.stale_after).await {
                Ok(0) => {}
                Ok(count) => tracing::warn!(count, "Recovered tasks from a worker that stopped"),
                Err(error) => tracing::error!(%error, "cannot recover stale tasks"),
            }
        }

        let task = match queue::claim_next(pool, board.instance()).await {
            Ok(task) => task,
            Err(error) => {
                tracing::error!(%error, "cannot claim a task; retrying");
                shutdown.sleep(config.poll_interval).await;
                continue;
            }
        };
        let Some(task) = task else {
            idle_rounds = idle_rounds.wrapping_add(1);
            board.set(ServiceState::Ready, None);
            shutdown.sleep(config.poll_interval).await;
            continue;
        };

        idle_rounds = 0;
        board.set(
            ServiceState::Busy,
            Some(format!("{} task {}", task.kind, task.id)),
        );
        let outcome = queue::execute(pool, &task, board.instance(), &context).await;
        match &outcome {
            Outcome::Completed => {
                tracing::info!(task = %task.id, kind = %task.kind, "Task completed")
            }
            Outcome::Failed(error) => {
                tracing::error!(task = %task.id, kind = %task.kind, "Task failed: {error}")
            }
        }
    }
}

/// Makes the built-in data what this release expects, on every start. Today that is the
/// nightly maintenance schedule, created once and never overwritten after an administrator
/// changed it.
async fn converge_built_in_data(pool: &PgPool) -> Result<(), sqlx::Error> {
    let created = sqlx::query(
        "INSERT INTO schedules (id, name, trigger_kind, cron_expression, task_kind, task_payload) \
         VALUES ($1, 'Nightly database maintenance', 'Cron', '0 3 * * *', \
                 'DatabaseMaintenance', '{\"operation\": \"PurgeHistory\", \"retentionDays\": 90}') \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(uuid::Uuid::new_v4())
    .execute(pool)
    .await?
    .rows_affected();
    if created > 0 {
        tracing::info!("Created the built-in schedule `Nightly database maintenance`");
    }
    Ok(())
}
