-- The first schema: service settings (with the maintenance flag), service heartbeats,
-- API keys, worker tasks with their run history, and schedules with their executions.

CREATE TABLE service_settings (
    key         text PRIMARY KEY,
    value       text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- A new database is in maintenance until the worker has converged the built-in data.
INSERT INTO service_settings (key, value) VALUES ('Maintenance.IsEnabled', 'true');

CREATE TABLE service_heartbeats (
    service       text NOT NULL,
    instance      text NOT NULL,
    host          text NOT NULL,
    version       text NOT NULL,
    state         text NOT NULL,
    current_work  text,
    started_at    timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    PRIMARY KEY (service, instance)
);

CREATE TABLE api_keys (
    id            uuid PRIMARY KEY,
    name          text NOT NULL,
    prefix        text NOT NULL,
    key_hash      text NOT NULL UNIQUE,
    role          text NOT NULL CHECK (role IN ('Administrator', 'Reader')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    last_used_at  timestamptz,
    revoked_at    timestamptz
);

CREATE TABLE schedules (
    id                uuid PRIMARY KEY,
    name              text NOT NULL UNIQUE,
    trigger_kind      text NOT NULL CHECK (trigger_kind IN ('Cron', 'Interval')),
    cron_expression   text,
    interval_seconds  integer CHECK (interval_seconds IS NULL OR interval_seconds > 0),
    task_kind         text NOT NULL,
    task_payload      jsonb NOT NULL DEFAULT '{}'::jsonb,
    enabled           boolean NOT NULL DEFAULT true,
    next_run_at       timestamptz,
    last_run_at       timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((trigger_kind = 'Cron' AND cron_expression IS NOT NULL)
        OR (trigger_kind = 'Interval' AND interval_seconds IS NOT NULL))
);

CREATE TABLE worker_tasks (
    id             uuid PRIMARY KEY,
    kind           text NOT NULL,
    payload        jsonb NOT NULL DEFAULT '{}'::jsonb,
    status         text NOT NULL DEFAULT 'Queued'
                   CHECK (status IN ('Queued', 'Running', 'Completed', 'Failed', 'Cancelled')),
    attempts       integer NOT NULL DEFAULT 0,
    max_attempts   integer NOT NULL DEFAULT 3,
    schedule_id    uuid REFERENCES schedules (id) ON DELETE SET NULL,
    queued_at      timestamptz NOT NULL DEFAULT now(),
    started_at     timestamptz,
    completed_at   timestamptz,
    claimed_by     text,
    heartbeat_at   timestamptz,
    error          text,
    result         jsonb
);

CREATE INDEX worker_tasks_queued ON worker_tasks (queued_at) WHERE status = 'Queued';
CREATE INDEX worker_tasks_running ON worker_tasks (heartbeat_at) WHERE status = 'Running';

-- One row for every time a worker ran a task, so that a retry after a crash is visible.
CREATE TABLE worker_task_runs (
    id           bigserial PRIMARY KEY,
    task_id      uuid NOT NULL REFERENCES worker_tasks (id) ON DELETE CASCADE,
    worker       text NOT NULL,
    attempt      integer NOT NULL,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    outcome      text
);

CREATE INDEX worker_task_runs_task ON worker_task_runs (task_id);

-- One row for every due run of a schedule; the unique key is what makes a run enqueue once.
CREATE TABLE schedule_executions (
    id           uuid PRIMARY KEY,
    schedule_id  uuid NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    due_at       timestamptz NOT NULL,
    task_id      uuid REFERENCES worker_tasks (id) ON DELETE SET NULL,
    enqueued_by  text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (schedule_id, due_at)
);
