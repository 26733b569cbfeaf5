#!/usr/bin/env bash
# The backup benchmark: installs a bundle with the bundled database, imports 100,000 connector
# space objects of 20 attributes each (INSERT ... generate_series; the size of the guide's
# largest common import), then measures side by side on the same database
#   - `jim-install backup` (pg_dump -Fc in a helper container, the key volume, the archive with
#     its manifest and SHA-256s) against plain `pg_dump -Fc` through `docker exec`,
#   - `jim-install restore` (verify, keys and database, then up until ready) against plain
#     `pg_restore --clean --if-exists --single-transaction` with the services stopped,
# with the archive and dump sizes and the installer's peak memory. The report goes to stdout
# and bench/results/backup.{md,json}; the stack, its volumes and images are removed on exit.
set -euo pipefail

# shellcheck disable=SC2034 # common.sh reads it for message prefixes.
BENCH_NAME=backup
bench_lib="$(cd "$(dirname "$0")" && pwd)/lib"
# shellcheck source=lib/common.sh
source "$bench_lib/common.sh"
# shellcheck source=lib/release.sh
source "$bench_lib/release.sh"

OBJECTS="${BENCH_BACKUP_OBJECTS:-100000}"
READY_TIMEOUT_SECONDS="${BENCH_READY_TIMEOUT:-300}"

for binary in jim-bundle jim-install jim-web jim-worker jim-scheduler; do
    [ -x "$BENCH_RELEASE/$binary" ] || fail "\`$BENCH_RELEASE/$binary\` is missing" \
        "build the release binaries with \`make release\`, or run \`make bench\`"
done
need_package jq jq
need_package /usr/bin/time time
docker info >/dev/null 2>&1 ||
    fail "the Docker Engine does not answer" "start it (\`systemctl start docker\`), then retry"
docker compose version >/dev/null 2>&1 ||
    fail "\`docker compose\` (Compose v2) is missing" "install docker-compose-plugin"
[ "$OBJECTS" -ge 1 ] 2>/dev/null || fail "BENCH_BACKUP_OBJECTS must be a whole number, not \`$OBJECTS\`"

suffix="$(date +%s)$$"
version="0.1.0-bench.$suffix"
project="jimbackup$suffix"
postgres_reference="jim-bench-postgres:$suffix"
bundle_images=("jim-web:$version" "jim-worker:$version" "jim-scheduler:$version"
    "$postgres_reference")
export JIM_NO_PROGRESS=1
work="$(mktemp -d -t jim-bench-backup.XXXXXX)"
# shellcheck disable=SC2034 # release.sh's measure writes its logs there.
bench_work="$work"
site="$work/site"
label="label=com.docker.compose.project=$project"

