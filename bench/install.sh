#!/usr/bin/env bash
# The install benchmark: builds a release bundle, then measures on the local Docker Engine
#   - `jim-install verify` of the .tar.gz against the guide's check (`tar xzf`, then
#     `sha256sum -c checksums.sha256`),
#   - verifying and loading the images with jim-install against the guide's procedure by hand
#     (`tar xzf`, `sha256sum -c`, `docker load -i` for each image tar),
#   - the installer's peak memory while loading, for the bundle and for the same bundle with a
#     padding image of random bytes (1 GiB by default) added,
#   - `jim-install install` from the archive until JIM is ready and every container healthy,
#     and `jim-install up` after a `down`.
# The report goes to stdout and to bench/results/install.{md,json}; progress goes to stderr.
# The stack, its volumes, the images it loaded and its files are removed on exit, on failure
# too. Nothing is pulled: every image comes from the bundle.
set -euo pipefail

# shellcheck disable=SC2034 # common.sh reads it for message prefixes.
BENCH_NAME=install
bench_lib="$(cd "$(dirname "$0")" && pwd)/lib"
# shellcheck source=lib/common.sh
source "$bench_lib/common.sh"
# shellcheck source=lib/release.sh
source "$bench_lib/release.sh"
# shellcheck source=lib/padding-image.sh
source "$bench_lib/padding-image.sh"
# shellcheck source=lib/install-report.sh
source "$bench_lib/install-report.sh"

# How many timed runs of the verify and load comparisons; the report gives their median.
REPETITIONS="${BENCH_INSTALL_REPETITIONS:-3}"
# The size of the padding image's one layer, in MiB.
PADDING_MIB="${BENCH_PADDING_MIB:-1024}"
# How long the installer may wait for JIM to be ready, in seconds.
READY_TIMEOUT_SECONDS="${BENCH_READY_TIMEOUT:-300}"
# How long the machine is watched before the runs, to report the other work on it.
IDLE_SECONDS="${BENCH_IDLE_SECONDS:-3}"

# Preconditions: the binaries, the tools, and a Docker Engine with Compose v2.
for binary in jim-bundle jim-install jim-web jim-worker jim-scheduler; do
    [ -x "$BENCH_RELEASE/$binary" ] || fail "\`$BENCH_RELEASE/$binary\` is missing" \
        "build the release binaries with \`make release\`, or run \`make bench\`"
done
need_package jq jq
need_package /usr/bin/time time
need_package curl curl
command -v docker >/dev/null 2>&1 ||
    fail "\`docker\` is missing" "install Docker Engine 20.10 or later and Compose v2"
docker info >/dev/null 2>&1 ||
    fail "the Docker Engine does not answer" "start it (\`systemctl start docker\`), then retry"
docker compose version >/dev/null 2>&1 ||
    fail "\`docker compose\` (Compose v2) is missing" "install docker-compose-plugin"
for number in "$REPETITIONS" "$PADDING_MIB" "$READY_TIMEOUT_SECONDS"; do
    [ "$number" -ge 1 ] 2>/dev/null ||
        fail "the BENCH_* settings must be whole numbers of at least 1, not \`$number\`"
done

# Names of their own, so that nothing here touches a real installation or its images.
suffix="$(date +%s)$$"
version="0.1.0-bench.$suffix"
folder_name="jim-release-$version"
project="jimbench$suffix"
postgres_reference="jim-bench-postgres:$suffix"
padding_reference="jim-bench-padding:$suffix"
bundle_images=("jim-web:$version" "jim-worker:$version" "jim-scheduler:$version"
    "$postgres_reference")
export JIM_NO_PROGRESS=1
# The images' layers are dated by SOURCE_DATE_EPOCH. A date of its own gives every layer a digest
# no other image in the engine has; Docker skips a layer it already holds, which would make a
# load look faster than it is on a fresh host.
SOURCE_DATE_EPOCH="$(date +%s)"
export SOURCE_DATE_EPOCH

work="$(mktemp -d -t jim-bench-install.XXXXXX)"
# shellcheck disable=SC2034 # release.sh's measure writes its logs there.
bench_work="$work"
site="$work/site"

