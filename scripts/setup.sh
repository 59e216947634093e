#!/usr/bin/env bash
# Creates .venv and installs eventlens with everything its tests use. Idempotent; safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev,ml,graph,postgres,infra]"
echo "setup.sh: eventlens installed in .venv ($(.venv/bin/python --version))"
