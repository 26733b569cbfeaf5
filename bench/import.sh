#!/usr/bin/env bash
# The import benchmark: full imports of File connector CSVs of 10,000, 50,000 and 100,000 people
# (twenty attributes, two multi-valued, one a reference; written by jim-generate-csv with a fixed
# seed) by the release jim-worker against a throwaway PostgreSQL database. For each size it
# measures
#   - the wall time of the first full import (every object added) and of a second one of the
#     same file (every object unchanged), and objects per second,
#   - the worker's peak resident memory (VmHWM) before and after the imports, with a fresh
#     worker per size so that each peak belongs to its size alone,
#   - side by side, PostgreSQL's own `\copy` of the same file into a plain table of twenty text
#     columns (no parsing of values, no comparison): the floor of any CSV load here.
# The 100,000 figure is compared with the deployment guide's 2.3 GB worker peak for the same
# import. The report goes to stdout and bench/results/import.{md,json}; progress to stderr.
# Everything it starts (workers, the database, the files) is removed on exit.
set -euo pipefail

# shellcheck disable=SC2034 # common.sh reads it for message prefixes.
BENCH_NAME=import
bench_lib="$(cd "$(dirname "$0")" && pwd)/lib"
# shellcheck source=lib/common.sh
source "$bench_lib/common.sh"
# shellcheck source=lib/import-report.sh
source "$bench_lib/import-report.sh"
# shellcheck source=lib/postgres.sh
source "$bench_lib/postgres.sh"

SIZES=(${BENCH_IMPORT_SIZES:-10000 50000 100000})
SEED=1
# The deployment guide: "a worker peak working set of approximately 2.3 GB" for a full import
# of 100,000 objects with 20 attributes. Read as decimal gigabytes.
UPSTREAM_PEAK_BYTES=2300000000
READY_TIMEOUT_SECONDS=60
IMPORT_TIMEOUT_SECONDS=900

for binary in jim-worker jim-generate-csv; do
    [ -x "$BENCH_RELEASE/$binary" ] || fail "\`$BENCH_RELEASE/$binary\` is missing" \
        "build the release binaries with \`make release\`, or run \`make bench\`"
done
need_package jq jq
need_package /usr/bin/time time
need_postgres

work="$(mktemp -d -t jim-bench-import.XXXXXX)"
files="$work/connector-files"
mkdir -p "$files" "$work/logs"
database="jim_bench_import_$(date +%s)_$$"
database_created=false
worker_pid=""

stop_worker() {
    [ -n "$worker_pid" ] || return 0
    kill -TERM "$worker_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$worker_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$worker_pid" 2>/dev/null || true
    wait "$worker_pid" 2>/dev/null || true
    worker_pid=""
}

cleanup() {
    local status=$?
    stop_worker
    if [ "$status" -ne 0 ] && [ -s "$work/worker.out" ]; then
        say "last lines from jim-worker:"
        tail -n 20 "$work/worker.out" >&2
    fi
    if [ "$database_created" = true ]; then
        drop_database "$database"
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now_ms() { echo $(($(date +%s%N) / 1000000)); }
new_uuid() { cat /proc/sys/kernel/random/uuid; }

start_worker() {
    # start_worker: a fresh release worker on the bench database, waited on until ready.
    database_env "$database"
    env "${DB_ENV[@]}" \
        JIM_LOG_LEVEL=Warning JIM_LOG_PATH="$work/logs" \
        JIM_HEARTBEAT_PATH="$work/worker.heartbeat" JIM_WORKER_POLL_SECONDS=1 \
        JIM_CONNECTOR_FILES_PATH="$files" \
        "$BENCH_RELEASE/jim-worker" >>"$work/worker.out" 2>&1 &
    worker_pid=$!
    local deadline=$((SECONDS + READY_TIMEOUT_SECONDS))
    until [ "$(psql_on "$database" "SELECT value FROM service_settings \
              WHERE key = 'Maintenance.IsEnabled'" 2>/dev/null)" = false ]; do
        kill -0 "$worker_pid" 2>/dev/null || fail "jim-worker exited during start-up"
        [ "$SECONDS" -lt "$deadline" ] || fail "jim-worker was not ready in time"
        sleep 0.2
    done
}

run_import() {
    # run_import RUN_PROFILE: queues a run as the web's execute route does, waits for its end,
    # and prints a JSON object with the wall time and the activity's figures.
    local profile="$1" activity task started finished
    activity="$(new_uuid)"
    task="$(new_uuid)"
    started="$(now_ms)"
    psql_on "$database" "BEGIN;
        INSERT INTO worker_tasks (id, kind, payload) VALUES ('$task', 'RunProfile',
            jsonb_build_object('runProfileId', '$profile', 'activityId', '$activity'));
        INSERT INTO activities (id, connected_system_id, run_profile_id, task_id, run_type,
                                status, initiated_by)
            SELECT '$activity', connected_system_id, id, '$task', run_type, 'InProgress',
                   'bench' FROM run_profiles WHERE id = '$profile';
        COMMIT;" >/dev/null
    local deadline=$((SECONDS + IMPORT_TIMEOUT_SECONDS))
    while [ "$(psql_on "$database" "SELECT status FROM activities WHERE id = '$activity'")" \
        = InProgress ]; do
        kill -0 "$worker_pid" 2>/dev/null || fail "jim-worker exited during the import"
        [ "$SECONDS" -lt "$deadline" ] || fail "the import did not finish in time"
        sleep 0.05
    done
    finished="$(now_ms)"
    psql_on "$database" "SELECT json_build_object(
            'wall_ms', $((finished - started)),
            'activity_ms', round(extract(epoch FROM completed_at - started_at) * 1000),
            'status', status, 'message', message, 'objects', objects_processed,
            'added', added, 'updated', updated, 'deleted', deleted, 'unchanged', unchanged,
            'errors', errors)
        FROM activities WHERE id = '$activity'"
}

