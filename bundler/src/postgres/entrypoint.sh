#!/bin/sh
# Entry point of the jim-postgres image: the contract of the official postgres image
# (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, PGDATA) on Debian's PostgreSQL packages.
set -eu

# Any command other than the server runs as given (psql, pg_dump, a shell).
if [ "${1:-}" != "postgres" ]; then
    exec "$@"
fi

: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA
POSTGRES_USER="${POSTGRES_USER:-postgres}"
POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo "error: \`$PGDATA\` holds no database and POSTGRES_PASSWORD is empty" >&2
        echo "hint: set POSTGRES_PASSWORD (and POSTGRES_USER, POSTGRES_DB) for the first start" >&2
        exit 1
    fi
    echo "jim-postgres: initialising \`$PGDATA\` for superuser \`$POSTGRES_USER\`"

    # The password goes through a pipe, never through a file or the command line.
    if ! printf '%s\n' "$POSTGRES_PASSWORD" | initdb --pgdata="$PGDATA" \
        --username="$POSTGRES_USER" --pwfile=/dev/stdin --encoding=UTF8 --locale=C \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null; then
        echo "error: initdb failed for \`$PGDATA\`" >&2
        echo "hint: the folder must be empty and belong to uid 999 (chown 999:999 on a bind mount)" >&2
        exit 1
    fi
    printf '%s\n' "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    printf '%s\n' "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"

    # A server on the socket alone creates the database, so nobody connects half-way.
    pg_ctl --pgdata="$PGDATA" --options="-c listen_addresses=''" --wait --silent start
    if [ "$POSTGRES_DB" != "postgres" ]; then
        printf '%s\n' 'CREATE DATABASE :"database";' | psql --no-psqlrc --quiet \
            --set=ON_ERROR_STOP=1 --set=database="$POSTGRES_DB" \
            --username="$POSTGRES_USER" --dbname=postgres
    fi
    pg_ctl --pgdata="$PGDATA" --mode=fast --wait --silent stop
    echo "jim-postgres: database \`$POSTGRES_DB\` is ready"
fi

exec "$@"
