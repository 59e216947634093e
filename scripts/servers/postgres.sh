#!/usr/bin/env bash
# PostgreSQL 15 (Debian's package) for bench/reports.py: the comparison database, on loopback only.
#
# Usage (as root): scripts/servers/postgres.sh <command> [PORT]
#   start [PORT]   install postgresql-15 if missing, create the cluster "eventlens" on PORT if missing,
#                  start it, and create the database "eventlens_bench" (idempotent)
#   stop [PORT]    stop the cluster
#   status [PORT]  exit 0 when it accepts connections, 3 when not
#   drop [PORT]    stop and delete the cluster and its data
#
# PORT defaults to $PG_PORT, else 55432. Clients connect as user postgres without a password from
# 127.0.0.1 only: postgresql://postgres@127.0.0.1:PORT/eventlens_bench
set -euo pipefail

PORT=${2:-${PG_PORT:-55432}}
VERSION=15
CLUSTER=eventlens
DATABASE=eventlens_bench
CONF=/etc/postgresql/$VERSION/$CLUSTER

log() { printf 'postgres.sh: %s\n' "$*" >&2; }

install() {
    if [ ! -x /usr/lib/postgresql/$VERSION/bin/postgres ]; then
        log "installing postgresql-$VERSION"
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "postgresql-$VERSION" postgresql-client-$VERSION
    fi
}

create() {
    if [ ! -d "$CONF" ]; then
        log "creating cluster $VERSION/$CLUSTER on port $PORT"
        pg_createcluster "$VERSION" "$CLUSTER" -p "$PORT" -- --auth-local=peer --auth-host=scram-sha-256 >/dev/null
        # Loopback only, no password: a benchmark database holding generated data.
        printf 'host all postgres 127.0.0.1/32 trust\n' | cat - "$CONF/pg_hba.conf" > "$CONF/pg_hba.conf.new"
        mv "$CONF/pg_hba.conf.new" "$CONF/pg_hba.conf"
        chown postgres:postgres "$CONF/pg_hba.conf"
        # Sized for a 2-core, 24 GiB machine running an analytics benchmark.
        cat > "$CONF/conf.d/eventlens.conf" <<CONFIG
listen_addresses = '127.0.0.1'
port = $PORT
shared_buffers = '4GB'
effective_cache_size = '12GB'
work_mem = '256MB'
maintenance_work_mem = '2GB'
max_parallel_workers_per_gather = 2
max_wal_size = '8GB'
synchronous_commit = off
jit = off
timezone = 'UTC'
CONFIG
    fi
}

ready() { pg_isready -h 127.0.0.1 -p "$PORT" -q; }

case "${1:-}" in
    start)
        install
        create
        if ! ready; then
            pg_ctlcluster "$VERSION" "$CLUSTER" start
        fi
        for _ in $(seq 1 60); do ready && break; sleep 0.5; done
        ready || { log "cluster did not start on port $PORT"; exit 1; }
        if ! psql -h 127.0.0.1 -p "$PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'" | grep -q 1; then
            psql -h 127.0.0.1 -p "$PORT" -U postgres -qc "CREATE DATABASE $DATABASE"
        fi
        log "ready: postgresql://postgres@127.0.0.1:$PORT/$DATABASE"
        ;;
    stop)
        [ -d "$CONF" ] && pg_ctlcluster "$VERSION" "$CLUSTER" stop || true
        ;;
    status)
        ready && { log "accepting connections on $PORT"; exit 0; }
        exit 3
        ;;
    drop)
        [ -d "$CONF" ] && pg_dropcluster --stop "$VERSION" "$CLUSTER" || true
        ;;
    *)
        sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
        exit 2
        ;;
esac