psql_on postgres "CREATE DATABASE $database" >/dev/null
database_created=true
say "starting a worker once to migrate the database"
start_worker
stop_worker

sizes_json="[]"
for size in "${SIZES[@]}"; do
    file="people-$size.csv"
    say "generating $size people"
    generate_started="$(now_ms)"
    "$BENCH_RELEASE/jim-generate-csv" --objects "$size" --seed "$SEED" \
        --output "$files/$file" >/dev/null
    generate_ms=$(($(now_ms) - generate_started))

    system="$(new_uuid)"
    profile="$(new_uuid)"
    psql_on "$database" "INSERT INTO connected_systems (id, name, file_path, key_attribute,
            multi_valued_attributes, reference_attributes)
        VALUES ('$system', 'People $size', '$file', 'id', '{groups,proxyAddresses}',
                '{manager}');
        INSERT INTO run_profiles (id, connected_system_id, name, run_type)
        VALUES ('$profile', '$system', 'Full import', 'FullImport');" >/dev/null

    say "importing $size people with a fresh worker"
    start_worker
    idle_hwm="$(memory_kib "$worker_pid" VmHWM)"
    first="$(run_import "$profile")"
    first_hwm="$(memory_kib "$worker_pid" VmHWM)"
    say "importing the same $size people again (every object unchanged)"
    second="$(run_import "$profile")"
    second_hwm="$(memory_kib "$worker_pid" VmHWM)"
    stop_worker

    # The peer: PostgreSQL's own COPY of the same file, through psql, into plain text columns.
    say "loading the same file with psql \\copy"
    columns="$(head -n 1 "$files/$file" | tr ',' '\n' |
        awk '{ printf "%s\"%s\" text", (NR > 1 ? ", " : ""), $0 }')"
    psql_on "$database" "CREATE TABLE copy_$size ($columns)" >/dev/null
    copy_started="$(now_ms)"
    PGPASSWORD="$DB_PASSWORD" /usr/bin/time -v -o "$work/copy-$size.time" \
        psql --host="${DB_HOST%:*}" --port="${DB_HOST##*:}" --username="$DB_USERNAME" \
        --dbname="$database" --no-psqlrc --quiet --set=ON_ERROR_STOP=1 \
        --command="\\copy copy_$size FROM '$files/$file' WITH (FORMAT csv, HEADER true)" \
        >/dev/null
    copy_ms=$(($(now_ms) - copy_started))
    copy_rss="$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/copy-$size.time")"
    copied="$(psql_on "$database" "SELECT count(*) FROM copy_$size")"
    psql_on "$database" "DROP TABLE copy_$size" >/dev/null

    sizes_json="$(jq --argjson size "$size" --argjson bytes "$(stat -c %s "$files/$file")" \
        --argjson generate_ms "$generate_ms" --argjson first "$first" \
        --argjson second "$second" --argjson idle_hwm "$idle_hwm" \
        --argjson first_hwm "$first_hwm" --argjson second_hwm "$second_hwm" \
        --argjson copy_ms "$copy_ms" --argjson copy_rss "$copy_rss" --argjson copied "$copied" \
        '. + [{objects: $size, file_bytes: $bytes, generate_ms: $generate_ms,
               first_import: ($first + {worker_vm_hwm_kib: $first_hwm,
                   objects_per_second: ($size * 1000 / $first.activity_ms | round)}),
               second_import: ($second + {worker_vm_hwm_kib: $second_hwm,
                   objects_per_second: ($size * 1000 / $second.activity_ms | round)}),
               worker_idle_vm_hwm_kib: $idle_hwm,
               psql_copy: {wall_ms: $copy_ms, max_rss_kib: $copy_rss, rows: $copied,
                   objects_per_second: ($size * 1000 / $copy_ms | round)}}]' \
        <<<"$sizes_json")"
    rm -f "$files/$file"
done

mkdir -p "$BENCH_RESULTS"
json="$BENCH_RESULTS/import.json"
jq -n --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --argjson machine "$(machine_summary_json)" \
    --arg source "$(source_revision)" \
    --arg postgres "$(psql_on postgres 'SHOW server_version')" \
    --arg command "bash bench/import.sh (BENCH_IMPORT_SIZES=\"${SIZES[*]}\")" \
    --argjson seed "$SEED" \
    --argjson upstream_bytes "$UPSTREAM_PEAK_BYTES" \
    --argjson sizes "$sizes_json" \
    '{date: $date, machine: $machine, command: $command, seed: $seed,
      versions: {source: $source, postgres: $postgres},
      sizes: $sizes,
      upstream: {worker_peak_bytes: $upstream_bytes,
                 source: "deployment guide: worker peak working set for a full import of 100,000 objects with 20 attributes"},
      ratios: ([$sizes[] | select(.objects == 100000)] | first // null |
               if . == null then null else
               {worker_peak_to_upstream: ((.second_import.worker_vm_hwm_kib * 1024
                                           / $upstream_bytes) * 10000 | round / 10000)} end)}' \
    >"$json"
render_import_report "$json" | tee "$BENCH_RESULTS/import.md"
