#!/usr/bin/env bash
# Creates .venv and installs eventlens with everything its tests use. Idempotent; safe to re-run.
# Each step says what it does; pip shows what it downloads and installs as it goes.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
started=$SECONDS
step() { echo "setup.sh: $*"; }
if [[ ! -x .venv/bin/python ]]; then
    step "creating .venv with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv .venv
else
    step "using the existing .venv ($(.venv/bin/python --version))"
fi
step "upgrading pip"
.venv/bin/python -m pip install --upgrade pip
step "installing eventlens and its test dependencies: ML, graph, PostgreSQL, infra, dev" \
    "(about 3 min on a fresh machine, seconds when they are installed already)"
.venv/bin/python -m pip install -e ".[dev,demo,ml,graph,postgres,infra]"
# The web console (console/, TypeScript): built into tools/eventlens_tools/console/static, which is
# committed too, so a machine without Node.js still serves the last built console.
if command -v npm >/dev/null 2>&1; then
    step "building the web console: npm ci (console/package-lock.json) and esbuild"
    (cd console && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
else
    step "npm not found: the console bundle committed in tools/eventlens_tools/console/static is served"
fi
step "eventlens installed in .venv ($(.venv/bin/python --version)) in $((SECONDS - started)) s;" \
    "next: .venv/bin/eventlens demo"