remove_stack() {
    # The installer stops the stack it started; whatever is left with the project's label
    # (containers, volumes, networks) is removed by hand, so that a failed run leaves nothing.
    if [ -f "$site/compose/.env" ]; then
        "$BENCH_RELEASE/jim-install" down --dir "$site" --project "$project" >/dev/null 2>&1 ||
            true
    fi
    local label="label=com.docker.compose.project=$project"
    docker ps -aq --filter "$label" | xargs -r docker rm -f >/dev/null || true
    docker volume ls -q --filter "$label" | xargs -r docker volume rm >/dev/null || true
    docker network ls -q --filter "$label" | xargs -r docker network rm >/dev/null || true
}

cleanup() {
    local status=$?
    remove_stack
    remove_images "${bundle_images[@]}" "$padding_reference"
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

require_images() {
    # require_images REFERENCE...: fails unless the engine has every image named.
    local reference
    for reference in "$@"; do
        docker image inspect "$reference" >/dev/null 2>&1 || {
            echo "error: the engine has no image \`$reference\` after loading" >&2
            exit 1
        }
    done
}

shared_layer_count() {
    # shared_layer_count REFERENCE...: how many layers of these images some other image in the
    # engine holds too.
    local ours ids others
    ours="$(docker image inspect --format '{{range .RootFS.Layers}}{{println .}}{{end}}' "$@" |
        grep . | sort -u)"
    ids="$(docker image inspect --format '{{.Id}}' "$@")"
    others="$(docker images --quiet --no-trunc | sort -u | { grep -v -x -F "$ids" || true; } |
        xargs -r docker image inspect --format '{{range .RootFS.Layers}}{{println .}}{{end}}' |
        { grep . || true; } | sort -u)"
    comm -12 <(echo "$ours") <(echo "$others") | grep -c . || true
}

printed_ready_seconds() {
    # printed_ready_seconds NAME: the N of the installer's "... healthy after N s" line.
    sed -n 's/^[0-9]* JIM is ready and every container healthy after \([0-9]*\) s$/\1/p' \
        "$bench_work/$1.err" | head -n 1
}

stack_timings_json() {
    # stack_timings_json NAME: when the `measure NAME` run of `install` or `up` reached each of
    # its stages, in ms from its start, read from its stamped stderr lines.
    local verified starting waiting ready
    verified="$(line_offset_ms "$1" '^verified JIM ')"
    starting="$(line_offset_ms "$1" '^starting JIM: ')"
    waiting="$(line_offset_ms "$1" '^waiting up to ')"
    ready="$(line_offset_ms "$1" '^JIM is ready ')"
    jq -n --arg verified "$verified" --argjson starting "${starting:-null}" \
        --argjson waiting "${waiting:-null}" --argjson ready "${ready:-null}" \
        --argjson wall "$MEASURED_MS" --argjson peak "$MEASURED_PEAK_KIB" \
        --argjson printed "$(printed_ready_seconds "$1" | grep . || echo null)" '{
            wall_ms: $wall, peak_kib: $peak, printed_ready_seconds: $printed,
            verified_at_ms: (if $verified == "" then null else ($verified | tonumber) end),
            compose_up_started_at_ms: $starting, compose_up_returned_at_ms: $waiting,
            ready_at_ms: $ready,
            compose_up_ms: ($waiting - $starting), wait_after_compose_up_ms: ($ready - $waiting),
            up_to_ready_ms: ($ready - $starting)
        }'
}

# What else the machine is doing, before this benchmark adds to it.
ticks_before="$(cpu_ticks)"
sleep "$IDLE_SECONDS"
busy_before="$(busy_percent "$ticks_before" "$(cpu_ticks)")"
load_average="$(cut -d ' ' -f 1 /proc/loadavg)"
say "the CPUs were $busy_before% busy in the $IDLE_SECONDS s before the runs"

# The bundle every comparison starts from.
say "building the database image and $folder_name"
postgres_image_command "$work/postgres.tar" "$postgres_reference"
measure postgres-image "${POSTGRES_IMAGE_COMMAND[@]}"
bundle_command "$version" "$work/dist" "$work/postgres.tar"
measure bundle "${BUNDLE_COMMAND[@]}"
archive="$work/dist/$folder_name.tar.gz"
rm -rf "${work:?}/dist/$folder_name"
tar -xzOf "$archive" "$folder_name/bundle.json" >"$work/bundle.json"
images_loaded_bytes="$(jq '[.images[].size] | add' "$work/bundle.json")"

