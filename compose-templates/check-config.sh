#!/usr/bin/env bash
# Checks the compose templates without starting anything.
#
# For every combination of compose files that docs/CONFIGURATION.md names, with and without the
# with-db profile, `docker compose config` must succeed without a warning, list exactly the
# expected services and images, and keep the settings the images rely on (read-only root, /tmp
# tmpfs, no capabilities, health checks through the binaries, fixed volumes and network).
# It also checks that .env.example describes exactly the variables the compose files read.
#
# Prints one `ok` or `FAIL` line per check and a closing `N passed, M failed` line; exits 1 when
# any check fails and 2 when it cannot run. Needs `docker compose` v2 and python3, not the daemon.
# This is a development check: it is not shipped in the release bundle.
set -euo pipefail

templates="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if ! docker compose version >/dev/null 2>&1; then
  printf '%s\n' "error: \`docker compose\` (v2) is not available" "hint: run .ci/install-compose" >&2
  exit 2
fi
if ! command -v python3 >/dev/null 2>&1; then
  printf '%s\n' "error: \`python3\` is needed to inspect the configuration" >&2
  exit 2
fi

# Everything happens in a copy, so that a developer's own .env or extra files beside the templates
# cannot change the result, and nothing is left behind.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/compose"
cp "$templates"/docker-compose*.yml "$templates/.env.example" "$work/compose/"
cp "$templates/.env.example" "$work/env"

passed=0
failed=0

# Prints the result line of one check. The reason, if any, is in "$work/reason".
record() {
  local status="$1" name="$2"
  if [ "$status" -eq 0 ]; then
    passed=$((passed + 1))
    printf 'ok    %s\n' "$name"
  else
    failed=$((failed + 1))
    printf 'FAIL  %s\n' "$name"
    if [ -s "$work/reason" ]; then sed 's/^/      /' "$work/reason"; fi
  fi
  : >"$work/reason"
}

# Runs `docker compose` inside the copy with a clean environment: variables exported in the
# caller's shell (JIM_*, COMPOSE_FILE, COMPOSE_PROFILES, ...) would otherwise override the env file.
compose() {
  local env_file="$1"
  shift
  (
    cd "$work/compose"
    env -i PATH="$PATH" HOME="$HOME" \
      ${DOCKER_HOST:+DOCKER_HOST="$DOCKER_HOST"} ${DOCKER_CONFIG:+DOCKER_CONFIG="$DOCKER_CONFIG"} \
      docker compose --env-file "$env_file" "$@"
  )
}

# The assertions on one rendered configuration, written once and given the JSON file, whether the
# with-db profile is on, and the compose files in use.
cat >"$work/assert.py" <<'PY'
import json
import sys

config_path, profile, *files = sys.argv[1:]
with_db = profile == "with-db"
production = "docker-compose.production.yml" in files
override = "docker-compose.override.yml" in files
development = "docker-compose.development.yml" in files
config = json.load(open(config_path))
services = config.get("services", {})
problems = []

def expect(condition, message):
    if not condition:
        problems.append(message)

jim_services = {
    "jim.web": {"/var/log/jim", "/data/keys", "/connector-files"},
    "jim.worker": {"/var/log/jim", "/data/keys", "/connector-files"},
    "jim.scheduler": {"/var/log/jim", "/data/keys"},
}
expected_services = set(jim_services) | ({"jim.database"} if with_db else set())
expect(set(services) == expected_services,
       f"services are {sorted(services)}, expected {sorted(expected_services)}")

common_environment = {
    "JIM_DB_HOSTNAME", "JIM_DB_NAME", "JIM_DB_USERNAME", "JIM_DB_PASSWORD",
    "JIM_DB_STARTUP_WAIT_SECONDS", "JIM_LOG_LEVEL", "JIM_LOG_PATH", "JIM_HEARTBEAT_PATH",
}
web_environment = common_environment | {
    "JIM_LOG_REQUESTS", "JIM_LISTEN_ADDRESS", "JIM_WEB_PORT", "JIM_INFRASTRUCTURE_API_KEY",
    "JIM_SSO_AUTHORITY", "JIM_SSO_CLIENT_ID", "JIM_SSO_SECRET", "JIM_SSO_API_SCOPE",
    "JIM_SSO_CLAIM_TYPE", "JIM_SSO_MV_ATTRIBUTE", "JIM_SSO_INITIAL_ADMIN",
}

