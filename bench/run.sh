#!/usr/bin/env bash
# Runs the benchmarks one after the other: `bash bench/run.sh` runs them all, and
# `bash bench/run.sh services` runs only the ones named. `make bench` builds the release
# binaries first and then calls this script.
#
# Exit codes: 0 when every benchmark finished, 1 when at least one failed, 2 for an unknown name.
set -euo pipefail
cd "$(dirname "$0")/.."

# Every benchmark is a script bench/<name>.sh that runs on its own, prints its report to stdout,
# writes bench/results/<name>.md and <name>.json, and removes whatever it started. A new
# benchmark is one more name here, in the order it should run.
BENCHMARKS=(
    services bundle install download backup import
)

if [ "$#" -gt 0 ]; then
    selected=("$@")
else
    selected=("${BENCHMARKS[@]}")
fi
for name in "${selected[@]}"; do
    if [ ! -f "bench/$name.sh" ]; then
        echo "error: there is no benchmark \`$name\` (no \`bench/$name.sh\`)" >&2
        echo "hint: the benchmarks are: ${BENCHMARKS[*]}" >&2
        exit 2
    fi
done

# One failing benchmark does not stop the others; the exit code reports it at the end.
mkdir -p bench/results
failed=()
for name in "${selected[@]}"; do
    echo "bench: running $name" >&2
    started=$SECONDS
    if bash "bench/$name.sh"; then
        echo "bench: $name finished in $((SECONDS - started)) s" >&2
    else
        echo "bench: $name failed (exit $?)" >&2
        failed+=("$name")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "error: ${#failed[@]} benchmark(s) failed: ${failed[*]}" >&2
    exit 1
fi
