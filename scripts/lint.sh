#!/usr/bin/env bash
# The lint command: ruff's rules, ruff's formatting, and mypy over the whole tree. The files mypy
# checks and how (functions/<name>/handler.py named functions.<name>.handler) are in pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
