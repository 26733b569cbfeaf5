#!/usr/bin/env bash
# Stops what `make demo` (the installed stack) or `make demo-local` (the local processes)
# started. Volumes are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
state=${JIM_DEMO_DIR:-/tmp/jim-demo}
if [ -f "$state/jim/install-state.json" ]; then
    target/x86_64-unknown-linux-gnu/release/jim-install down --dir "$state/jim"
fi
for pid_file in "$state"/*.pid; do
    [ -e "$pid_file" ] || continue
    kill "$(cat "$pid_file")" 2>/dev/null || true
    rm -f "$pid_file"
done
echo "demo: stopped"
