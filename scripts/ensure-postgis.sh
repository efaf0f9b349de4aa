#!/usr/bin/env bash
# A local PostGIS for the tests, on a fresh Debian 12 machine or on one already set up.
#
#   1. installs postgresql-15-postgis-3 if missing (apt-get update only then);
#   2. creates cluster 15/main if there is none, starts it if it is down;
#   3. creates the role livingcircle (LOGIN CREATEDB, password livingcircle) and the template
#      database livingcircle_template with the postgis extension (superuser steps, run as the
#      postgres OS user); the tests copy that template into a throwaway database of their own;
#   4. lets the role log in over TCP on 127.0.0.1 (adds a pg_hba line only if login is refused).
#
# Every step checks first, so a second run is a quick no-op. Needs root (or sudo) only for
# the steps that change something.
set -euo pipefail

PG_VERSION=${PG_VERSION:-15}
PG_CLUSTER=${PG_CLUSTER:-main}
PG_HOST=127.0.0.1
PG_PORT=${PG_PORT:-5432}
ROLE=livingcircle
PASSWORD=livingcircle
TEMPLATE=livingcircle_template
PACKAGE="postgresql-${PG_VERSION}-postgis-3"

say() { echo "ensure-postgis: $*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
as_postgres() { as_root runuser -u postgres -- "$@"; }
psql_admin() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" "$@"; }

install_package() {
    if dpkg-query -W -f='${Status}' "$PACKAGE" 2>/dev/null | grep -q "install ok installed"; then
        return
    fi
    say "installing $PACKAGE"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$PACKAGE" >/dev/null
}

start_cluster() {
    if pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
        return
    fi
    if ! pg_lsclusters -h | awk '{print $1"/"$2}' | grep -qx "$PG_VERSION/$PG_CLUSTER"; then
        say "creating cluster $PG_VERSION/$PG_CLUSTER"
        as_root pg_createcluster "$PG_VERSION" "$PG_CLUSTER" -p "$PG_PORT" >/dev/null
    fi
    say "starting cluster $PG_VERSION/$PG_CLUSTER"
    as_root pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$PG_CLUSTER" start
    for _ in $(seq 60); do
        pg_isready -q -h "$PG_HOST" -p "$PG_PORT" && return
        sleep 0.5
    done
    say "PostgreSQL did not accept connections on $PG_HOST:$PG_PORT; see" \
        "/var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log" >&2
    exit 1
}

ensure_role_and_template() {
    local state
    state=$(psql_admin -At -d postgres -c "
        SELECT (SELECT count(*) FROM pg_roles WHERE rolname = '$ROLE')
            || ',' || (SELECT count(*) FROM pg_database WHERE datname = '$TEMPLATE')")
    if [ "${state%,*}" = 0 ]; then
        say "creating role $ROLE"
        psql_admin -d postgres -c "CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD'"
    fi
    if [ "${state#*,}" = 0 ]; then
        say "creating template database $TEMPLATE"
        psql_admin -d postgres -c "CREATE DATABASE $TEMPLATE OWNER $ROLE"
    fi
    if [ "$(psql_admin -At -d "$TEMPLATE" -c \
            "SELECT count(*) FROM pg_extension WHERE extname = 'postgis'")" = 0 ]; then
        say "adding the postgis extension to $TEMPLATE"
        psql_admin -d "$TEMPLATE" -c "CREATE EXTENSION IF NOT EXISTS postgis"
        psql_admin -d postgres -c "ALTER DATABASE $TEMPLATE IS_TEMPLATE true"
    fi
}

tcp_login_ok() {
    PGPASSWORD=$PASSWORD PGCONNECT_TIMEOUT=5 psql -X -q -At -w -h "$PG_HOST" -p "$PG_PORT" \
        -U "$ROLE" -d postgres -c "SELECT 1" >/dev/null 2>&1
}

ensure_tcp_login() {
    if tcp_login_ok; then
        return
    fi
    local hba
    hba=$(psql_admin -At -d postgres -c "SHOW hba_file")
    say "allowing $ROLE to log in with a password on $PG_HOST ($hba)"
    # pg_hba.conf is read top-down, first match wins: put the line first
    as_root sed -i "1i host all $ROLE $PG_HOST/32 scram-sha-256" "$hba"
    psql_admin -d postgres -c "SELECT pg_reload_conf()" >/dev/null
    psql_admin -d postgres -c "ALTER ROLE $ROLE PASSWORD '$PASSWORD'"
    if ! tcp_login_ok; then
        say "role $ROLE still cannot log in on $PG_HOST:$PG_PORT; check $hba" >&2
        exit 1
    fi
}

install_package
start_cluster
ensure_role_and_template
ensure_tcp_login
say "ready: postgresql+psycopg://$ROLE:***@$PG_HOST:$PG_PORT/ (template $TEMPLATE)"
