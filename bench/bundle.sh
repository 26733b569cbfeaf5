#!/usr/bin/env bash
# The bundle benchmark: builds the release bundle from the release binaries several times and
# measures
#   - the wall time of `jim-bundle build` (images, checksums and archive) and of its archive
#     step alone, side by side with `tar czf` and `tar -I pigz -cf` of the same release folder,
#   - the peak memory of `jim-bundle build`,
#   - the size of each image tar, of the .tar.gz and of the release folder,
#   - whether every build wrote the same archive, byte for byte.
# The report goes to stdout and to bench/results/bundle.{md,json}; progress goes to stderr.
# Everything it writes outside bench/results is removed on exit, on failure too. It needs no
# Docker Engine: the images are written from the binaries and the host's Debian packages.
set -euo pipefail

# shellcheck disable=SC2034 # common.sh reads it for message prefixes.
BENCH_NAME=bundle
bench_lib="$(cd "$(dirname "$0")" && pwd)/lib"
# shellcheck source=lib/common.sh
source "$bench_lib/common.sh"
# shellcheck source=lib/release.sh
source "$bench_lib/release.sh"
# shellcheck source=lib/bundle-report.sh
source "$bench_lib/bundle-report.sh"

# How many timed builds of each kind; the report gives their median.
REPETITIONS="${BENCH_BUNDLE_REPETITIONS:-3}"
# How long the machine is watched before the runs, to report the other work on it.
IDLE_SECONDS="${BENCH_IDLE_SECONDS:-3}"

# Preconditions: the binaries a bundle is made of, and the tools.
for binary in jim-bundle jim-install jim-web jim-worker jim-scheduler; do
    [ -x "$BENCH_RELEASE/$binary" ] || fail "\`$BENCH_RELEASE/$binary\` is missing" \
        "build the release binaries with \`make release\`, or run \`make bench\`"
done
need_package jq jq
need_package /usr/bin/time time
need_package pigz pigz
[ "$REPETITIONS" -ge 1 ] 2>/dev/null ||
    fail "BENCH_BUNDLE_REPETITIONS must be a whole number of at least 1, not \`$REPETITIONS\`"

# Upstream's images start from Microsoft's .NET bases, which cannot be pulled here, so their
# sizes are not measured. What the .NET image maintainers publish is quoted as a reference,
# with its source; nothing here is a figure of this run.
UPSTREAM_SIZES="$(jq -n '{
    measured: false,
    bases: {
        web: "mcr.microsoft.com/dotnet/aspnet:10.0-noble, plus Ubuntu packages",
        worker: "mcr.microsoft.com/dotnet/runtime:10.0-noble, plus Ubuntu packages",
        scheduler: "mcr.microsoft.com/dotnet/runtime:10.0-noble"
    },
    bases_source: ("the Dockerfiles in TetronIO/JIM, src/JIM.Web, src/JIM.Worker and"
        + " src/JIM.Scheduler"),
    references: [{
        image: ("a minimal ASP.NET Core web API sample, framework-dependent, on"
            + " mcr.microsoft.com/dotnet/aspnet:10.0 (Ubuntu 24.04)"),
        compressed_mb: 92.48,
        source: ("dotnet/dotnet-docker, documentation/sample-image-size-report.md"
            + " (a snapshot from November 2025)")
    }],
    not_found: ("no published size of the mcr.microsoft.com/dotnet/runtime base, which the"
        + " worker and scheduler use, was found")
}')"

