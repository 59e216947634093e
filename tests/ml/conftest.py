"""Fixtures of the ML pipeline tests: generated shoppers in a real chDB database, one pipeline run.

Generating, exporting and training take seconds, so the data and the first state-machine run are
shared by the tests of this package (session scope), in a database of their own inside the
session's one chDB directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from eventlens.components import Components
from eventlens.keys import DEFAULT_PROJECT
from eventlens.ml.contracts import PipelineInput
from eventlens_tools.local.invoke import LocalFunction
from eventlens_tools.local.pipeline import PipelineRun, run_pipeline
from eventlens_tools.shoppers import generate_shopper_events, warehouse_rows
from tests.conftest import TEST_SECRET_KEY, hand, isolated_settings, opened_components

END = datetime(2026, 3, 1, tzinfo=UTC)  # history ends here; the pipeline exports through LAST_DAY
LAST_DAY = date(2026, 2, 28)
SHOPPERS = 1500


@pytest.fixture(scope="session")
def shopper_rows() -> pa.Table:
    """A year of commerce events of shoppers with planted signal, as ``events`` rows."""
    return warehouse_rows(generate_shopper_events(SHOPPERS, 365, seed=11, end=END), received_at=END)


def in_project(rows: pa.Table, project_id: str = DEFAULT_PROJECT) -> pa.Table:
    """``events`` rows stamped with ``project_id``, as consume stores a project's events."""
    return rows.append_column("project_id", pa.array([project_id] * rows.num_rows, pa.string()))


@pytest.fixture(scope="session")
def ml_parts(
    tmp_path_factory: pytest.TempPathFactory, chdb_dir: Path, shopper_rows: pa.Table
) -> Iterator[Components]:
    """Components whose warehouse holds the shoppers' events (handed to the functions by ``served``)."""
    settings = isolated_settings(tmp_path_factory.mktemp("ml-home"), chdb_dir, prefix="ml")
    with opened_components(settings) as parts:
        parts.warehouse.insert_arrow("events", in_project(shopper_rows))
        yield parts


@pytest.fixture(scope="session")
def first_run(ml_parts: Components) -> PipelineRun:
    """The state machine's first execution over the shoppers' year (of the default project)."""
    return run_pipeline(
        ml_parts.settings, PipelineInput(project_id=DEFAULT_PROJECT, until=LAST_DAY), parts=ml_parts
    )


@pytest.fixture
def served(ml_parts: Components, first_run: PipelineRun, functions: dict[str, LocalFunction]) -> Components:
    """The pipeline's components, handed to the manifest's functions (the predict function's too)."""
    hand(ml_parts, functions)
    return ml_parts


def api_event(
    method: str,
    path: str,
    query: str = "",
    body: Any = None,
    route: str | None = None,
    key: str = TEST_SECRET_KEY,
) -> dict[str, Any]:
    """An API Gateway HTTP API (2.0) event, built as the local runtime builds it for a request, with
    ``key`` (default: the default project's secret key)."""
    import json

    from eventlens.manifest import HttpRoute
    from eventlens_tools.local.apigw import http_api_event

    raw = json.dumps(body).encode() if body is not None else b""
    headers = [("content-type", "application/json")] if body is not None else []
    headers.append(("authorization", f"Bearer {key}"))
    template = HttpRoute(method, route or path)
    parameters = template.pattern.match(path).groupdict()  # type: ignore[union-attr]
    return http_api_event(method, path, query, headers, raw, template, parameters)
