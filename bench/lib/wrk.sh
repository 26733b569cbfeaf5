# shellcheck shell=bash
# Load generation with wrk, and reading its report into JSON. Source after common.sh.

# The same settings drive every target so that the figures compare. They can be overridden from
# the environment, for example BENCH_WRK_DURATION=30s for steadier numbers.
WRK_THREADS="${BENCH_WRK_THREADS:-2}"
WRK_CONNECTIONS="${BENCH_WRK_CONNECTIONS:-32}"
WRK_DURATION="${BENCH_WRK_DURATION:-10s}"
WRK_WARMUP="${BENCH_WRK_WARMUP:-2s}"

wrk_settings() {
    echo "wrk -t$WRK_THREADS -c$WRK_CONNECTIONS -d$WRK_DURATION --latency"
}

wrk_version() {
    # wrk prints its version on the first line of its usage text and exits non-zero.
    wrk -v 2>&1 | head -n 1 | awk '{ print $1, $2 }' || true
}

run_wrk() {
    # run_wrk URL REPORT: a discarded warm-up (it opens connections and fills pools), then the
    # measured run, whose text report is kept in REPORT.
    wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"$WRK_WARMUP" "$1" >/dev/null
    wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"$WRK_DURATION" --latency "$1" >"$2"
}

wrk_report_json() {
    # wrk_report_json REPORT: the figures of one wrk report as a JSON object; latencies in ms.
    awk '
        function milliseconds(value) {
            if (value ~ /us$/) return substr(value, 1, length(value) - 2) / 1000
            if (value ~ /ms$/) return substr(value, 1, length(value) - 2) + 0
            if (value ~ /s$/) return substr(value, 1, length(value) - 1) * 1000
            if (value ~ /m$/) return substr(value, 1, length(value) - 1) * 60000
            return -1
        }
        $1 == "50%" { p50 = milliseconds($2) }
        $1 == "90%" { p90 = milliseconds($2) }
        $1 == "99%" { p99 = milliseconds($2) }
        $2 == "requests" && $3 == "in" { requests = $1 }
        $1 == "Requests/sec:" { rps = $2 }
        /^ *Non-2xx or 3xx responses:/ { non_2xx = $NF }
        /^ *Socket errors:/ {
            gsub(/,/, "")
            socket_errors = $4 + $6 + $8 + $10
        }
        END {
            if (rps == "" || p99 == "") exit 1
            printf "{\"requests_per_second\": %.2f, ", rps
            printf "\"p50_ms\": %.3f, \"p90_ms\": %.3f, ", p50, p90
            printf "\"p99_ms\": %.3f, \"requests\": %d, ", p99, requests
            printf "\"non_2xx\": %d, \"socket_errors\": %d}\n", non_2xx, socket_errors
        }
    ' "$1" || fail "cannot read the wrk report \`$1\`"
}
