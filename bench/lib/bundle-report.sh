# shellcheck shell=bash
# Renders bench/results/bundle.json as the Markdown report that bundle.sh prints and saves.
# The columns are padded so that the same text reads well in a terminal. Source after
# release.sh.

render_bundle_report() {
    # render_bundle_report JSON: prints the report for one bundle.json.
    local json="$1"
    value() { jq -r "$1" "$json"; }
    as_seconds() { seconds "$(value "$1")"; }
    as_mib() { mib "$(value "$1")"; }
    two_decimals() { value "$1" | xargs printf '%.2f'; }
    as_mb() { awk -v bytes="$(value "$1")" 'BEGIN { printf "%.1f", bytes / 1000000 }'; }
    runs_in_seconds() {
        local ms text=''
        for ms in $(value "$1 | .[]"); do text+="$(seconds "$ms") "; done
        echo "${text% }"
    }

    echo "# JIM bundle benchmark"
    echo
    echo "- Date: $(value .date)"
    echo "- Machine: $(value .machine.nproc) CPUs ($(value .machine.cpu))," \
        "$(value .machine.memory_gib) GiB memory, Linux $(value .machine.kernel)"
    echo "- Measured: $(value .versions.jim_bundle), commit $(value .versions.source)," \
        "$(value .versions.rustc)"
    echo "- Peers: $(value .versions.tar), $(value .versions.gzip), $(value .versions.pigz)"
    echo "- Other work on the machine: CPUs $(value .machine.cpu_busy_percent_before_runs)%" \
        "busy in the $(value .machine.idle_seconds_watched) s before the runs, 1-minute load" \
        "average $(value .machine.load_average_1m_before_runs)"
    echo "- Release built: $(value .setup.version), with a PostgreSQL image that" \
        "\`jim-bundle postgres-image\` wrote in $(as_seconds .setup.postgres_image_ms) s"
    echo

    echo "## Building the archive"
    echo
    local row='| %-46s | %8s | %-20s | %9s | %9s |\n'
    # shellcheck disable=SC2059 # The format is the row template above.
    {
        printf "$row" Command "Median s" "Runs, s" "Peak MiB" "Output MB"
        table_rule 46 8: 20 9: 9:
        printf "$row" "jim-bundle build (images, checksums, archive)" \
            "$(as_seconds .build.jim_bundle.median_ms)" \
            "$(runs_in_seconds .build.jim_bundle.ms)" \
            "$(as_mib .build.jim_bundle.max_peak_kib)" \
            "$(as_mb .sizes.same_folder_archived.jim_bundle_bytes)"
        printf "$row" "- of which its archive step" \
            "$(as_seconds .build.jim_bundle.steps_median_ms.archive)" \
            "$(runs_in_seconds '[.build.jim_bundle.steps_ms[].archive]')" "" ""
        printf "$row" "tar czf (gzip -6)" "$(as_seconds .build.tar_gzip.median_ms)" \
            "$(runs_in_seconds .build.tar_gzip.ms)" "$(as_mib .build.tar_gzip.max_peak_kib)" \
            "$(as_mb .sizes.same_folder_archived.tar_gzip_bytes)"
        printf "$row" "tar -I pigz -cf (pigz -6, $(value .machine.nproc) threads)" \
            "$(as_seconds .build.tar_pigz.median_ms)" \
            "$(runs_in_seconds .build.tar_pigz.ms)" "$(as_mib .build.tar_pigz.max_peak_kib)" \
            "$(as_mb .sizes.same_folder_archived.tar_pigz_bytes)"
    }
    echo
    row='| %-46s | %6s |\n'
    # shellcheck disable=SC2059 # The format is the row template above.
    {
        printf "$row" "Ratio of medians" Ratio
        table_rule 46 6:
        printf "$row" "jim-bundle build / tar czf" \
            "$(two_decimals .build.ratios.jim_build_to_tar_gzip)"
        printf "$row" "jim-bundle build / tar -I pigz -cf" \
            "$(two_decimals .build.ratios.jim_build_to_tar_pigz)"
        printf "$row" "jim-bundle archive step / tar czf" \
            "$(two_decimals .build.ratios.jim_archive_step_to_tar_gzip)"
        printf "$row" "jim-bundle archive step / tar -I pigz -cf" \
            "$(two_decimals .build.ratios.jim_archive_step_to_tar_pigz)"
    }
    echo
    paragraph "Each command ran $(value .build.repetitions) times, in turn, after one untimed" \
        "build that filled the page cache. \`jim-bundle build\` does more than the peers: it" \
        "writes the three JIM images from the binaries, copies the database image, writes the" \
        "documents and \`checksums.sha256\`, then the archive with normalised owners, modes and" \
        "times, hashing it into \`.tar.gz.sha256\` as it goes; the peers only archive the" \
        "folder that build wrote. Its archive step is the like-for-like row: one gzip stream at" \
        "level 6, as \`tar czf\` writes. Peak memory is GNU time's maximum resident set size," \
        "the largest over the runs; for the peers it is their largest single process."
    echo
    paragraph "Output: the archive \`jim-bundle\` wrote is $(awk \
        -v jim="$(value .sizes.same_folder_archived.jim_bundle_bytes)" \
        -v peer="$(value .sizes.same_folder_archived.tar_gzip_bytes)" 'BEGIN {
            change = 100 * (jim - peer) / peer
            printf "%.1f%% %s", (change < 0 ? -change : change), (change < 0 ? "smaller" : "larger")
        }') than \`tar czf\`'s of the same folder."
    echo

    echo "### Where jim-bundle build spends its time"
    echo
    row='| %-58s | %9s | %7s |\n'
    local total
    total="$(value .build.jim_bundle.steps_median_ms.until_built_line)"
    share() { awk -v part="$1" -v total="$total" 'BEGIN { printf "%.0f%%", 100 * part / total }'; }
    # shellcheck disable=SC2059 # The format is the row template above.
    {
        printf "$row" Step "Median ms" Share
        table_rule 58 9: 7:
        local step label ms
        for step in plan images files checksums archive; do
            case "$step" in
                plan) label="start-up and plan (reads the image tars' manifests)" ;;
                images) label="write the JIM images, copy the database image" ;;
                files) label="installer, compose files, documents, bundle.json" ;;
                checksums) label="checksums.sha256 (hashes every file)" ;;
                archive) label="the .tar.gz and its .sha256" ;;
            esac
            ms="$(value ".build.jim_bundle.steps_median_ms.$step")"
            printf "$row" "$label" "$ms" "$(share "$ms")"
        done
        printf "$row" "until \`built ...\`" "$total" "100%"
    }
    echo
    paragraph "Each step lasts from its \`[n/N]\` progress line to the next line, stamped as" \
        "it reached the benchmark. The archive step is" \
        "$(value .build.jim_bundle.archive_share_percent)% of the build."
    echo
    paragraph "Reproducibility: $(value .build.reproducible.builds) builds of the same inputs" \
        "wrote $(value 'if .build.reproducible.identical_archives then "byte-identical archives"
                        else "archives that DIFFER" end')" \
        "(sha256 \`$(value .build.reproducible.sha256 | cut -c 1-16)...\`)."
    echo

    echo "## Sizes"
    echo
    row='| %-36s | %-32s | %10s | %15s |\n'
    # shellcheck disable=SC2059 # The format is the row template above.
    {
        printf "$row" File Image "MB" "gzip -6 MB"
        table_rule 36 32 10: 15:
        local count index
        count="$(value '.sizes.images | length')"
        for index in $(seq 0 $((count - 1))); do
            printf "$row" "$(value ".sizes.images[$index].file")" \
                "$(value ".sizes.images[$index].reference" | cut -d : -f 1)" \
                "$(as_mb ".sizes.images[$index].bytes")" \
                "$(as_mb ".sizes.images[$index].gzip_bytes")"
        done
        printf "$row" "jim-release-VERSION.tar.gz" "the bundle" \
            "$(as_mb .sizes.bundle.archive_bytes)" ""
        printf "$row" "the release folder, unpacked" \
            "$(value .sizes.bundle.tree_files) files" "$(as_mb .sizes.bundle.tree_bytes)" ""
    }
    echo
    paragraph "MB are 10^6 bytes, as registries report them. \"gzip -6 MB\" is the image tar" \
        "through gzip -6, close to what a registry stores and shows as an image's compressed" \
        "size."
    echo
    paragraph "Upstream's images could not be measured on this host: they are built on" \
        "Microsoft's .NET bases, which cannot be pulled here (web: $(value .upstream.bases.web);" \
        "worker: $(value .upstream.bases.worker); scheduler: $(value .upstream.bases.scheduler);" \
        "according to $(value .upstream.bases_source))."
    echo
    local reference_count
    reference_count="$(value '.upstream.references | length')"
    for index in $(seq 0 $((reference_count - 1))); do
        paragraph "Reference, not measured here: $(value ".upstream.references[$index].image")" \
            "is $(value ".upstream.references[$index].compressed_mb") MB compressed, according" \
            "to $(value ".upstream.references[$index].source"). Upstream's images hold JIM" \
            "instead of the sample, and their Dockerfiles add Ubuntu packages to the base."
        echo
    done
    paragraph "For the runtime base: $(value .upstream.not_found)."
    echo

    echo "## Commands"
    echo
    paragraph "With \`JIM_NO_PROGRESS=1\` and stderr to a pipe; \`\$WORK\` is the benchmark's" \
        "temporary folder."
    echo
    echo '```sh'
    value .build.commands.jim_bundle
    value .build.commands.tar_gzip
    value .build.commands.tar_pigz
    echo '```'
}
