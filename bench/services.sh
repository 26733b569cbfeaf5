#!/usr/bin/env bash
# The services benchmark: starts jim-web, jim-worker and jim-scheduler from the release build
# against a throwaway PostgreSQL database, then measures
#   - requests per second and latency of /api/v1/health and /api/v1/health/ready under wrk,
#     side by side with a throwaway nginx that serves static files of the same size,
#   - the memory of each service when idle, and the peak of jim-web under load,
#   - the size of each binary, and that it is statically linked.
# The report goes to stdout and to bench/results/services.{md,json}; progress goes to stderr.
# Everything it starts (services, nginx, the database) is removed on exit, on failure too.
set -euo pipefail

# shellcheck disable=SC2034 # common.sh reads it for message prefixes.
BENCH_NAME=services
bench_lib="$(cd "$(dirname "$0")" && pwd)/lib"
# shellcheck source=lib/common.sh
source "$bench_lib/common.sh"
# shellcheck source=lib/wrk.sh
source "$bench_lib/wrk.sh"
# shellcheck source=lib/nginx.sh
source "$bench_lib/nginx.sh"
# shellcheck source=lib/services-report.sh
source "$bench_lib/services-report.sh"
# shellcheck source=lib/postgres.sh
source "$bench_lib/postgres.sh"

SERVICES=(jim-web jim-worker jim-scheduler)
# How long the services idle after readiness before their memory is read.
IDLE_SECONDS="${BENCH_IDLE_SECONDS:-5}"
# How long the services may take to become ready (start-up and migrating an empty database).
READY_TIMEOUT_SECONDS=60

# Preconditions: the binaries, the tools, and a reachable database server.
for service in "${SERVICES[@]}"; do
    [ -x "$BENCH_RELEASE/$service" ] || fail "\`$BENCH_RELEASE/$service\` is missing" \
        "build the release binaries with \`make release\`, or run \`make bench\`"
done
need_package wrk wrk
need_package nginx nginx
need_package file file
need_package curl curl
need_package jq jq
need_package pgrep procps
need_postgres

work="$(mktemp -d -t jim-bench-services.XXXXXX)"
# The nginx workers run unprivileged and must pass through to their files in here.
chmod 711 "$work"
database="jim_bench_$(date +%s)_$$"
database_created=false
declare -A service_pids=()

cleanup() {
    local status=$?
    stop_nginx

    # SIGTERM first so that the services shut down as they would under Compose; SIGKILL after
    # five seconds so that nothing is left running whatever happens.
    local name
    for name in "${!service_pids[@]}"; do
        kill -TERM "${service_pids[$name]}" 2>/dev/null || true
    done
    for name in "${!service_pids[@]}"; do
        for _ in $(seq 1 50); do
            kill -0 "${service_pids[$name]}" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "${service_pids[$name]}" 2>/dev/null || true
        wait "${service_pids[$name]}" 2>/dev/null || true
    done

    # After a failure (not an interruption), what the services printed usually says why.
    if [ "$status" -ne 0 ] && [ "$status" -ne 130 ] && [ "$status" -ne 143 ]; then
        for name in "${!service_pids[@]}"; do
            if [ -s "$work/$name.out" ]; then
                say "last lines from $name:"
                tail -n 20 "$work/$name.out" >&2
            fi
        done
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

start_service() {
    # start_service NAME: starts one service against the bench database, in the background.
    local name="$1"
    mkdir -p "$work/logs/$name"
    database_env "$database"
    env "${DB_ENV[@]}" \
        JIM_LOG_LEVEL=Warning JIM_LOG_PATH="$work/logs/$name" \
        JIM_HEARTBEAT_PATH="$work/$name.heartbeat" JIM_LISTEN_ADDRESS="127.0.0.1:$web_port" \
        "$BENCH_RELEASE/$name" >"$work/$name.out" 2>&1 &
    service_pids[$name]=$!
}

wait_until_ready() {
    # wait_until_ready URL: waits for a 200 from URL while every service is still running.
    local deadline=$((SECONDS + READY_TIMEOUT_SECONDS)) name
    while [ "$(http_status "$1")" != 200 ]; do
        for name in "${!service_pids[@]}"; do
            kill -0 "${service_pids[$name]}" 2>/dev/null ||
                fail "\`$name\` exited before the services were ready" \
                    "its last lines follow; run it by hand with the same JIM_* variables"
        done
        [ "$SECONDS" -lt "$deadline" ] ||
            fail "\`$1\` did not answer 200 within $READY_TIMEOUT_SECONDS s"
        sleep 0.1
    done
}

memory_json() {
    # memory_json PID: VmRSS and VmHWM of one process, in KiB.
    jq -n --argjson rss "$(memory_kib "$1" VmRSS)" --argjson hwm "$(memory_kib "$1" VmHWM)" \
        '{vm_rss_kib: $rss, vm_hwm_kib: $hwm}'
}

# Start the services against a database of their own, and time how long until ready.
say "creating the database $database"
psql_on postgres "CREATE DATABASE $database"
database_created=true
web_port="$(free_port)"
jim="http://127.0.0.1:$web_port"
started_ns="$(date +%s%N)"
for service in "${SERVICES[@]}"; do
    start_service "$service"
done
say "waiting for $jim/api/v1/health/ready"
wait_until_ready "$jim/api/v1/health/ready"
ready_ms=$((($(date +%s%N) - started_ns) / 1000000))
say "ready after $ready_ms ms"

# The peer serves copies of the bodies that jim-web has just sent, so sizes match exactly.
nginx_folder="$work/nginx"
nginx_port="$(free_port)"
while [ "$nginx_port" = "$web_port" ]; do nginx_port="$(free_port)"; done
peer="http://127.0.0.1:$nginx_port"
mkdir -p "$nginx_folder/files"
curl --silent --fail "$jim/api/v1/health" >"$nginx_folder/files/health.json"
curl --silent --fail "$jim/api/v1/health/ready" >"$nginx_folder/files/ready.json"
write_nginx_config "$nginx_folder" "$nginx_port"
start_nginx "$nginx_folder" "$nginx_port"

# Idle memory, once start-up work has settled. The CPU time the machine spends meanwhile is
# mostly other work on the machine, which the load runs below will compete with.
say "idling for $IDLE_SECONDS s"
ticks_before="$(cpu_ticks)"
sleep "$IDLE_SECONDS"
busy_while_idle="$(busy_percent "$ticks_before" "$(cpu_ticks)")"
load_average="$(cut -d ' ' -f 1 /proc/loadavg)"
idle_json="{}"
for service in "${SERVICES[@]}"; do
    idle_json="$(jq --arg name "$service" \
        --argjson memory "$(memory_json "${service_pids[$service]}")" \
        '.[$name] = $memory' <<<"$idle_json")"
done

# Load: each endpoint on jim-web, then the same path on nginx, with the same wrk settings.
load_json="{}"
web_after_json="{}"
for endpoint in health ready; do
    case "$endpoint" in
        health) path=/api/v1/health ;;
        ready) path=/api/v1/health/ready ;;
    esac
    for server in jim-web nginx; do
        case "$server" in
            jim-web) base="$jim" ;;
            nginx) base="$peer" ;;
        esac
        say "$(wrk_settings) $base$path"
        run_wrk "$base$path" "$work/wrk-$endpoint-$server.txt"
        load_json="$(jq --arg endpoint "$endpoint" --arg server "$server" \
            --argjson figures "$(wrk_report_json "$work/wrk-$endpoint-$server.txt")" \
            '.[$endpoint][$server] = $figures' <<<"$load_json")"
    done
    web_after_json="$(jq --arg endpoint "$endpoint" \
        --argjson memory "$(memory_json "${service_pids[jim-web]}")" \
        '.[$endpoint] = $memory' <<<"$web_after_json")"
