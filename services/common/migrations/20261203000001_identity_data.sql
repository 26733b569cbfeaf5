-- Identity data: connected systems (the File connector), their schema as read from the CSV
-- header, the connector space, run profiles, activities with their per-row items, and
-- schedules that run a run profile.

CREATE TABLE connected_systems (
    id                     uuid PRIMARY KEY,
    name                   text NOT NULL UNIQUE CHECK (char_length(name) BETWEEN 1 AND 200),
    description            text,
    connector_type         text NOT NULL DEFAULT 'File' CHECK (connector_type IN ('File')),
    -- Relative to the connector files folder (JIM_CONNECTOR_FILES_PATH, /connector-files).
    file_path              text NOT NULL,
    delimiter              text NOT NULL DEFAULT ',' CHECK (char_length(delimiter) = 1),
    key_attribute          text NOT NULL,
    multi_value_separator  text NOT NULL DEFAULT '|' CHECK (char_length(multi_value_separator) = 1),
    object_type            text NOT NULL DEFAULT 'person',
    -- Which header columns hold several values, and which hold the key of another object.
    multi_valued_attributes text[] NOT NULL DEFAULT '{}',
    reference_attributes    text[] NOT NULL DEFAULT '{}',
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);

-- The schema as the last schema import read it from the file's header.
CREATE TABLE connected_system_attributes (
    connected_system_id  uuid NOT NULL REFERENCES connected_systems (id) ON DELETE CASCADE,
    name                 text NOT NULL,
    position             integer NOT NULL,
    data_type            text NOT NULL DEFAULT 'Text' CHECK (data_type IN ('Text', 'Reference')),
    is_multi_valued      boolean NOT NULL DEFAULT false,
    is_key               boolean NOT NULL DEFAULT false,
    PRIMARY KEY (connected_system_id, name)
);

-- Connector space objects. Values are a JSON object keyed by attribute name: a string for a
-- single-valued attribute, an array of strings for a multi-valued one. A reference attribute
-- holds the key of the object it points to; connector_space_references resolves it.
CREATE TABLE connector_space_objects (
    id                   uuid PRIMARY KEY,
    connected_system_id  uuid NOT NULL REFERENCES connected_systems (id) ON DELETE CASCADE,
    object_type          text NOT NULL,
    external_id          text NOT NULL,
    attributes           jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (connected_system_id, external_id)
);

CREATE TABLE connector_space_references (
    object_id            uuid NOT NULL REFERENCES connector_space_objects (id) ON DELETE CASCADE,
    attribute_name       text NOT NULL,
    target_external_id   text NOT NULL,
    -- NULL while the key names no object in the same connector space (a dangling reference).
    target_object_id     uuid REFERENCES connector_space_objects (id) ON DELETE SET NULL,
    PRIMARY KEY (object_id, attribute_name, target_external_id)
);

CREATE INDEX connector_space_references_target ON connector_space_references (target_object_id);

CREATE TABLE run_profiles (
    id                   uuid PRIMARY KEY,
    connected_system_id  uuid NOT NULL REFERENCES connected_systems (id) ON DELETE CASCADE,
    name                 text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    run_type             text NOT NULL CHECK (run_type IN ('FullImport', 'Export')),
    -- Overrides the connected system's file (relative to the connector files folder).
    file_path            text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (connected_system_id, name)
);

-- A schedule may run a run profile (task kind RunProfile) instead of a built-in task.
ALTER TABLE schedules
    ADD COLUMN run_profile_id uuid REFERENCES run_profiles (id) ON DELETE CASCADE;

CREATE TABLE activities (
    id                   uuid PRIMARY KEY,
    connected_system_id  uuid REFERENCES connected_systems (id) ON DELETE SET NULL,
    run_profile_id       uuid REFERENCES run_profiles (id) ON DELETE SET NULL,
    task_id              uuid UNIQUE REFERENCES worker_tasks (id) ON DELETE SET NULL,
    schedule_id          uuid REFERENCES schedules (id) ON DELETE SET NULL,
    run_type             text NOT NULL CHECK (run_type IN ('FullImport', 'Export')),
    status               text NOT NULL DEFAULT 'InProgress'
                         CHECK (status IN ('InProgress', 'Complete', 'CompleteWithWarning',
                                           'CompleteWithError', 'FailedWithError', 'Cancelled')),
    initiated_by         text NOT NULL,
    message              text,
    -- Progress: the phase the run is in, and objects processed of the total when known.
    phase                text NOT NULL DEFAULT 'Queued',
    objects_processed    bigint NOT NULL DEFAULT 0,
    objects_total        bigint,
    added                bigint NOT NULL DEFAULT 0,
    updated              bigint NOT NULL DEFAULT 0,
    deleted              bigint NOT NULL DEFAULT 0,
    unchanged            bigint NOT NULL DEFAULT 0,
    errors               bigint NOT NULL DEFAULT 0,
    created_at           timestamptz NOT NULL DEFAULT now(),
    started_at           timestamptz,
    completed_at         timestamptz
);

CREATE INDEX activities_created ON activities (created_at DESC);
CREATE INDEX activities_connected_system ON activities (connected_system_id, created_at DESC);

-- What a run reported about single rows and objects: duplicate keys, malformed rows,
-- dangling references. Written outside the import's transaction so a failed run keeps them.
CREATE TABLE activity_items (
    id            bigserial PRIMARY KEY,
    activity_id   uuid NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    severity      text NOT NULL CHECK (severity IN ('Warning', 'Error')),
    kind          text NOT NULL,
    line_number   bigint,
    external_id   text,
    message       text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX activity_items_activity ON activity_items (activity_id, id);
