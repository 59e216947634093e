"""Cold starts: a handler imports what it uses, and no more (heavy libraries only where needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pyarrow", "chdb", "clickhouse_connect", "numpy", "sklearn", "neo4j")


def _modules_after_import(function: str) -> set[str]:
    """The modules loaded by importing ``functions/<function>/handler.py`` in a fresh interpreter, as
    a Lambda cold start imports it (top-level names, and eventlens's own in full)."""
    script = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(ROOT / 'functions' / function)!r})\n"
        "import handler\n"
        "names = {name.split('.')[0] for name in sys.modules}\n"
        "names |= {name for name in sys.modules if name.startswith('eventlens')}\n"
        "print(json.dumps(sorted(names)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT, timeout=120
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_ingest_handler_loads_no_warehouse_or_ml_library() -> None:
    # Given the ingest function, which only validates events and puts them on the queue
    # When its handler is imported as on a cold start
    loaded = _modules_after_import("ingest")

    # Then neither pyarrow, chDB, the ClickHouse client nor any ML or graph library is loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
    assert "eventlens" in loaded


def test_report_handler_builds_the_whole_apis_document_only_when_asked() -> None:
    # Given the report function, which serves /openapi.json and /docs for every function's routes
    # When its handler is imported as on a cold start
    loaded = _modules_after_import("report")

    # Then the predict and ingest routes (the model registry) are not imported for the document
    assert "eventlens.api.predict_routes" not in loaded and "eventlens.api.ingest_routes" not in loaded
    assert loaded.isdisjoint({"sklearn", "chdb", "neo4j"}), sorted(loaded & set(HEAVY))


def test_report_handler_loads_pyarrow_only_when_a_query_runs() -> None:
    # Given the report function, whose reports read Arrow tables from the warehouse
    # When its handler is imported as on a cold start
    loaded = _modules_after_import("report")

    # Then pyarrow (and numpy under it) waits for the first query, and neither the ClickHouse client
    # nor the SDKs' answers or the memory search (one route's code) are loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
    assert loaded.isdisjoint({"eventlens.api.sdk_answers", "eventlens.memory.search"})