# 1. Checking the archive: jim-install's single streaming pass against the guide's check.
# shellcheck disable=SC2016 # The inner bash expands its own arguments.
guide_check='set -e; mkdir "$1"; tar -C "$1" -xzf "$2"; cd "$1/$3"; sha256sum -c checksums.sha256'
verify_jim_ms=() verify_jim_peaks=() verify_guide_ms=()
for round in $(seq 1 "$REPETITIONS"); do
    if [ $((round % 2)) -eq 1 ]; then order=(jim guide); else order=(guide jim); fi
    for who in "${order[@]}"; do
        say "verify, round $round/$REPETITIONS: $who"
        if [ "$who" = jim ]; then
            measure "verify-jim-$round" "$BENCH_RELEASE/jim-install" verify "$archive"
            verify_jim_ms+=("$MEASURED_MS")
            verify_jim_peaks+=("$MEASURED_PEAK_KIB")
        else
            measure "verify-guide-$round" bash -c "$guide_check" _ "$work/guide" "$archive" \
                "$folder_name"
            verify_guide_ms+=("$MEASURED_MS")
            rm -rf "$work/guide"
        fi
    done
done

# 2. Verifying and loading. The installer's stand-alone commands are `verify` (of the archive,
# without writing it out) and `load` (from a folder), so its path extracts with tar in between;
# `install` does verify and extract in one pass (see 4). Every image is removed before each
# path, so that both really load.
# shellcheck disable=SC2016 # The inner bash expands its own arguments.
load_by_hand='set -e; cd "$1"; shift; for image in "$@"; do docker load -i "$image"; done'
mapfile -t image_files < <(jq -r '.images[].file' "$work/bundle.json")
jim_verify_ms=() jim_extract_ms=() jim_load_ms=() jim_total_ms=() jim_load_peaks=()
guide_extract_ms=() guide_check_ms=() guide_load_ms=() guide_total_ms=()
for round in $(seq 1 "$REPETITIONS"); do
    if [ $((round % 2)) -eq 1 ]; then order=(jim guide); else order=(guide jim); fi
    for who in "${order[@]}"; do
        say "verify and load, round $round/$REPETITIONS: $who"
        remove_images "${bundle_images[@]}"
        mkdir -p "$work/extracted"
        if [ "$who" = jim ]; then
            measure "load-jim-verify-$round" "$BENCH_RELEASE/jim-install" verify "$archive"
            jim_verify_ms+=("$MEASURED_MS")
            measure "load-jim-extract-$round" tar -C "$work/extracted" -xzf "$archive"
            jim_extract_ms+=("$MEASURED_MS")
            measure "load-jim-load-$round" "$BENCH_RELEASE/jim-install" load \
                --dir "$work/load-dir" "$work/extracted/$folder_name"
            jim_load_ms+=("$MEASURED_MS")
            jim_load_peaks+=("$MEASURED_PEAK_KIB")
            jim_total_ms+=($((jim_verify_ms[-1] + jim_extract_ms[-1] + jim_load_ms[-1])))
        else
            measure "load-guide-extract-$round" tar -C "$work/extracted" -xzf "$archive"
            guide_extract_ms+=("$MEASURED_MS")
            # shellcheck disable=SC2016 # The inner bash expands its own arguments.
            measure "load-guide-check-$round" bash -c 'cd "$1" && sha256sum -c checksums.sha256' \
                _ "$work/extracted/$folder_name"
            guide_check_ms+=("$MEASURED_MS")
            measure "load-guide-load-$round" bash -c "$load_by_hand" _ \
                "$work/extracted/$folder_name" "${image_files[@]}"
            guide_load_ms+=("$MEASURED_MS")
            guide_total_ms+=($((guide_extract_ms[-1] + guide_check_ms[-1] + guide_load_ms[-1])))
        fi
        require_images "${bundle_images[@]}"
        rm -rf "$work/extracted"
    done
done
shared_layers="$(shared_layer_count "${bundle_images[@]}")"
engine_sizes_json="$(for reference in "${bundle_images[@]}"; do
    jq -n --arg reference "$reference" \
        --argjson bytes "$(docker image inspect --format '{{.Size}}' "$reference")" \
        '{reference: $reference, engine_bytes: $bytes}'
done | jq -s -c .)"

# 3. The installer's memory while loading a bundle with a large padding image added: the same
# bundle, plus an image whose one layer is random bytes, loaded from the release folder.
say "writing a $PADDING_MIB MiB padding image"
write_padding_image "$work/padding.tar" "$padding_reference" "$PADDING_MIB" "$work/padding-work"
say "building $folder_name again with the padding image"
bundle_command "$version" "$work/dist-padded" "$work/postgres.tar" \
    --image-tar "padding.tar=$work/padding.tar"