work="$(mktemp -d -t jim-bench-bundle.XXXXXX)"
# shellcheck disable=SC2034 # release.sh's measure writes its logs there.
bench_work="$work"
cleanup() {
    local status=$?
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A version and a database tag of their own, so that nothing collides with a real release.
suffix="$(date +%s)$$"
version="0.1.0-bench.$suffix"
folder_name="jim-release-$version"
export JIM_NO_PROGRESS=1

bundle_steps_json() {
    # bundle_steps_json NAME: how the wall time of the `measure NAME` build divides among its
    # steps, from the stamped `[n/N] ...` lines: each step lasts until the next line, the last
    # one until the `built ...` line.
    awk -v start="$MEASURED_START_US" '
        function close_step(at) { if (kind != "") spent[kind] += at - since }
        {
            stamp = $1
            if ($2 ~ /^\[[0-9]+\/[0-9]+\]$/) {
                if (first == "") first = stamp
                close_step(stamp)
                since = stamp
                if ($3 == "write" && $4 == "archive") kind = "archive"
                else if ($3 == "write" && $5 == "checksums.sha256") kind = "checksums"
                else if ($4 == "image") kind = "images"
                else kind = "files"
            } else if ($2 == "built") {
                close_step(stamp)
                kind = ""
                built = stamp
            }
        }
        END {
            printf "{\"plan\": %d, \"images\": %d, \"files\": %d, \"checksums\": %d, ",
                (first - start) / 1000, spent["images"] / 1000, spent["files"] / 1000,
                spent["checksums"] / 1000
            printf "\"archive\": %d, \"until_built_line\": %d}\n",
                spent["archive"] / 1000, (built - start) / 1000
        }' "$bench_work/$1.err"
}

# What else the machine is doing, before this benchmark adds to it.
ticks_before="$(cpu_ticks)"
sleep "$IDLE_SECONDS"
busy_before="$(busy_percent "$ticks_before" "$(cpu_ticks)")"
load_average="$(cut -d ' ' -f 1 /proc/loadavg)"
say "the CPUs were $busy_before% busy in the $IDLE_SECONDS s before the runs"

# The database image, then one untimed build: it fills the page cache as a release machine's
# would be, and gives the release folder that tar and pigz archive in every round.
say "building the database image"
postgres_image_command "$work/postgres.tar" "jim-bench-postgres:$suffix"
measure postgres-image "${POSTGRES_IMAGE_COMMAND[@]}"
postgres_image_ms="$MEASURED_MS"
say "building $folder_name once before timing"
bundle_command "$version" "$work/reference" "$work/postgres.tar"
measure reference "${BUNDLE_COMMAND[@]}"
tree="$work/reference/$folder_name"
reference_digest="$(cut -d ' ' -f 1 "$work/reference/$folder_name.tar.gz.sha256")"

# The timed rounds. The order of the three commands turns each round, so that neither the
# first nor the last position favours one of them.
tar_gzip_command=(tar -C "$work/reference" -czf "$work/peer.tar.gz" "$folder_name")
tar_pigz_command=(tar -C "$work/reference" -I pigz -cf "$work/peer.tar.gz" "$folder_name")
build_ms=() build_peaks=() tar_gzip_ms=() tar_gzip_peaks=() tar_pigz_ms=() tar_pigz_peaks=()
steps_json='[]'
identical=true
for round in $(seq 1 "$REPETITIONS"); do
    order=(jim-bundle tar-gzip tar-pigz)
    shift_by=$(((round - 1) % 3))
    order=("${order[@]:shift_by}" "${order[@]:0:shift_by}")
    for command in "${order[@]}"; do
        say "round $round/$REPETITIONS: $command"
        case "$command" in
            jim-bundle)
                bundle_command "$version" "$work/round" "$work/postgres.tar"
                measure "build-$round" "${BUNDLE_COMMAND[@]}"
                build_ms+=("$MEASURED_MS")
                build_peaks+=("$MEASURED_PEAK_KIB")
                steps_json="$(jq -c --argjson steps "$(bundle_steps_json "build-$round")" \
                    '. + [$steps]' <<<"$steps_json")"
                digest="$(cut -d ' ' -f 1 "$work/round/$folder_name.tar.gz.sha256")"
                [ "$digest" = "$reference_digest" ] || identical=false
                rm -rf "$work/round"
                ;;
            tar-gzip)
                measure "tar-gzip-$round" "${tar_gzip_command[@]}"
                tar_gzip_ms+=("$MEASURED_MS")
                tar_gzip_peaks+=("$MEASURED_PEAK_KIB")
                tar_gzip_bytes="$(file_bytes "$work/peer.tar.gz")"
                rm -f "$work/peer.tar.gz"
                ;;
            tar-pigz)
                measure "tar-pigz-$round" "${tar_pigz_command[@]}"
                tar_pigz_ms+=("$MEASURED_MS")
                tar_pigz_peaks+=("$MEASURED_PEAK_KIB")
                tar_pigz_bytes="$(file_bytes "$work/peer.tar.gz")"
                rm -f "$work/peer.tar.gz"
                ;;
        esac
    done
done

# Sizes, from the reference build: each image tar as written and through gzip -6, which is
# roughly what a registry stores and reports as an image's compressed size.
images_json='[]'
while IFS=$'\t' read -r file reference; do
    images_json="$(jq -c --arg file "$file" --arg reference "$reference" \
        --argjson bytes "$(file_bytes "$tree/$file")" \
        --argjson gzip_bytes "$(pigz -6 -c "$tree/$file" | wc -c)" \
        '. + [{file: $file, reference: $reference, bytes: $bytes, gzip_bytes: $gzip_bytes}]' \
        <<<"$images_json")"
done < <(jq -r '.images[] | [.file, .reference] | @tsv' "$tree/bundle.json")

# Writes a command line as one string, for the report.
command_text() {
    local text
    text="$(printf '%q ' "$@")"
    text="${text% }"
    text="${text//"$work"/\$WORK}"
    echo "${text//"$BENCH_ROOT"/.}"
}