done
nginx_peak_kib="$(nginx_peak_kib)"
nginx_processes=$((1 + $(pgrep -c -P "$NGINX_PID")))

# The binaries as they ship.
binaries_json="{}"
for service in "${SERVICES[@]}"; do
    binary="$BENCH_RELEASE/$service"
    description="$(file -b "$binary")"
    static=false
    case "$description" in *"statically linked"* | *"static-pie linked"*) static=true ;; esac
    binaries_json="$(jq --arg name "$service" --argjson bytes "$(stat -c %s "$binary")" \
        --arg file "$description" --argjson static "$static" \
        '.[$name] = {bytes: $bytes, mib: (($bytes / 1048576 * 100 | round) / 100),
                     static: $static, file: $file}' <<<"$binaries_json")"
done

mkdir -p "$BENCH_RESULTS"
jq -n \
    --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --argjson machine "$(machine_summary_json)" \
    --argjson busy_while_idle "$busy_while_idle" \
    --argjson load_average "$load_average" \
    --arg revision "$(source_revision)" \
    --arg jim "$("$BENCH_RELEASE/jim-web" --version)" \
    --arg rustc "$(cd "$BENCH_ROOT" && rustc -V 2>/dev/null || echo unknown)" \
    --arg wrk "$(wrk_version)" \
    --arg nginx "$(nginx_version)" \
    --arg settings "$(wrk_settings)" \
    --arg warmup "$WRK_WARMUP" \
    --argjson ready_ms "$ready_ms" \
    --argjson idle_seconds "$IDLE_SECONDS" \
    --argjson health_bytes "$(stat -c %s "$nginx_folder/files/health.json")" \
    --argjson ready_bytes "$(stat -c %s "$nginx_folder/files/ready.json")" \
    --argjson load "$load_json" \
    --argjson idle "$idle_json" \
    --argjson web_after "$web_after_json" \
    --argjson nginx_peak_kib "$nginx_peak_kib" \
    --argjson nginx_processes "$nginx_processes" \
    --argjson binaries "$binaries_json" \
    '{
        date: $date,
        machine: ($machine + {cpu_busy_percent_while_services_idle: $busy_while_idle,
                              load_average_1m_before_load: $load_average}),
        versions: {source: $revision, jim: $jim, rustc: $rustc, wrk: $wrk, nginx: $nginx},
        load: ({settings: $settings, warmup: $warmup, log_level: "Warning",
                body_bytes: {health: $health_bytes, ready: $ready_bytes}} + $load),
        ratios_jim_to_nginx: ($load | with_entries(.value = {
            requests_per_second: ((.value["jim-web"].requests_per_second
                / .value.nginx.requests_per_second * 100 | round) / 100),
            p99: ((.value["jim-web"].p99_ms / .value.nginx.p99_ms * 100 | round) / 100)
        })),
        startup: {ready_ms: $ready_ms},
        memory: {
            idle_after_seconds: $idle_seconds, idle: $idle,
            jim_web_after_load: $web_after,
            jim_web_peak_kib: $web_after.ready.vm_hwm_kib,
            nginx_peak_kib: $nginx_peak_kib, nginx_processes: $nginx_processes,
            ratio_jim_web_to_nginx_peak:
                (($web_after.ready.vm_hwm_kib / $nginx_peak_kib * 100 | round) / 100)
        },
        binaries: $binaries
    }' >"$BENCH_RESULTS/services.json"

render_services_report "$BENCH_RESULTS/services.json" >"$BENCH_RESULTS/services.md"
cat "$BENCH_RESULTS/services.md"
say "wrote $BENCH_RESULTS/services.md and services.json"