measure bundle-padded "${BUNDLE_COMMAND[@]}"
padded_build_ms="$MEASURED_MS"
padded_build_peak_kib="$MEASURED_PEAK_KIB"
padded_folder="$work/dist-padded/$folder_name"
padded_archive_bytes="$(file_bytes "$work/dist-padded/$folder_name.tar.gz")"
# Only the release folder is loaded from; the rest would only hold disk space.
rm -f "$work/padding.tar" "$work/dist-padded/$folder_name.tar.gz"
padded_loaded_bytes="$(jq '[.images[].size] | add' "$padded_folder/bundle.json")"
remove_images "${bundle_images[@]}" "$padding_reference"
say "loading the padded bundle"
measure load-padded "$BENCH_RELEASE/jim-install" load --dir "$work/load-dir" "$padded_folder"
padded_load_ms="$MEASURED_MS"
padded_load_peak_kib="$MEASURED_PEAK_KIB"
require_images "${bundle_images[@]}" "$padding_reference"
remove_images "${bundle_images[@]}" "$padding_reference"
rm -rf "$work/dist-padded"

# 4. The whole installation from the archive, with the images removed first so that it loads
# them, until the installer sees JIM ready and every container healthy. Then down, and up again
# with the database already initialised.
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
log:
  level: Information
ANSWERS
say "installing as project $project, web port $web_port"
measure install "$BENCH_RELEASE/jim-install" install "$archive" --dir "$site" \
    --project "$project" --answers "$work/answers.yml" --ignore-preflight \
    --timeout "$READY_TIMEOUT_SECONDS"
install_json="$(stack_timings_json install)"
install_ready_status="$(http_status "http://127.0.0.1:$web_port/api/v1/health/ready")"
say "stopping the stack"
measure down "$BENCH_RELEASE/jim-install" down --dir "$site" --project "$project"
down_ms="$MEASURED_MS"
say "starting it again"
measure up "$BENCH_RELEASE/jim-install" up --dir "$site" --project "$project" \
    --timeout "$READY_TIMEOUT_SECONDS"
up_json="$(stack_timings_json up)"
up_ready_status="$(http_status "http://127.0.0.1:$web_port/api/v1/health/ready")"
say "removing the stack, its volumes and its images"
remove_stack
remove_images "${bundle_images[@]}"
rm -rf "$site"

