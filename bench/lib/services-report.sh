# shellcheck shell=bash
# Renders bench/results/services.json as the Markdown report that services.sh prints and saves.
# The columns are padded so that the same text reads well in a terminal. Source after common.sh.

render_services_report() {
    # render_services_report JSON: prints the report for one services.json.
    local json="$1"
    value() { jq -r "$1" "$json"; }
    kib_as_mib() { mib "$(value "$1")"; }

    local cpus
    cpus="$(value .machine.nproc)"
    echo "# JIM services benchmark"
    echo
    echo "- Date: $(value .date)"
    echo "- Machine: $cpus CPUs ($(value .machine.cpu)), $(value .machine.memory_gib) GiB" \
        "memory, Linux $(value .machine.kernel)"
    echo "- Measured: $(value .versions.jim), commit $(value .versions.source)," \
        "$(value .versions.rustc)"
    echo "- Peer and tools: $(value .versions.nginx), $(value .versions.wrk)"
    echo "- Load: \`$(value .load.settings)\` per row, after a $(value .load.warmup) warm-up," \
        "on loopback"
    echo "- Other work on the machine: CPUs" \
        "$(value .machine.cpu_busy_percent_while_services_idle)% busy while the services" \
        "idled, 1-minute load average" \
        "$(value .machine.load_average_1m_before_load) before the load runs"
    echo "- Start-up: $(value .startup.ready_ms) ms from launching the three services to the" \
        "first 200 from /api/v1/health/ready (this includes migrating an empty database)"
    echo

    echo "## Throughput and latency"
    echo
    local row='| %-20s | %-11s | %10s | %7s | %7s | %7s | %13s |\n'
    # shellcheck disable=SC2059 # The format is the row template above.
    {
        printf "$row" Endpoint Server Requests/s "p50 ms" "p99 ms" Non-2xx "Socket errors"
        printf '|%s|%s|%s|%s|%s|%s|%s|\n' "-$(dashes 20)-" "-$(dashes 11)-" \
            "-$(dashes 10):" "-$(dashes 7):" "-$(dashes 7):" "-$(dashes 7):" "-$(dashes 13):"
        local endpoint path server
        for endpoint in health ready; do
            case "$endpoint" in
                health) path=/api/v1/health ;;
                ready) path=/api/v1/health/ready ;;
            esac
            for server in jim-web nginx; do
                printf "$row" "$path" "$server" \
                    "$(value ".load.${endpoint}[\"$server\"].requests_per_second | round")" \
                    "$(value ".load.${endpoint}[\"$server\"].p50_ms" | xargs printf '%.2f')" \
                    "$(value ".load.${endpoint}[\"$server\"].p99_ms" | xargs printf '%.2f')" \
                    "$(value ".load.${endpoint}[\"$server\"].non_2xx")" \
                    "$(value ".load.${endpoint}[\"$server\"].socket_errors")"
            done
            printf "$row" "$path" "jim / nginx" \
                "$(value ".ratios_jim_to_nginx.$endpoint.requests_per_second")" "" \
                "$(value ".ratios_jim_to_nginx.$endpoint.p99")" "" ""
        done
    }
    echo
    echo "A requests/s ratio above 1 means jim-web served more than nginx; a p99 ratio above 1"
    echo "means jim-web was slower at the 99th percentile. The bodies are the same size (health"
    echo "$(value .load.body_bytes.health) bytes, ready $(value .load.body_bytes.ready) bytes):" \
        "nginx serves copies of what jim-web sent."
    echo
    echo "/api/v1/health/ready queries PostgreSQL on every request; nginx reads a static file and"
    echo "makes no database round trip, so that row compares different work on purpose: it shows"
    echo "what readiness costs next to the cheapest possible answer."
    echo

    echo "## Memory"
    echo
    row='| %-13s | %-42s | %9s | %9s |\n'
    # shellcheck disable=SC2059 # The format is the row template above.
    {
        printf "$row" Process When "VmRSS MiB" "VmHWM MiB"
        printf '|%s|%s|%s|%s|\n' "-$(dashes 13)-" "-$(dashes 42)-" "-$(dashes 9):" \
            "-$(dashes 9):"
        local service idle
        idle="idle, $(value .memory.idle_after_seconds) s after ready"
        for service in jim-web jim-worker jim-scheduler; do
            printf "$row" "$service" "$idle" \
                "$(kib_as_mib ".memory.idle[\"$service\"].vm_rss_kib")" \
                "$(kib_as_mib ".memory.idle[\"$service\"].vm_hwm_kib")"
        done
        printf "$row" jim-web "after the /api/v1/health runs" \
            "$(kib_as_mib .memory.jim_web_after_load.health.vm_rss_kib)" \
            "$(kib_as_mib .memory.jim_web_after_load.health.vm_hwm_kib)"
        printf "$row" jim-web "after the /api/v1/health/ready runs (peak)" \
            "$(kib_as_mib .memory.jim_web_after_load.ready.vm_rss_kib)" \
            "$(kib_as_mib .memory.jim_web_after_load.ready.vm_hwm_kib)"
        printf "$row" nginx \
            "after all runs, $(value .memory.nginx_processes) processes summed (peak)" \
            "" "$(kib_as_mib .memory.nginx_peak_kib)"
        printf "$row" "jim / nginx" "peak under load" "" \
            "$(value .memory.ratio_jim_web_to_nginx_peak)"
    }
    echo
    echo "VmHWM is the high-water mark since the process started, so an idle figure includes"
    echo "start-up work (jim-worker migrates the database). The nginx figure adds up its master"
    echo "and workers and counts the pages they share once per process. PostgreSQL's memory is"
    echo "not included."
    echo

    echo "## Binaries"
    echo
    row='| %-13s | %10s | %6s | %-6s |\n'
    # shellcheck disable=SC2059 # The format is the row template above.
    {
        printf "$row" Binary Bytes MiB Static
        printf '|%s|%s|%s|%s|\n' "-$(dashes 13)-" "-$(dashes 10):" "-$(dashes 6):" \
            "-$(dashes 6)-"
        for service in jim-web jim-worker jim-scheduler; do
            printf "$row" "$service" "$(value ".binaries[\"$service\"].bytes")" \
                "$(value ".binaries[\"$service\"].mib")" \
                "$(value "if .binaries[\"$service\"].static then \"yes\" else \"no\" end")"
        done
    }
    echo
    echo '```'
    for service in jim-web jim-worker jim-scheduler; do
        echo "$service: $(value ".binaries[\"$service\"].file")"
    done
    echo '```'
    echo
    echo "## How to read these numbers"
    echo
    echo "wrk, the server under test and PostgreSQL share the same $cpus CPUs, so the figures"
    echo "compare jim-web with nginx within one run on one machine; they are not the capacity of"
    echo "a dedicated server. Other work on the machine (see the top) makes every row slower and"
    echo "noisier; compare rows of one run, and rerun on a quiet machine for figures to quote."
    echo "jim-web ran at JIM_LOG_LEVEL=$(value .load.log_level) without request logging, and nginx"
    echo "without an access log."
}

dashes() {
    # dashes N: prints N dashes, for Markdown table rules.
    printf '%*s' "$1" '' | tr ' ' -
}
