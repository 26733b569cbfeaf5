#!/usr/bin/env bash
# Stops the services that `make demo` started.
set -euo pipefail
state=${JIM_DEMO_DIR:-/tmp/jim-demo}
for pid_file in "$state"/*.pid; do
    [ -e "$pid_file" ] || continue
    kill "$(cat "$pid_file")" 2>/dev/null || true
    rm -f "$pid_file"
done
echo "demo: stopped"
