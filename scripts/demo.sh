#!/usr/bin/env bash
# `make demo`: the whole air-gap path on this machine. Builds the release binaries, a
# PostgreSQL image from Debian's packages and the release bundle (no registry, no network),
# then installs JIM from the `.tar.gz` with jim-install and prints the address of a ready JIM.
# `make demo-stop` stops it again (the volumes are kept).
set -euo pipefail
cd "$(dirname "$0")/.."

state=${JIM_DEMO_DIR:-/tmp/jim-demo}
port=${JIM_DEMO_PORT:-5200}
project=jim-demo
release=target/x86_64-unknown-linux-gnu/release
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)

say() { printf '\ndemo: %s\n' "$*" >&2; }

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    say "installing PostgreSQL from Debian's packages (the database image is built from them)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
docker compose version >/dev/null 2>&1 || bash .ci/install-compose
docker info >/dev/null 2>&1 || { echo "demo: the Docker Engine is not reachable" >&2; exit 1; }

say "building the release binaries"
cargo build --workspace --bins --release

say "building the release bundle (offline)"
mkdir -p "$state/dist"
"$release/jim-bundle" postgres-image --out "$state/dist/jim-postgres.tar"
"$release/jim-bundle" build --version "$version" --out "$state/dist" \
    --image-tar jim-postgres.tar="$state/dist/jim-postgres.tar" \
    --database-image-name jim-postgres.tar
archive="$state/dist/jim-release-$version.tar.gz"

say "checking the archive as an administrator would"
(cd "$state/dist" && sha256sum -c "jim-release-$version.tar.gz.sha256")

say "installing from $archive"
cat >"$state/answers.yml" <<ANSWERS
database:
  mode: bundled
sso:
  authority: https://idp.example.invalid/realms/jim
  clientId: jim-web
  secret: demo-only-secret
  apiScope: jim-api
  initialAdmin: 00000000-0000-0000-0000-000000000001
web:
  port: $port
log:
  level: Information
ANSWERS
"$release/jim-install" install "$archive" --dir "$state/jim" --project "$project" \
    --answers "$state/answers.yml"

key=$(sed -n 's/^JIM_INFRASTRUCTURE_API_KEY=//p' "$state/jim/compose/.env")
cat <<MSG

JIM is ready, installed from the bundle into $state/jim (compose project $project).
  Status page:     http://127.0.0.1:$port/
  API reference:   http://127.0.0.1:$port/api/swagger/
  Try the API:     curl -H 'X-API-Key: $key' http://127.0.0.1:$port/api/v1/system/health
  Status:          $release/jim-install status --dir $state/jim
  Stop it:         make demo-stop
MSG