for name, mounts in jim_services.items():
    service = services.get(name)
    if service is None:
        continue
    binary = name.replace(".", "-")
    # Fixed container names would stop two projects (a test stack beside a real one) sharing
    # a host; compose names containers after the project instead.
    expect("container_name" not in service, f"{name}: container_name is fixed")
    expect(service.get("pull_policy") == "never", f"{name}: pull_policy is not never")
    expect(service.get("read_only") is True, f"{name}: root file system is not read-only")
    expect("/tmp:uid=1654,gid=1654" in service.get("tmpfs", []),
           f"{name}: /tmp is not a tmpfs owned by user 1654")
    expect(service.get("cap_drop") == ["ALL"], f"{name}: capabilities are not all dropped")
    expect("no-new-privileges:true" in service.get("security_opt", []),
           f"{name}: no-new-privileges is not set")
    expect(service.get("healthcheck", {}).get("test") == ["CMD", f"/app/{binary}", "healthcheck"],
           f"{name}: health check is not `/app/{binary} healthcheck` in exec form")
    expect(list(service.get("networks", {})) == ["jim-network"], f"{name}: not on jim-network only")
    targets = {volume.get("target") for volume in service.get("volumes", [])}
    expect(targets == mounts, f"{name}: volumes mount {sorted(targets)}, expected {sorted(mounts)}")
    environment = service.get("environment", {})
    wanted = web_environment if name == "jim.web" else common_environment
    missing = sorted(wanted - set(environment))
    expect(not missing, f"{name}: environment lacks {missing}")
    expect(environment.get("JIM_DB_HOSTNAME") == "jim.database",
           f"{name}: JIM_DB_HOSTNAME is {environment.get('JIM_DB_HOSTNAME')!r}")
    expect(environment.get("JIM_LOG_PATH") == "/var/log/jim", f"{name}: JIM_LOG_PATH is wrong")
    expect(environment.get("JIM_HEARTBEAT_PATH") == "/tmp/healthcheck",
           f"{name}: JIM_HEARTBEAT_PATH is wrong")
    level = "Verbose" if development else "Information"
    expect(environment.get("JIM_LOG_LEVEL") == level,
           f"{name}: JIM_LOG_LEVEL is {environment.get('JIM_LOG_LEVEL')!r}, expected {level}")
    if name != "jim.web":
        expect(not service.get("ports"), f"{name}: publishes a port")

web = services.get("jim.web", {})
ports = [(port.get("host_ip", ""), port.get("published"), port.get("target"))
         for port in web.get("ports", [])]
expected_ports = [("", "5200", 80)] if override else []
expect(ports == expected_ports, f"jim.web: ports are {ports}, expected {expected_ports}")
expect(web.get("environment", {}).get("JIM_LOG_REQUESTS") == "true", "jim.web: requests not logged")

for name in ("jim.web", "jim.scheduler"):
    condition = services.get(name, {}).get("depends_on", {}).get("jim.worker", {}).get("condition")
    expect(condition == "service_healthy", f"{name}: does not wait for a healthy jim.worker")
database_dependency = services.get("jim.worker", {}).get("depends_on", {}).get("jim.database")
expect(database_dependency is None or database_dependency.get("required") is False,
       "jim.worker: a dependency on jim.database must have required: false")

