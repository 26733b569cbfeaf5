# shellcheck shell=bash
# Renders bench/results/import.json as the Markdown report that import.sh prints and saves.
# Source after common.sh.

render_import_report() {
    # render_import_report JSON: prints the report for one import.json.
    local json="$1"
    value() { jq -r "$1" "$json"; }

    echo "# JIM full import benchmark"
    echo
    echo "- Date: $(value .date)"
    echo "- Machine: $(value .machine.nproc) CPUs ($(value .machine.cpu))," \
        "$(value .machine.memory_gib) GiB memory, Linux $(value .machine.kernel)"
    echo "- Measured: commit $(value .versions.source), PostgreSQL $(value .versions.postgres)" \
        "on the same machine"
    echo "- Command: \`$(value .command)\`; files from" \
        "\`jim-generate-csv --objects N --seed $(value .seed)\` (20 attributes: \`groups\` and" \
        "\`proxyAddresses\` multi-valued, \`manager\` a reference)"
    echo "- Each size runs on a fresh \`jim-worker\` (release build); the peak is the worker's" \
        "VmHWM after the imports, so it includes start-up and the idle baseline shown"
    echo

    local row='| %9s | %9s | %12s | %11s | %12s | %11s | %12s | %11s | %11s |\n'
    # shellcheck disable=SC2059 # The format is the row template above.
    {
        printf "$row" Objects "File MiB" "1st import s" "1st obj/s" "2nd import s" \
            "2nd obj/s" "psql \\copy s" "copy obj/s" "import/copy"
        printf "$row" "--------:" "--------:" "-----------:" "----------:" "-----------:" \
            "----------:" "-----------:" "----------:" "----------:"
        local count index
        count="$(value '.sizes | length')"
        for ((index = 0; index < count; index++)); do
            local size=".sizes[$index]"
            printf "$row" "$(value "$size.objects")" \
                "$(mib "$(($(value "$size.file_bytes") / 1024))")" \
                "$(value "$size.first_import.activity_ms / 1000")" \
                "$(value "$size.first_import.objects_per_second")" \
                "$(value "$size.second_import.activity_ms / 1000")" \
                "$(value "$size.second_import.objects_per_second")" \
                "$(value "$size.psql_copy.wall_ms / 1000")" \
                "$(value "$size.psql_copy.objects_per_second")" \
                "$(ratio "$(value "$size.first_import.activity_ms")" \
                    "$(value "$size.psql_copy.wall_ms")")"
        done
    }
    echo
    echo "Import times are the activity's own, from the worker starting the run to its commit"
    echo "(the wait in the queue, up to the worker's one-second poll, is left out)."
    echo "The first import adds every object; the second reads the same file and finds every"
    echo "object unchanged. \`psql \\copy\` loads the raw rows into twenty text columns and does"
    echo "nothing else (no values split, no keys compared, no references), so import/copy is what"
    echo "the connector's work costs on top of the cheapest load PostgreSQL offers."
    echo

    echo "## Memory"
    echo
    local memory_row='| %9s | %16s | %17s | %17s | %15s |\n'
    # shellcheck disable=SC2059 # The format is the row template above.
    {
        printf "$memory_row" Objects "Worker idle MiB" "After 1st MiB" "After 2nd MiB" \
            "psql \\copy MiB"
        printf "$memory_row" "--------:" "---------------:" "----------------:" \
            "----------------:" "--------------:"
        local count index
        count="$(value '.sizes | length')"
        for ((index = 0; index < count; index++)); do
            local size=".sizes[$index]"
            printf "$memory_row" "$(value "$size.objects")" \
                "$(mib "$(value "$size.worker_idle_vm_hwm_kib")")" \
                "$(mib "$(value "$size.first_import.worker_vm_hwm_kib")")" \
                "$(mib "$(value "$size.second_import.worker_vm_hwm_kib")")" \
                "$(mib "$(value "$size.psql_copy.max_rss_kib")")"
        done
    }
    echo
    if [ "$(value '.ratios')" != null ]; then
        echo "At 100,000 objects the worker peaked at" \
            "$(mib "$(value '.sizes[] | select(.objects == 100000) |
                .second_import.worker_vm_hwm_kib')") MiB; the deployment guide gives" \
            "about 2.3 GB for upstream's worker on the same import: a ratio of" \
            "$(value '.ratios.worker_peak_to_upstream') (ours / upstream's)."
        echo "Upstream's figure is quoted from its guide, not measured here."
    fi
    echo
    local statuses='[.sizes[] | "\(.objects): \(.first_import.status), then \(.second_import.status)"]'
    echo "Activity statuses: $(value "$statuses | join(\"; \")")."
}