cleanup() {
    local status=$?
    if [ -f "$site/compose/.env" ]; then
        "$BENCH_RELEASE/jim-install" down --dir "$site" --project "$project" >/dev/null 2>&1 ||
            true
    fi
    docker ps -aq --filter "$label" | xargs -r docker rm -f >/dev/null || true
    docker volume ls -q --filter "$label" | xargs -r docker volume rm >/dev/null || true
    docker network ls -q --filter "$label" | xargs -r docker network rm >/dev/null || true
    remove_images "${bundle_images[@]}"
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

service_container() {
    docker ps -q --filter "$label" --filter "label=com.docker.compose.service=$1"
}

psql_in_database() {
    docker exec -i "$(service_container jim.database)" psql -X -A -t -v ON_ERROR_STOP=1 \
        -U jim -d jim "$@"
}

say "building the database image and the bundle"
postgres_image_command "$work/postgres.tar" "$postgres_reference"
measure postgres-image "${POSTGRES_IMAGE_COMMAND[@]}"
bundle_command "$version" "$work/dist" "$work/postgres.tar"
measure bundle "${BUNDLE_COMMAND[@]}"
web_port="$(free_port)"
cat >"$work/answers.yml" <<ANSWERS
database:
  mode: bundled
sso:
  authority: https://idp.example.invalid/realms/jim
  clientId: jim-web
  secret: bench-secret
  apiScope: jim-api
  initialAdmin: 00000000-0000-0000-0000-000000000001
web:
  port: $web_port
ANSWERS
say "installing as project $project"
measure install "$BENCH_RELEASE/jim-install" install "$work/dist/jim-release-$version.tar.gz" \
    --dir "$site" --project "$project" --answers "$work/answers.yml" --ignore-preflight \
    --timeout "$READY_TIMEOUT_SECONDS"

say "importing $OBJECTS connector space objects with 20 attributes each"
psql_in_database <<SQL >/dev/null
INSERT INTO connected_systems (id, name, file_path, key_attribute)
VALUES ('11111111-1111-4111-8111-111111111111', 'Bench HR', 'hr.csv', 'employeeId');
INSERT INTO connector_space_objects (id, connected_system_id, object_type, external_id, attributes)
SELECT gen_random_uuid(), '11111111-1111-4111-8111-111111111111', 'person', 'E' || n,
       (SELECT jsonb_object_agg('attribute' || a, md5(n::text || '-' || a::text))
        FROM generate_series(1, 20) AS a)
FROM generate_series(1, $OBJECTS) AS n;
SQL
rows="$(psql_in_database -c 'SELECT count(*) FROM connector_space_objects')"
database_bytes="$(psql_in_database -c 'SELECT pg_database_size(current_database())')"
fingerprint() {
    psql_in_database -c "SELECT count(*) || ':' || md5(string_agg(external_id || attributes::text, ',' ORDER BY external_id)) FROM connector_space_objects"
}
original="$(fingerprint)"

# 1. Backups: the peer first, then the installer.
say "plain pg_dump -Fc"
measure peer-dump bash -c 'docker exec "$1" pg_dump -Fc -U jim -d jim >"$2"' _ \
    "$(service_container jim.database)" "$work/plain.dump"
peer_dump_ms="$MEASURED_MS"
peer_dump_bytes="$(file_bytes "$work/plain.dump")"
say "jim-install backup"
measure jim-backup "$BENCH_RELEASE/jim-install" backup --dir "$site" --project "$project" \
    --out "$work/backups"
jim_backup_ms="$MEASURED_MS"
jim_backup_peak="$MEASURED_PEAK_KIB"
archive="$(cat "$bench_work/jim-backup.out")"
archive_bytes="$(file_bytes "$archive")"

# 2. Restores: the peer with the JIM services stopped, then the installer's whole command.
say "plain pg_restore"
mapfile -t services < <(for service in jim.web jim.worker jim.scheduler; do
    service_container "$service"; done)
docker stop "${services[@]}" >/dev/null
measure peer-restore bash -c \
    'docker exec -i "$1" pg_restore --clean --if-exists --single-transaction -U jim -d jim <"$2"' \
    _ "$(service_container jim.database)" "$work/plain.dump"
peer_restore_ms="$MEASURED_MS"
docker start "${services[@]}" >/dev/null
[ "$(fingerprint)" = "$original" ] || fail "the data differs after pg_restore"
say "jim-install restore"
measure jim-restore "$BENCH_RELEASE/jim-install" restore "$archive" --dir "$site" \
    --project "$project" --timeout "$READY_TIMEOUT_SECONDS"
jim_restore_ms="$MEASURED_MS"
jim_restore_peak="$MEASURED_PEAK_KIB"
jim_restore_data_ms="$(line_offset_ms jim-restore '^restored; starting JIM')"
[ "$(fingerprint)" = "$original" ] || fail "the data differs after jim-install restore"

mkdir -p "$BENCH_RESULTS"
jq -n \
    --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --argjson machine "$(machine_summary_json)" \
    --arg revision "$(source_revision)" \
    --arg engine "$(docker version --format '{{.Server.Version}}' 2>/dev/null || echo unknown)" \
    --argjson objects "$rows" --argjson database_bytes "$database_bytes" \
    --argjson peer_dump_ms "$peer_dump_ms" --argjson peer_dump_bytes "$peer_dump_bytes" \
    --argjson jim_backup_ms "$jim_backup_ms" --argjson jim_backup_peak "$jim_backup_peak" \
    --argjson archive_bytes "$archive_bytes" \
    --argjson peer_restore_ms "$peer_restore_ms" \
    --argjson jim_restore_ms "$jim_restore_ms" --argjson jim_restore_peak "$jim_restore_peak" \
    --argjson jim_restore_data_ms "${jim_restore_data_ms:-null}" '
    def ratio($a; $b): if $b == 0 or $a == null then null else ($a / $b * 100 | round) / 100 end;
    {
        date: $date, machine: $machine, source: $revision, docker_engine: $engine,
        data: {connector_space_objects: $objects, attributes_per_object: 20,
               database_bytes: $database_bytes},
        backup: {jim_ms: $jim_backup_ms, jim_peak_kib: $jim_backup_peak,
                 jim_archive_bytes: $archive_bytes, peer_ms: $peer_dump_ms,
                 peer_dump_bytes: $peer_dump_bytes,
                 ratio_time_jim_to_peer: ratio($jim_backup_ms; $peer_dump_ms),
                 ratio_size_jim_to_peer: ratio($archive_bytes; $peer_dump_bytes)},
        restore: {jim_ms: $jim_restore_ms, jim_until_data_restored_ms: $jim_restore_data_ms,
                  jim_peak_kib: $jim_restore_peak, peer_ms: $peer_restore_ms,
                  ratio_time_jim_to_peer: ratio($jim_restore_ms; $peer_restore_ms),
                  ratio_data_restored_jim_to_peer: ratio($jim_restore_data_ms; $peer_restore_ms)}
    }' >"$BENCH_RESULTS/backup.json"

{
    echo "# Backup and restore"
    echo
    paragraph "$(jq -r '"\(.data.connector_space_objects) connector space objects of 20 attributes (database \(.data.database_bytes / 1048576 | floor) MiB), bundled database, Docker \(.docker_engine), \(.machine.nproc) CPUs, source \(.source), \(.date)."' "$BENCH_RESULTS/backup.json")"
    echo
    echo "| | jim-install | plain pg_dump / pg_restore | ratio |"
    echo "|---|---:|---:|---:|"
    jq -r '"| backup time | \(.backup.jim_ms) ms | \(.backup.peer_ms) ms | \(.backup.ratio_time_jim_to_peer) |",
           "| backup size | \(.backup.jim_archive_bytes) B | \(.backup.peer_dump_bytes) B | \(.backup.ratio_size_jim_to_peer) |",
           "| restore, until the data is back | \(.restore.jim_until_data_restored_ms) ms | \(.restore.peer_ms) ms | \(.restore.ratio_data_restored_jim_to_peer) |",
           "| restore, whole command until ready | \(.restore.jim_ms) ms | \(.restore.peer_ms) ms | \(.restore.ratio_time_jim_to_peer) |",
           "| jim-install peak memory (backup / restore) | \(.backup.jim_peak_kib) / \(.restore.jim_peak_kib) KiB | | |"' \
        "$BENCH_RESULTS/backup.json"
    echo
    paragraph "jim-install's backup adds the key volume, the manifest with SHA-256 of each part and a helper container; its restore verifies the archive first, stops and removes the JIM services, recreates the key volume and replaces the schema in one transaction, then starts the stack and waits until ready. The peer restores with the services stopped by hand and does none of that."
} >"$BENCH_RESULTS/backup.md"
cat "$BENCH_RESULTS/backup.md"
say "wrote $BENCH_RESULTS/backup.md and backup.json"
