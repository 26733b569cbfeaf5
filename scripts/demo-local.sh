#!/usr/bin/env bash
# `make demo-local`: starts jim-web, jim-worker and jim-scheduler against the local PostgreSQL
# (installed from Debian's packages when missing), waits until JIM is ready and prints the URL.
# The services keep running in the background; `make demo-stop` stops them. (`make demo` is the full air-gap path.)
set -euo pipefail
cd "$(dirname "$0")/.."

state=${JIM_DEMO_DIR:-/tmp/jim-demo}
port=${JIM_DEMO_PORT:-5200}
binaries=target/x86_64-unknown-linux-gnu/debug

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "demo: installing PostgreSQL from Debian's packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
bash .ci/start-postgres >/dev/null

bash scripts/demo-stop.sh >/dev/null 2>&1 || true
mkdir -p "$state/logs"

# A database of its own, recreated on every run so the demo starts from nothing.
export PGPASSWORD=jim_test
psql -q -h 127.0.0.1 -U jim_test -d postgres -c "DROP DATABASE IF EXISTS jim_demo WITH (FORCE)"
psql -q -h 127.0.0.1 -U jim_test -d postgres -c "CREATE DATABASE jim_demo"

key="jim_ak_$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
export JIM_DB_HOSTNAME=127.0.0.1:5432 JIM_DB_NAME=jim_demo JIM_DB_USERNAME=jim_test
export JIM_DB_PASSWORD=jim_test JIM_LOG_LEVEL=Information JIM_LOG_PATH="$state/logs"
export JIM_INFRASTRUCTURE_API_KEY="$key" JIM_LISTEN_ADDRESS="127.0.0.1:$port"
for service in web worker scheduler; do
    JIM_HEARTBEAT_PATH="$state/$service.heartbeat" \
        nohup "$binaries/jim-$service" >"$state/$service.out" 2>&1 &
    echo $! >"$state/$service.pid"
done

echo "demo: waiting for JIM to be ready on port $port"
for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$port/api/v1/health/ready" >/dev/null 2>&1; then
        curl -fsS "http://127.0.0.1:$port/api/v1/health/ready"; echo
        cat <<MSG

JIM is ready.
  Status page:     http://127.0.0.1:$port/
  API reference:   http://127.0.0.1:$port/api/swagger/
  Try the API:     curl -H 'X-API-Key: $key' http://127.0.0.1:$port/api/v1/system/health
  Logs:            $state/logs
  Stop it:         make demo-stop
MSG
        exit 0
    fi
    sleep 1
done
echo "demo: JIM did not become ready within 120 s; the service output is in $state/*.out" >&2
exit 1
