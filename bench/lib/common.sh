# shellcheck shell=bash
# Helpers every benchmark script shares. Source it; it defines functions and a few variables and
# runs nothing else. Messages go to stderr so that stdout carries only results.

# The repository root, the folder that receives results (git-ignored), and the release binaries.
# shellcheck disable=SC2034 # The scripts that source this file read them.
BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BENCH_RESULTS="$BENCH_ROOT/bench/results"
BENCH_RELEASE="$BENCH_ROOT/target/x86_64-unknown-linux-gnu/release"

# The name of the running benchmark, for message prefixes.
BENCH_NAME="${BENCH_NAME:-bench}"

say() {
    echo "$BENCH_NAME: $*" >&2
}

fail() {
    # fail MESSAGE [HINT]: prints an error in the house shape and exits with 2 (environment).
    echo "error: $1" >&2
    if [ -n "${2:-}" ]; then
        echo "hint: $2" >&2
    fi
    exit 2
}

bench_apt_updated=false

need_package() {
    # need_package COMMAND PACKAGE: installs PACKAGE from Debian when COMMAND is missing.
    command -v "$1" >/dev/null 2>&1 && return 0
    [ "$(id -u)" -eq 0 ] || fail "\`$1\` is missing and only root can install \`$2\`" \
        "install it with \`sudo apt-get install $2\`, then run the benchmark again"

    export DEBIAN_FRONTEND=noninteractive
    if [ "$bench_apt_updated" = false ]; then
        say "updating the Debian package lists"
        apt-get update -qq
        bench_apt_updated=true
    fi

    # Packages such as nginx start their system service on installation; a benchmark wants
    # its own throwaway instance only, so service starts are refused while installing.
    local made_policy=false
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        made_policy=true
    fi
    say "installing $2"
    local status=0
    apt-get install -y -qq "$2" >/dev/null || status=$?
    if [ "$made_policy" = true ]; then
        rm -f /usr/sbin/policy-rc.d
    fi
    [ "$status" -eq 0 ] || fail "\`apt-get install $2\` failed (exit $status)"
}

free_port() {
    # free_port: prints a loopback TCP port that nothing answers on.
    local port
    for _ in $(seq 1 50); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    fail "found no free loopback port after 50 attempts"
}

http_status() {
    # http_status URL: prints the HTTP status code, or 000 when nothing answers.
    curl --silent --output /dev/null --max-time 2 --write-out '%{http_code}' "$1" || true
}

memory_kib() {
    # memory_kib PID FIELD: prints a /proc/PID/status field (VmRSS, VmHWM, ...) in KiB.
    awk -v field="$2:" '$1 == field { print $2 }' "/proc/$1/status"
}

mib() {
    # mib KIB: prints KIB as MiB with one decimal.
    awk -v kib="$1" 'BEGIN { printf "%.1f", kib / 1024 }'
}

ratio() {
    # ratio A B: prints A / B with two decimals, or n/a when B is zero.
    awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'
}

cpu_ticks() {
    # cpu_ticks: prints the machine's busy and total CPU ticks since boot, from /proc/stat.
    awk '$1 == "cpu" { total = 0; for (i = 2; i <= NF; i++) total += $i
                       print total - $5 - $6, total }' /proc/stat
}

busy_percent() {
    # busy_percent "BUSY TOTAL" "BUSY TOTAL": the share of CPU time that was busy in between.
    awk -v before="$1" -v after="$2" 'BEGIN {
        split(before, b, " "); split(after, a, " ")
        if (a[2] == b[2]) print 0; else printf "%.0f", 100 * (a[1] - b[1]) / (a[2] - b[2])
    }'
}

machine_summary_json() {
    # machine_summary_json: the machine a result was measured on, as a JSON object.
    local cpu memory_kib
    cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    memory_kib="$(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)"
    jq -n --arg cpu "$cpu" --arg kernel "$(uname -r)" \
        --argjson nproc "$(nproc)" --argjson memory_kib "$memory_kib" \
        '{nproc: $nproc, memory_kib: $memory_kib,
          memory_gib: (($memory_kib / 1048576 * 10 | round) / 10), cpu: $cpu, kernel: $kernel}'
}

source_revision() {
    # source_revision: the commit measured, with `-dirty` when the tree has local changes.
    local revision
    revision="$(git -C "$BENCH_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    if ! git -C "$BENCH_ROOT" diff --quiet HEAD 2>/dev/null; then
        revision="$revision-dirty"
    fi
    echo "$revision"
}