mkdir -p "$BENCH_RESULTS"
jq -n \
    --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --argjson machine "$(machine_summary_json)" \
    --argjson busy_before "$busy_before" \
    --argjson idle_seconds "$IDLE_SECONDS" \
    --argjson load_average "$load_average" \
    --arg revision "$(source_revision)" \
    --arg jim_install "$(tool_version "$BENCH_RELEASE/jim-install" --version)" \
    --arg rustc "$(cd "$BENCH_ROOT" && rustc -V 2>/dev/null || echo unknown)" \
    --arg engine "$(docker version --format '{{.Server.Version}}' 2>/dev/null || echo unknown)" \
    --arg compose "$(tool_version docker compose version)" \
    --arg tar "$(tool_version tar --version)" \
    --arg sha256sum "$(tool_version sha256sum --version)" \
    --arg version "$version" \
    --arg project "$project" \
    --argjson repetitions "$REPETITIONS" \
    --argjson archive_bytes "$(file_bytes "$archive")" \
    --argjson images_loaded_bytes "$images_loaded_bytes" \
    --argjson image_files "$(printf '%s\n' "${image_files[@]}" | jq -R . | jq -s -c .)" \
    --argjson engine_sizes "$engine_sizes_json" \
    --argjson shared_layers "$shared_layers" \
    --arg source_date_epoch "$SOURCE_DATE_EPOCH" \
    --argjson verify_jim_ms "$(json_numbers "${verify_jim_ms[@]}")" \
    --argjson verify_jim_peaks "$(json_numbers "${verify_jim_peaks[@]}")" \
    --argjson verify_guide_ms "$(json_numbers "${verify_guide_ms[@]}")" \
    --argjson jim_verify_ms "$(json_numbers "${jim_verify_ms[@]}")" \
    --argjson jim_extract_ms "$(json_numbers "${jim_extract_ms[@]}")" \
    --argjson jim_load_ms "$(json_numbers "${jim_load_ms[@]}")" \
    --argjson jim_total_ms "$(json_numbers "${jim_total_ms[@]}")" \
    --argjson jim_load_peaks "$(json_numbers "${jim_load_peaks[@]}")" \
    --argjson guide_extract_ms "$(json_numbers "${guide_extract_ms[@]}")" \
    --argjson guide_check_ms "$(json_numbers "${guide_check_ms[@]}")" \
    --argjson guide_load_ms "$(json_numbers "${guide_load_ms[@]}")" \
    --argjson guide_total_ms "$(json_numbers "${guide_total_ms[@]}")" \
    --argjson padding_mib "$PADDING_MIB" \
    --argjson padded_loaded_bytes "$padded_loaded_bytes" \
    --argjson padded_archive_bytes "$padded_archive_bytes" \
    --argjson padded_build_ms "$padded_build_ms" \
    --argjson padded_build_peak_kib "$padded_build_peak_kib" \
    --argjson padded_load_ms "$padded_load_ms" \
    --argjson padded_load_peak_kib "$padded_load_peak_kib" \
    --argjson install "$install_json" \
    --arg install_ready_status "$install_ready_status" \
    --argjson down_ms "$down_ms" \
    --argjson up "$up_json" \
    --arg up_ready_status "$up_ready_status" \
    --argjson ready_timeout "$READY_TIMEOUT_SECONDS" \
    '
    def median: sort | if length % 2 == 1 then .[length / 2 | floor]
        else ((.[length / 2 - 1] + .[length / 2]) / 2 | floor) end;
    def ratio($a; $b): if $b == 0 then null else ($a / $b * 100 | round) / 100 end;
    def runs($ms): {ms: $ms, median_ms: ($ms | median)};
    {
        date: $date,
        machine: ($machine + {cpu_busy_percent_before_runs: $busy_before,
                              idle_seconds_watched: $idle_seconds,
                              load_average_1m_before_runs: $load_average}),
        versions: {source: $revision, jim_install: $jim_install, rustc: $rustc,
                   docker_engine: $engine, docker_compose: $compose, tar: $tar,
                   sha256sum: $sha256sum},
        setup: {version: $version, project: $project, archive_bytes: $archive_bytes,
                image_files: $image_files, images_bytes: $images_loaded_bytes,
                images_in_engine: $engine_sizes, source_date_epoch: $source_date_epoch,
                layers_shared_with_other_images: $shared_layers},
        verify: {
            repetitions: $repetitions,
            jim: (runs($verify_jim_ms) + {peak_kib: $verify_jim_peaks,
                                          max_peak_kib: ($verify_jim_peaks | max)}),
            guide: runs($verify_guide_ms),
            ratio_jim_to_guide: ratio($verify_jim_ms | median; $verify_guide_ms | median)
        },
        verify_and_load: {
            repetitions: $repetitions,
            jim: {verify: runs($jim_verify_ms), extract: runs($jim_extract_ms),
                  load: runs($jim_load_ms), total: runs($jim_total_ms)},
            guide: {extract: runs($guide_extract_ms), check: runs($guide_check_ms),
                    load: runs($guide_load_ms), total: runs($guide_total_ms)},
            ratios_jim_to_guide: {
                total: ratio($jim_total_ms | median; $guide_total_ms | median),
                load: ratio($jim_load_ms | median; $guide_load_ms | median)
            }
        },
        load_memory: {
            bundle: {loaded_bytes: $images_loaded_bytes, peak_kib: $jim_load_peaks,
                     median_peak_kib: ($jim_load_peaks | median),
                     max_peak_kib: ($jim_load_peaks | max)},
            padded: {padding_mib: $padding_mib, loaded_bytes: $padded_loaded_bytes,
                     load_ms: $padded_load_ms, peak_kib: $padded_load_peak_kib,
                     archive_bytes: $padded_archive_bytes,
                     jim_bundle_build_ms: $padded_build_ms,
                     jim_bundle_build_peak_kib: $padded_build_peak_kib},
            ratio_padded_to_bundle: ratio($padded_load_peak_kib; $jim_load_peaks | max),
            ratio_loaded_bytes: ratio($padded_loaded_bytes; $images_loaded_bytes)
        },
        stack: {
            ready_timeout_seconds: $ready_timeout,
            install: ($install + {ready_status_after: $install_ready_status}),
            down_ms: $down_ms,
            up_after_down: ($up + {ready_status_after: $up_ready_status})
        }
    }' >"$BENCH_RESULTS/install.json"

render_install_report "$BENCH_RESULTS/install.json" >"$BENCH_RESULTS/install.md"
cat "$BENCH_RESULTS/install.md"
say "wrote $BENCH_RESULTS/install.md and install.json"