database = services.get("jim.database")
if database is not None:
    expect(database.get("image") == "postgres:18", f"jim.database: image is {database.get('image')}")
    test = database.get("healthcheck", {}).get("test", [])
    expect(test[:2] == ["CMD", "pg_isready"], "jim.database: health check is not pg_isready in exec form")
    expect(database.get("shm_size") == str(256 * 1024 * 1024), "jim.database: shm_size is not 256mb")
    targets = [volume.get("target") for volume in database.get("volumes", [])]
    expect(targets == ["/var/lib/postgresql/data"], f"jim.database: volumes mount {targets}")
    environment = database.get("environment", {})
    for key in ("POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"):
        expect(environment.get(key), f"jim.database: {key} is empty")
    expected_ports = [("127.0.0.1", "5432", 5432)] if development else []
    ports = [(port.get("host_ip", ""), port.get("published"), port.get("target"))
             for port in database.get("ports", [])]
    expect(ports == expected_ports, f"jim.database: ports are {ports}, expected {expected_ports}")

if production:
    for name, service in services.items():
        expect(service.get("restart") == "unless-stopped", f"{name}: restart is not unless-stopped")
        logging = service.get("logging", {})
        expect(logging.get("driver") == "json-file" and "max-size" in logging.get("options", {}),
               f"{name}: Docker's log is not capped")

project = config.get("name", "")
expect(project == "jim", f"the default project name is `{project}`, not jim")
expect(config.get("networks", {}).get("jim-network", {}).get("name") == f"{project}_jim-network",
       "network jim-network is not named after the project")
# Compose leaves out volumes that no active service mounts: the database's needs the profile.
volumes = ["jim-logs-volume", "jim-keys-volume", "jim-connector-files-volume"]
volumes += ["jim-db-volume"] if with_db else []
for volume in volumes:
    expect(config.get("volumes", {}).get(volume, {}).get("name") == f"{project}_{volume}",
           f"volume {volume} is missing or not named after the project")

for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
PY

# Checks one combination of files, with or without the with-db profile.
check_combination() {
  local profile="$1"
  shift
  local files=("$@") arguments=() name
  local file
  for file in "${files[@]}"; do arguments+=(-f "$file"); done
  if [ "$profile" = with-db ]; then arguments+=(--profile with-db); fi
  name="$(printf '%s + ' "${files[@]}" | sed 's/ + $//')${profile:+, --profile $profile}"

  if ! compose "$work/env" "${arguments[@]}" config --format json \
    >"$work/config.json" 2>"$work/stderr"; then
    cat "$work/stderr" >"$work/reason"
    record 1 "$name"
    return
  fi
  if [ -s "$work/stderr" ]; then
    { echo "compose warned:"; cat "$work/stderr"; } >"$work/reason"
    record 1 "$name"
    return
  fi

  local expected_images=(jim-scheduler:0.1.0 jim-web:0.1.0 jim-worker:0.1.0)
  if [ "$profile" = with-db ]; then expected_images+=(postgres:18); fi
  local images expected
  images="$(compose "$work/env" "${arguments[@]}" config --images 2>&1 | sort)"
  expected="$(printf '%s\n' "${expected_images[@]}" | sort)"
  if [ "$images" != "$expected" ]; then
    printf 'config --images listed:\n%s\nexpected:\n%s\n' "$images" "$expected" >"$work/reason"
    record 1 "$name"
    return
  fi

  if python3 "$work/assert.py" "$work/config.json" "$profile" "${files[@]}" >"$work/reason" 2>&1
  then record 0 "$name"; else record 1 "$name"; fi
}

combinations=(
  "docker-compose.yml docker-compose.override.yml"
  "docker-compose.yml docker-compose.production.yml"
  "docker-compose.yml docker-compose.production.yml docker-compose.override.yml"
  "docker-compose.yml docker-compose.override.yml docker-compose.development.yml"
)
for combination in "${combinations[@]}"; do
  for profile in "" with-db; do
    # The word splitting of $combination into file names is intended.
    # shellcheck disable=SC2086
    check_combination "$profile" $combination
  done
done