mkdir -p "$BENCH_RESULTS"
bundle_command "$version" "$work/round" "$work/postgres.tar"
jq -n \
    --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --argjson machine "$(machine_summary_json)" \
    --argjson busy_before "$busy_before" \
    --argjson idle_seconds "$IDLE_SECONDS" \
    --argjson load_average "$load_average" \
    --arg revision "$(source_revision)" \
    --arg jim_bundle "$(tool_version "$BENCH_RELEASE/jim-bundle" --version)" \
    --arg rustc "$(cd "$BENCH_ROOT" && rustc -V 2>/dev/null || echo unknown)" \
    --arg tar "$(tool_version tar --version)" \
    --arg gzip "$(tool_version gzip --version)" \
    --arg pigz "$(tool_version pigz --version)" \
    --arg version "$version" \
    --argjson repetitions "$REPETITIONS" \
    --argjson postgres_image_ms "$postgres_image_ms" \
    --arg jim_command "$(command_text "${BUNDLE_COMMAND[@]}")" \
    --arg tar_gzip_command "$(command_text "${tar_gzip_command[@]}")" \
    --arg tar_pigz_command "$(command_text "${tar_pigz_command[@]}")" \
    --argjson build_ms "$(json_numbers "${build_ms[@]}")" \
    --argjson build_peaks "$(json_numbers "${build_peaks[@]}")" \
    --argjson steps "$steps_json" \
    --argjson tar_gzip_ms "$(json_numbers "${tar_gzip_ms[@]}")" \
    --argjson tar_gzip_peaks "$(json_numbers "${tar_gzip_peaks[@]}")" \
    --argjson tar_pigz_ms "$(json_numbers "${tar_pigz_ms[@]}")" \
    --argjson tar_pigz_peaks "$(json_numbers "${tar_pigz_peaks[@]}")" \
    --argjson tar_gzip_bytes "$tar_gzip_bytes" \
    --argjson tar_pigz_bytes "$tar_pigz_bytes" \
    --argjson identical "$identical" \
    --arg digest "$reference_digest" \
    --argjson images "$images_json" \
    --argjson archive_bytes "$(file_bytes "$work/reference/$folder_name.tar.gz")" \
    --argjson tree_bytes "$(tree_bytes "$tree")" \
    --argjson tree_files "$(find "$tree" -type f | wc -l)" \
    --argjson upstream "$UPSTREAM_SIZES" \
    '
    def median: sort | if length % 2 == 1 then .[length / 2 | floor]
        else ((.[length / 2 - 1] + .[length / 2]) / 2 | floor) end;
    def ratio($a; $b): if $b == 0 then null else ($a / $b * 100 | round) / 100 end;
    def runs($ms; $peaks): {ms: $ms, median_ms: ($ms | median),
        peak_kib: $peaks, median_peak_kib: ($peaks | median), max_peak_kib: ($peaks | max)};
    ($steps | map(keys) | add | unique) as $names
    | ($names | map({key: ., value: ([$steps[][.]] | median)}) | from_entries) as $step_medians
    | ($build_ms | median) as $build
    | ($tar_gzip_ms | median) as $gzip_ms
    | ($tar_pigz_ms | median) as $pigz_ms
    | {
        date: $date,
        machine: ($machine + {cpu_busy_percent_before_runs: $busy_before,
                              idle_seconds_watched: $idle_seconds,
                              load_average_1m_before_runs: $load_average}),
        versions: {source: $revision, jim_bundle: $jim_bundle, rustc: $rustc, tar: $tar,
                   gzip: $gzip, pigz: $pigz},
        setup: {version: $version, postgres_image_ms: $postgres_image_ms},
        build: {
            repetitions: $repetitions,
            commands: {jim_bundle: $jim_command, tar_gzip: $tar_gzip_command,
                       tar_pigz: $tar_pigz_command},
            jim_bundle: (runs($build_ms; $build_peaks) + {
                steps_ms: $steps, steps_median_ms: $step_medians,
                archive_share_percent:
                    (($step_medians.archive / $step_medians.until_built_line * 1000 | round)
                        / 10)
            }),
            tar_gzip: runs($tar_gzip_ms; $tar_gzip_peaks),
            tar_pigz: runs($tar_pigz_ms; $tar_pigz_peaks),
            ratios: {
                jim_build_to_tar_gzip: ratio($build; $gzip_ms),
                jim_build_to_tar_pigz: ratio($build; $pigz_ms),
                jim_archive_step_to_tar_gzip: ratio($step_medians.archive; $gzip_ms),
                jim_archive_step_to_tar_pigz: ratio($step_medians.archive; $pigz_ms)
            },
            reproducible: {builds: ($repetitions + 1), identical_archives: $identical,
                           sha256: $digest}
        },
        sizes: {
            images: $images,
            bundle: {archive_bytes: $archive_bytes, tree_bytes: $tree_bytes,
                     tree_files: $tree_files},
            same_folder_archived: {jim_bundle_bytes: $archive_bytes,
                                   tar_gzip_bytes: $tar_gzip_bytes,
                                   tar_pigz_bytes: $tar_pigz_bytes}
        },
        upstream: $upstream
    }' >"$BENCH_RESULTS/bundle.json"

render_bundle_report "$BENCH_RESULTS/bundle.json" >"$BENCH_RESULTS/bundle.md"
cat "$BENCH_RESULTS/bundle.md"
say "wrote $BENCH_RESULTS/bundle.md and bundle.json"
