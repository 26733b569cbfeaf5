# shellcheck shell=bash
# Helpers the bundle and install benchmarks share: timing a command with its peak memory,
# stamping the progress lines a command prints, medians, and building a release bundle the way
# a release does. Source after common.sh; set `bench_work` to the benchmark's temporary folder.

stamp_lines() {
    # stamp_lines: copies stdin to stdout, each line prefixed with the microsecond it arrived.
    local line
    while IFS= read -r line; do
        printf '%s %s\n' "${EPOCHREALTIME//[.,]/}" "$line"
    done
}

now_us() {
    # now_us: the current time in microseconds since the epoch.
    echo "${EPOCHREALTIME//[.,]/}"
}

measure() {
    # measure NAME COMMAND...: runs COMMAND once and sets MEASURED_MS (its wall time),
    # MEASURED_PEAK_KIB (the largest resident set of the command or of any child it waited for,
    # from `/usr/bin/time -v`) and MEASURED_START_US. Its stdout is kept in $bench_work/NAME.out
    # and its stderr, each line stamped by stamp_lines, in $bench_work/NAME.err. A command that
    # fails ends the benchmark with exit 1 and its last lines.
    local name="$1" finished status=0
    shift
    MEASURED_START_US="$(now_us)"
    # shellcheck disable=SC2154 # The script that sources this file sets bench_work.
    /usr/bin/time -v -o "$bench_work/$name.time" "$@" 2>&1 >"$bench_work/$name.out" |
        stamp_lines >"$bench_work/$name.err" || status=$?
    finished="$(now_us)"
    if [ "$status" -ne 0 ]; then
        echo "error: \`$*\` failed (exit $status); its last lines:" >&2
        tail -n 20 "$bench_work/$name.err" | cut -d ' ' -f 2- >&2
        exit 1
    fi
    # shellcheck disable=SC2034 # The scripts that source this file read the MEASURED_* values.
    MEASURED_MS=$(((finished - MEASURED_START_US) / 1000))
    # shellcheck disable=SC2034 # As above.
    MEASURED_PEAK_KIB="$(awk -F': ' '/Maximum resident set size/ { print $2 }' \
        "$bench_work/$name.time")"
}

line_offset_ms() {
    # line_offset_ms NAME PATTERN: milliseconds from the start of the last `measure NAME` to the
    # first stderr line matching the awk PATTERN (applied to the text after the stamp); empty
    # when no line matches.
    awk -v start="$MEASURED_START_US" -v pattern="$2" '{
        stamp = $1; sub(/^[0-9]+ /, "")
        if ($0 ~ pattern) { printf "%d\n", (stamp - start) / 1000; exit }
    }' "$bench_work/$1.err"
}

median() {
    # median NUMBER...: the middle value, or the mean of the two middle values.
    printf '%s\n' "$@" | sort -n | awk '{ values[NR] = $1 }
        END {
            if (NR % 2) print values[(NR + 1) / 2]
            else printf "%d\n", (values[NR / 2] + values[NR / 2 + 1]) / 2
        }'
}

json_numbers() {
    # json_numbers NUMBER...: the numbers as a JSON array.
    printf '%s\n' "$@" | jq -s -c .
}

seconds() {
    # seconds MS: MS as seconds with two decimals.
    awk -v ms="$1" 'BEGIN { printf "%.2f", ms / 1000 }'
}

file_bytes() {
    stat -c %s "$1"
}

tree_bytes() {
    # tree_bytes FOLDER: the sum of the sizes of the files under FOLDER (not disk blocks).
    find "$1" -type f -printf '%s\n' | awk '{ total += $1 } END { print total + 0 }'
}

tool_version() {
    # tool_version COMMAND...: the first line the command prints about its version.
    "$@" 2>&1 | head -n 1 || true
}

postgres_image_command() {
    # postgres_image_command FILE TAG: sets the array POSTGRES_IMAGE_COMMAND to the
    # `jim-bundle postgres-image` that writes the database image tar FILE, tagged TAG, from the
    # host's Debian packages.
    # shellcheck disable=SC2034 # The scripts that source this file run it.
    POSTGRES_IMAGE_COMMAND=("$BENCH_RELEASE/jim-bundle" --quiet postgres-image --out "$1"
        --tag "$2" --source "$BENCH_ROOT")
}

bundle_command() {
    # bundle_command VERSION OUT DATABASE_TAR [ARGUMENT...]: sets the array BUNDLE_COMMAND to
    # the `jim-bundle build` of a release of the working tree and the release binaries, with
    # DATABASE_TAR as the database image and any further arguments appended.
    local version="$1" out="$2" database="$3"
    shift 3
    # shellcheck disable=SC2034 # The scripts that source this file run it.
    BUNDLE_COMMAND=("$BENCH_RELEASE/jim-bundle" build --version "$version" --out "$out"
        --source "$BENCH_ROOT" --binaries "$BENCH_RELEASE"
        --image-tar "jim-postgres.tar=$database" --database-image-name jim-postgres.tar "$@")
}

remove_images() {
    # remove_images REFERENCE...: removes those images from the engine; missing ones are fine.
    local reference
    for reference in "$@"; do
        if docker image inspect "$reference" >/dev/null 2>&1; then
            docker image rm "$reference" >/dev/null ||
                say "could not remove the image \`$reference\`; remove it by hand"
        fi
    done
}

paragraph() {
    # paragraph TEXT...: prints the words as one paragraph folded at 96 columns.
    echo "$*" | fold -s -w 96 | sed 's/ *$//'
}

table_rule() {
    # table_rule SPEC...: a Markdown table rule; each SPEC is WIDTH (left) or WIDTH: (right).
    local spec width line=''
    for spec in "$@"; do
        width="${spec%:}"
        if [ "$spec" != "$width" ]; then
            line+="|-$(printf '%*s' "$width" '' | tr ' ' -):"
        else
            line+="|-$(printf '%*s' "$width" '' | tr ' ' -)-"
        fi
    done
    echo "$line|"
}
