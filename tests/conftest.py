"""Shared fixtures: real components on temporary state.

chDB opens one data directory per process, so the whole test session shares one, and each test
gets its own database in it (and its own $EVENTLENS_HOME for the queue and object storage).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

from eventlens import components as components_module  # noqa: E402
from eventlens.components import Components  # noqa: E402
from eventlens.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EVENTS_DIR = ROOT / "events"


def load_event(name: str) -> dict[str, Any]:
    """An event fixture from events/ (the same files drive the local runtime and the docs)."""
    return json.loads((EVENTS_DIR / name).read_text())


@pytest.fixture(scope="session")
def chdb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture
def settings(tmp_path: Path, chdb_dir: Path) -> Settings:
    """Embedded settings: a fresh home and a fresh warehouse database for this test."""
    return Settings(
        EVENTLENS_HOME=tmp_path / "home",
        EVENTLENS_CHDB_PATH=chdb_dir,
        CLICKHOUSE_DATABASE=f"t_{uuid.uuid4().hex[:12]}",
    )


@pytest.fixture
def components(settings: Settings) -> Iterator[Components]:
    """This test's components, installed as the process's (what handlers use)."""
    parts = Components(settings)
    components_module.install(parts)
    yield parts
    components_module.install(None)
    if "warehouse" in parts.__dict__:
        parts.warehouse.command(f"DROP DATABASE IF EXISTS {settings.clickhouse_database}")
    parts.close()
