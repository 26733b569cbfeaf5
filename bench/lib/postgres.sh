# shellcheck shell=bash
# The PostgreSQL server the benchmarks use: the tests' server and role (see services/testkit),
# overridable with the same JIM_TEST_DB_* variables. Source it after common.sh.

# shellcheck disable=SC2034 # The scripts that source this file read them.
DB_HOST="${JIM_TEST_DB_HOST:-127.0.0.1:5432}"
DB_USERNAME="${JIM_TEST_DB_USERNAME:-jim_test}"
DB_PASSWORD="${JIM_TEST_DB_PASSWORD:-jim_test}"

psql_on() {
    # psql_on DATABASE SQL: runs SQL in DATABASE and prints the rows unaligned.
    PGPASSWORD="$DB_PASSWORD" psql --host="${DB_HOST%:*}" --port="${DB_HOST##*:}" \
        --username="$DB_USERNAME" --dbname="$1" --no-psqlrc --quiet --tuples-only \
        --no-align --set=ON_ERROR_STOP=1 --command="$2"
}

need_postgres() {
    # need_postgres: the client from Debian when missing, and a server that answers.
    need_package psql postgresql-client
    psql_on postgres 'SELECT 1' >/dev/null ||
        fail "cannot reach PostgreSQL at \`$DB_HOST\` as \`$DB_USERNAME\`" \
            "start it with \`bash .ci/start-postgres\`"
}

database_env() {
    # database_env DATABASE: sets DB_ENV to the JIM_DB_* settings of a service on DATABASE, for
    # `env "${DB_ENV[@]}" ... SERVICE &`, which keeps the service's own PID in $!.
    DB_ENV=(JIM_DB_HOSTNAME="$DB_HOST" JIM_DB_NAME="$1"
        JIM_DB_USERNAME="$DB_USERNAME" JIM_DB_PASSWORD="$DB_PASSWORD")
}

drop_database() {
    # drop_database DATABASE: removes a benchmark's database, or says to do it by hand.
    psql_on postgres "DROP DATABASE IF EXISTS $1 WITH (FORCE)" ||
        say "could not drop the database \`$1\`; drop it by hand"
}
