#!/usr/bin/env bash
# The download benchmark: `jim-install download` of a release bundle from a release server on
# loopback (a throwaway nginx serving GitHub's releases API shape), against `curl -O` of the
# same file from the same server, in alternating order, plus the installer's peak memory while
# downloading. jim-install also looks the release up, fetches the checksums and verifies the
# SHA-256 before renaming; curl only writes the bytes. The file is random bytes under the
# bundle's name, so its size can be chosen (BENCH_DOWNLOAD_MIB, 512 by default). The report goes
# to stdout and to bench/results/download.{md,json}; nginx and the files are removed on exit.
set -euo pipefail

# shellcheck disable=SC2034 # common.sh reads it for message prefixes.
BENCH_NAME=download
bench_lib="$(cd "$(dirname "$0")" && pwd)/lib"
# shellcheck source=lib/common.sh
source "$bench_lib/common.sh"
# shellcheck source=lib/release.sh
source "$bench_lib/release.sh"
# shellcheck source=lib/nginx.sh
source "$bench_lib/nginx.sh"
# shellcheck source=lib/download-server.sh
source "$bench_lib/download-server.sh"

REPETITIONS="${BENCH_DOWNLOAD_REPETITIONS:-3}"
SIZE_MIB="${BENCH_DOWNLOAD_MIB:-512}"

[ -x "$BENCH_RELEASE/jim-install" ] || fail "\`$BENCH_RELEASE/jim-install\` is missing" \
    "build the release binaries with \`make release\`, or run \`make bench\`"
need_package jq jq
need_package /usr/bin/time time
need_package curl curl
need_package nginx nginx
for number in "$REPETITIONS" "$SIZE_MIB"; do
    [ "$number" -ge 1 ] 2>/dev/null ||
        fail "the BENCH_DOWNLOAD_* settings must be whole numbers of at least 1, not \`$number\`"
done

work="$(mktemp -d -t jim-bench-download.XXXXXX)"
chmod 711 "$work"
# shellcheck disable=SC2034 # release.sh's measure writes its logs there.
bench_work="$work"
cleanup() {
    local status=$?
    if [ -n "$NGINX_PID" ]; then
        kill "$NGINX_PID" 2>/dev/null || true
        wait "$NGINX_PID" 2>/dev/null || true
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

version="0.1.0"
name="jim-release-$version.tar.gz"
port="$(free_port)"
say "writing $SIZE_MIB MiB of random bytes as $name"
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$work/$name"
write_release_site "$work/server" "$port" "$version" "$work/$name"
start_nginx "$work/server" "$port"
bytes="$(file_bytes "$work/server/files/download/v$version/$name")"
url="http://127.0.0.1:$port/download/v$version/$name"
export JIM_NO_PROGRESS=1

jim_ms=() jim_peaks=() curl_ms=() curl_peaks=()
for round in $(seq 1 "$REPETITIONS"); do
    if [ $((round % 2)) -eq 1 ]; then order=(jim curl); else order=(curl jim); fi
    for who in "${order[@]}"; do
        say "round $round/$REPETITIONS: $who"
        rm -rf "$work/out"
        mkdir -p "$work/out"
        if [ "$who" = jim ]; then
            measure "jim-$round" "$BENCH_RELEASE/jim-install" download --quiet \
                --release-url "http://127.0.0.1:$port/api" --repository bench/jim \
                --out "$work/out"
            jim_ms+=("$MEASURED_MS")
            jim_peaks+=("$MEASURED_PEAK_KIB")
        else
            # shellcheck disable=SC2016 # The inner bash expands its own arguments.
            measure "curl-$round" bash -c 'cd "$1" && exec curl -sS -f -O "$2"' _ \
                "$work/out" "$url"
            curl_ms+=("$MEASURED_MS")
            curl_peaks+=("$MEASURED_PEAK_KIB")
        fi
        [ "$(file_bytes "$work/out/$name")" = "$bytes" ] || {
            echo "error: $who wrote a file of the wrong size" >&2
            exit 1
        }
    done
done

mkdir -p "$BENCH_RESULTS"
jq -n \
    --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --argjson machine "$(machine_summary_json)" \
    --arg revision "$(source_revision)" \
    --arg jim_install "$(tool_version "$BENCH_RELEASE/jim-install" --version)" \
    --arg curl "$(tool_version curl --version)" \
    --arg nginx "$(nginx_version)" \
    --argjson bytes "$bytes" \
    --argjson repetitions "$REPETITIONS" \
    --argjson jim_ms "$(json_numbers "${jim_ms[@]}")" \
    --argjson jim_peaks "$(json_numbers "${jim_peaks[@]}")" \
    --argjson curl_ms "$(json_numbers "${curl_ms[@]}")" \
    --argjson curl_peaks "$(json_numbers "${curl_peaks[@]}")" \
    '
    def median: sort | if length % 2 == 1 then .[length / 2 | floor]
        else ((.[length / 2 - 1] + .[length / 2]) / 2 | floor) end;
    def mbps($ms): if $ms == 0 then null else ($bytes / $ms / 1000 * 10 | round) / 10 end;
    {
        date: $date, machine: $machine,
        versions: {source: $revision, jim_install: $jim_install, curl: $curl, nginx: $nginx},
        file_bytes: $bytes, repetitions: $repetitions,
        jim: {ms: $jim_ms, median_ms: ($jim_ms | median), mb_per_s: mbps($jim_ms | median),
              peak_kib: $jim_peaks, max_peak_kib: ($jim_peaks | max)},
        curl: {ms: $curl_ms, median_ms: ($curl_ms | median), mb_per_s: mbps($curl_ms | median),
               peak_kib: $curl_peaks, max_peak_kib: ($curl_peaks | max)},
        ratio_throughput_jim_to_curl:
            (if ($jim_ms | median) == 0 then null
             else (($curl_ms | median) / ($jim_ms | median) * 100 | round) / 100 end)
    }' >"$BENCH_RESULTS/download.json"

{
    json="$BENCH_RESULTS/download.json"
    value() { jq -r "$1" "$json"; }
    echo "# JIM download benchmark"
    echo
    echo "- Date: $(value .date); $(value .machine.nproc) CPUs ($(value .machine.cpu))"
    echo "- Measured: $(value .versions.jim_install), commit $(value .versions.source)"
    echo "- Peer: $(value .versions.curl); server: nginx $(value .versions.nginx) on 127.0.0.1"
    echo "- File: $(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }') MiB," \
        "$REPETITIONS runs each, alternating order"
    echo
    row='| %-44s | %8s | %8s | %13s |\n'
    # shellcheck disable=SC2059 # The format is the row template above.
    {
        printf "$row" Procedure "Median s" "MB/s" "Peak RSS MiB"
        table_rule 44 8: 8: 13:
        printf "$row" "jim-install download (lookup, verify)" \
            "$(seconds "$(value .jim.median_ms)")" "$(value .jim.mb_per_s)" \
            "$(mib "$(value .jim.max_peak_kib)")"
        printf "$row" "curl -O" "$(seconds "$(value .curl.median_ms)")" \
            "$(value .curl.mb_per_s)" "$(mib "$(value .curl.max_peak_kib)")"
        printf "$row" "throughput ratio jim-install / curl" \
            "$(value .ratio_throughput_jim_to_curl)" "" ""
    }
    echo
    paragraph "jim-install's time includes the API lookup, the checksums assets, the SHA-256 of" \
        "the whole file after the transfer and the rename; curl's is the transfer alone."
} >"$BENCH_RESULTS/download.md"
cat "$BENCH_RESULTS/download.md"
say "wrote $BENCH_RESULTS/download.md and download.json"
