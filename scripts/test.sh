#!/usr/bin/env bash
# The test command: installs what is missing, starts the real servers the tests talk to
# (a Kafka broker in KRaft mode), runs pytest, and stops the servers again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export KAFKA_TEST_PORT=${KAFKA_TEST_PORT:-19092}
bash scripts/servers/kafka.sh start "$KAFKA_TEST_PORT"
trap 'bash scripts/servers/kafka.sh stop "$KAFKA_TEST_PORT" || true' EXIT
export EVENTLENS_TEST_KAFKA="127.0.0.1:$KAFKA_TEST_PORT"
.venv/bin/python -m pytest "$@"