# Running without -f must pick up the override and nothing else: the deployment guide's plain
# `docker compose --profile with-db up -d` inside compose/.
plain="$(compose "$work/env" --profile with-db config --format json 2>"$work/stderr" || true)"
explicit="$(compose "$work/env" -f docker-compose.yml -f docker-compose.override.yml \
  --profile with-db config --format json 2>&1 || true)"
if [ -n "$plain" ] && [ "$plain" = "$explicit" ] && [ ! -s "$work/stderr" ]; then
  record 0 "no -f (the deployment guide's plain command) equals docker-compose.yml + docker-compose.override.yml"
else
  echo "the configuration without -f differs from base + override" >"$work/reason"
  record 1 "no -f (the deployment guide's plain command) equals docker-compose.yml + docker-compose.override.yml"
fi

# The override must stay safe for production: the only thing it may add is jim.web's port.
compose "$work/env" -f docker-compose.yml --profile with-db config --format json \
  >"$work/base.json" 2>&1 || true
compose "$work/env" -f docker-compose.yml -f docker-compose.override.yml --profile with-db \
  config --format json >"$work/with-override.json" 2>&1 || true
status=0
python3 - "$work/base.json" "$work/with-override.json" >"$work/reason" 2>&1 <<'PY' || status=$?
import json
import sys

base = json.load(open(sys.argv[1]))
with_override = json.load(open(sys.argv[2]))
ports = with_override["services"]["jim.web"].pop("ports", None)
if not ports:
    print("docker-compose.override.yml publishes no port for jim.web")
if with_override != base:
    print("docker-compose.override.yml changes more than jim.web's ports")
sys.exit(1 if ports is None or with_override != base else 0)
PY
record "$status" "docker-compose.override.yml changes nothing but jim.web's published port"

# .env.example must describe every variable the compose files read, and no other.
for file in "$work"/compose/docker-compose*.yml; do
  compose "$work/env" -f "$file" config --no-interpolate --format json 2>/dev/null || true
done >"$work/raw.json"
compose "$work/env" -f docker-compose.yml -f docker-compose.production.yml \
  -f docker-compose.override.yml -f docker-compose.development.yml --profile with-db \
  config --variables --format json >"$work/variables.json" 2>&1 || true
status=0
python3 - "$work/raw.json" "$work/variables.json" "$work/env" >"$work/reason" 2>&1 <<'PY' || status=$?
import json
import re
import sys

raw_path, variables_path, env_path = sys.argv[1:]
read = set(json.load(open(variables_path)))
# A name in `environment` without a value is read from .env too, but Compose does not list it.
decoder = json.JSONDecoder()
text = open(raw_path).read()
position = 0
while position < len(text):
    while position < len(text) and text[position].isspace():
        position += 1
    if position >= len(text):
        break
    document, position = decoder.raw_decode(text, position)
    for service in document.get("services", {}).values():
        environment = service.get("environment") or {}
        read |= {key for key, value in environment.items() if value is None}

described = set()
for line in open(env_path):
    match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=", line)
    if match:
        described.add(match.group(1))

undescribed = sorted(read - described)
unused = sorted(described - read)
if undescribed:
    print(f"read by the compose files but not in .env.example: {undescribed}")
if unused:
    print(f"in .env.example but read by no compose file: {unused}")
sys.exit(1 if undescribed or unused else 0)
PY
record "$status" ".env.example describes exactly the variables the compose files read"

# The two values without which nothing can start must be refused with a clear message.
for variable in JIM_DB_PASSWORD JIM_VERSION; do
  grep -v "^$variable=" "$work/env" >"$work/env-without"
  if compose "$work/env-without" -f docker-compose.yml config -q >"$work/stderr" 2>&1; then
    echo "config succeeded without $variable" >"$work/reason"
    record 1 "a missing $variable is refused"
  elif grep -q "$variable" "$work/stderr"; then
    record 0 "a missing $variable is refused"
  else
    { echo "the error does not name $variable:"; cat "$work/stderr"; } >"$work/reason"
    record 1 "a missing $variable is refused"
  fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
