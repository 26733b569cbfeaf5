# shellcheck shell=bash
# Renders bench/results/install.json as the Markdown report that install.sh prints and saves.
# The columns are padded so that the same text reads well in a terminal. Source after
# release.sh.

render_install_report() {
    # render_install_report JSON: prints the report for one install.json.
    local json="$1"
    value() { jq -r "$1" "$json"; }
    as_seconds() { seconds "$(value "$1")"; }
    as_mib() { mib "$(value "$1")"; }
    as_mb() { awk -v bytes="$(value "$1")" 'BEGIN { printf "%.1f", bytes / 1000000 }'; }
    two_decimals() { value "$1" | xargs printf '%.2f'; }
    runs_in_seconds() {
        local ms text=''
        for ms in $(value "$1 | .[]"); do text+="$(seconds "$ms") "; done
        echo "${text% }"
    }
    local version folder archive
    version="$(value .setup.version)"
    folder="jim-release-$version"
    archive="\$WORK/dist/$folder.tar.gz"

    echo "# JIM install benchmark"
    echo
    echo "- Date: $(value .date)"
    echo "- Machine: $(value .machine.nproc) CPUs ($(value .machine.cpu))," \
        "$(value .machine.memory_gib) GiB memory, Linux $(value .machine.kernel)"
    echo "- Measured: $(value .versions.jim_install), commit $(value .versions.source)," \
        "$(value .versions.rustc)"
    echo "- Engine and peers: Docker Engine $(value .versions.docker_engine)," \
        "$(value .versions.docker_compose), $(value .versions.tar)," \
        "$(value .versions.sha256sum)"
    echo "- Other work on the machine: CPUs $(value .machine.cpu_busy_percent_before_runs)%" \
        "busy in the $(value .machine.idle_seconds_watched) s before the runs, 1-minute load" \
        "average $(value .machine.load_average_1m_before_runs)"
    echo "- Bundle: $folder.tar.gz, $(as_mb .setup.archive_bytes) MB, with" \
        "$(value '.setup.image_files | length') image tars of" \
        "$(as_mb .setup.images_bytes) MB in all"
    echo

    echo "## Checking the archive"
    echo
    local row='| %-54s | %8s | %-20s |\n'
    # shellcheck disable=SC2059 # The format is the row template above.
    {
        printf "$row" Procedure "Median s" "Runs, s"
        table_rule 54 8: 20
        printf "$row" "jim-install verify (one streaming pass)" \
            "$(as_seconds .verify.jim.median_ms)" "$(runs_in_seconds .verify.jim.ms)"
        printf "$row" "guide: tar xzf, then sha256sum -c" \
            "$(as_seconds .verify.guide.median_ms)" "$(runs_in_seconds .verify.guide.ms)"
        printf "$row" "ratio jim-install / guide" "$(two_decimals .verify.ratio_jim_to_guide)" ""
    }
    echo
    paragraph "\`jim-install verify\` reads the .tar.gz once, checking every member against" \
        "\`checksums.sha256\` as it streams, and writes nothing; the guide's check writes the" \
        "release folder out first and reads it back. Peak memory of \`jim-install verify\`:" \
        "$(as_mib .verify.jim.max_peak_kib) MiB."
    echo

    echo "## Verifying and loading the images"
    echo
    row='| %-54s | %8s | %-20s |\n'
    # shellcheck disable=SC2059 # The format is the row template above.
    {
        printf "$row" Step "Median s" "Runs, s"
        table_rule 54 8: 20
        local part
        for part in verify extract load total; do
            printf "$row" "jim-install path: $(case "$part" in
                verify) echo "verify (the archive)" ;;
                extract) echo "tar xzf" ;;
                load) echo "load" ;;
                total) echo "total" ;;
            esac)" "$(as_seconds ".verify_and_load.jim.$part.median_ms")" \
                "$(runs_in_seconds ".verify_and_load.jim.$part.ms")"
        done
        for part in extract check load total; do
            printf "$row" "guide's path: $(case "$part" in
                extract) echo "tar xzf" ;;
                check) echo "sha256sum -c checksums.sha256" ;;
                load) echo "docker load -i, each image tar" ;;
                total) echo "total" ;;
            esac)" "$(as_seconds ".verify_and_load.guide.$part.median_ms")" \
                "$(runs_in_seconds ".verify_and_load.guide.$part.ms")"
        done
        printf "$row" "for comparison: \`install\` verifying while extracting" \
            "$(as_seconds .stack.install.verified_at_ms)" "one run, see below"
        printf "$row" "ratio jim-install / guide, total" \
            "$(two_decimals .verify_and_load.ratios_jim_to_guide.total)" ""
        printf "$row" "ratio jim-install load / docker load -i" \
            "$(two_decimals .verify_and_load.ratios_jim_to_guide.load)" ""
    }
    echo
    paragraph "Every image was removed from the engine before each path, so both loaded" \
        "$(value '.setup.image_files | length') images every time. The bundle was built with" \
        "SOURCE_DATE_EPOCH set to the time of the run, so that its layers are new to the" \
        "engine: $(value .setup.layers_shared_with_other_images) of them were also held by" \
        "another image there (Docker does not unpack a layer it already has). The installer's" \
        "stand-alone commands are \`verify\`, which checks the archive without writing it" \
        "out, and \`load\`, which reads a release folder, so its path extracts with tar in" \
        "between; \`jim-install install\` verifies while extracting, in one pass (see the" \
        "install below). Totals add up the steps' wall times."
    echo

    echo "## The installer's memory while loading"
    echo
    row='| %-40s | %10s | %8s | %13s |\n'
    # shellcheck disable=SC2059 # The format is the row template above.
    {
        printf "$row" Bundle "Loaded MB" "Load s" "Peak RSS MiB"
        table_rule 40 10: 8: 13:
        printf "$row" "the bundle ($(value '.setup.image_files | length') images)" \
            "$(as_mb .load_memory.bundle.loaded_bytes)" \
            "$(as_seconds .verify_and_load.jim.load.median_ms)" \
            "$(as_mib .load_memory.bundle.max_peak_kib)"
        printf "$row" "with a $(value .load_memory.padded.padding_mib) MiB padding image" \
            "$(as_mb .load_memory.padded.loaded_bytes)" \
            "$(as_seconds .load_memory.padded.load_ms)" \
            "$(as_mib .load_memory.padded.peak_kib)"
        printf "$row" "ratio padded / bundle" "$(two_decimals .load_memory.ratio_loaded_bytes)" \
            "" "$(two_decimals .load_memory.ratio_padded_to_bundle)"
    }
    echo
    paragraph "Peak RSS is GNU time's maximum resident set size of \`jim-install load\`" \
        "(the largest of the runs for the bundle); the Docker Engine's own memory is not" \
        "included. The padding image is one layer of random bytes written as \`docker save\`" \
        "would, added with \`jim-bundle build --image-tar\`; that build took" \
        "$(as_seconds .load_memory.padded.jim_bundle_build_ms) s with a peak of" \
        "$(as_mib .load_memory.padded.jim_bundle_build_peak_kib) MiB and wrote a" \
        "$(as_mb .load_memory.padded.archive_bytes) MB archive."
    echo

    echo "## Installing and starting the stack"
    echo
    row='| %-58s | %9s | %9s |\n'
    # shellcheck disable=SC2059 # The format is the row template above.
    {
        printf "$row" Measure "install" "up (warm)"
        table_rule 58 9: 9:
        printf "$row" "verify and extract the archive" \
            "$(as_seconds .stack.install.verified_at_ms)" "-"
        printf "$row" "preflight, load $(value '.setup.image_files | length') images, configure" \
            "$(seconds "$(value '.stack.install.compose_up_started_at_ms
                                 - .stack.install.verified_at_ms')")" "-"
        printf "$row" "docker compose up --detach (until it returns)" \
            "$(as_seconds .stack.install.compose_up_ms)" \
            "$(as_seconds .stack.up_after_down.compose_up_ms)"
        printf "$row" "then waiting until ready and every container healthy" \
            "$(as_seconds .stack.install.wait_after_compose_up_ms)" \
            "$(as_seconds .stack.up_after_down.wait_after_compose_up_ms)"
        printf "$row" "from \`up\` to ready (compose up + waiting)" \
            "$(as_seconds .stack.install.up_to_ready_ms)" \
            "$(as_seconds .stack.up_after_down.up_to_ready_ms)"
        printf "$row" "the installer's own figure: \"... healthy after N s\"" \
            "$(value .stack.install.printed_ready_seconds)" \
            "$(value .stack.up_after_down.printed_ready_seconds)"
        printf "$row" "wall time of the whole command" \
            "$(as_seconds .stack.install.wall_ms)" "$(as_seconds .stack.up_after_down.wall_ms)"
        printf "$row" "/api/v1/health/ready on 127.0.0.1 afterwards" \
            "$(value .stack.install.ready_status_after)" \
            "$(value .stack.up_after_down.ready_status_after)"
    }
    echo
    paragraph "The stages come from the installer's stderr lines, stamped as they arrived." \
        "The installer's figure counts from the moment \`docker compose up\` returns, so it" \
        "leaves out the time Compose spends waiting for the services that others depend on;" \
        "\"from \`up\` to ready\" counts from the \`starting JIM\` line. Warm means after" \
        "\`jim-install down\` ($(as_seconds .stack.down_ms) s), with the images loaded and the" \
        "database initialised. The compose files start web and scheduler only once the worker" \
        "is healthy and check health every 15 s, so two check intervals follow each other" \
        "before the last container is healthy. The peak memory of \`install\`," \
        "$(as_mib .stack.install.peak_kib) MiB, is that of its largest process, which may be" \
        "the \`docker compose\` it runs."
    echo

    echo "## Commands"
    echo
    paragraph "With \`JIM_NO_PROGRESS=1\` and stderr to a pipe; \`\$WORK\` is the benchmark's" \
        "temporary folder and \`jim-install\` the release build."
    echo
    echo '```sh'
    echo "# checking the archive"
    echo "jim-install verify $archive"
    echo "mkdir \$WORK/guide && tar -C \$WORK/guide -xzf $archive \\"
    echo "    && cd \$WORK/guide/$folder && sha256sum -c checksums.sha256"
    echo "# verifying and loading: jim-install"
    echo "jim-install verify $archive"
    echo "tar -C \$WORK/extracted -xzf $archive"
    echo "jim-install load --dir \$WORK/load-dir \$WORK/extracted/$folder"
    echo "# verifying and loading: the guide, from \$WORK/extracted/$folder"
    echo "tar -C \$WORK/extracted -xzf $archive"
    echo "sha256sum -c checksums.sha256"
    local file
    for file in $(value '.setup.image_files[]'); do
        echo "docker load -i $file"
    done
    echo "# memory with the padding image"
    echo "jim-bundle build ... --image-tar padding.tar=\$WORK/padding.tar"
    echo "jim-install load --dir \$WORK/load-dir \$WORK/dist-padded/$folder"
    echo "# the stack"
    echo "jim-install install $archive --dir \$WORK/site --project $(value .setup.project) \\"
    echo "    --answers \$WORK/answers.yml --ignore-preflight" \
        "--timeout $(value .stack.ready_timeout_seconds)"
    echo "jim-install down --dir \$WORK/site --project $(value .setup.project)"
    echo "jim-install up --dir \$WORK/site --project $(value .setup.project)" \
        "--timeout $(value .stack.ready_timeout_seconds)"
    echo '```'
}
