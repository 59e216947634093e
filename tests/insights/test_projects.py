"""Isolation through the data on every insight: two projects in one warehouse hold the same user ids and
some of the same event ids, and each project's secret key reads its own project's figures only; and
every query an insight runs names the project (bound) for every table it reads."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import pyarrow as pa
import pytest

from eventlens.insights import funnel, lifecycle, paths, retention, stickiness, trends
from eventlens.keys import DEFAULT_PROJECT
from eventlens.warehouse import Warehouse
from eventlens_tools.local.invoke import LocalFunction
from tests.conftest import OTHER_PROJECT, OTHER_SECRET_KEY, TEST_SECRET_KEY
from tests.insights import reference
from tests.insights.conftest import Dataset, ask, differences

KEYS = {DEFAULT_PROJECT: TEST_SECRET_KEY, OTHER_PROJECT: OTHER_SECRET_KEY}
OCTOBER = {"from": "2025-10-01", "to": "2025-11-15", "timezone": "Europe/Kyiv"}


def _trends(answer: dict[str, Any], world: reference.World, body: dict[str, Any]) -> list[str]:
    got = [
        {k: s[k] for k in ("letter", "breakdown_value", "other", "values", "total")} for s in answer["series"]
    ]
    return differences(got, reference.trends(world, body)["series"])


def _funnel(answer: dict[str, Any], world: reference.World, body: dict[str, Any]) -> list[str]:
    plain = [{k: v for k, v in s.items() if k != "label" and v is not None} for s in answer["steps"]]
    want = [{k: v for k, v in s.items() if v is not None} for s in reference.funnel(world, body)[None]]
    return differences(plain, want)


def _paths(answer: dict[str, Any], world: reference.World, body: dict[str, Any]) -> list[str]:
    want = reference.paths(world, body)
    return differences({"persons": answer["persons"], "edges": answer["edges"]}, want)


def _stickiness(answer: dict[str, Any], world: reference.World, body: dict[str, Any]) -> list[str]:
    return differences([s["persons"] for s in answer["series"]], reference.stickiness(world, body)["series"])


def _lifecycle(answer: dict[str, Any], world: reference.World, body: dict[str, Any]) -> list[str]:
    want = reference.lifecycle(world, body)
    return differences({status: answer[status] for status in want}, want)


def _retention(answer: dict[str, Any], world: reference.World, body: dict[str, Any]) -> list[str]:
    return differences([c["returned"] for c in answer["cohorts"]], reference.retention(world, body))


Check = Callable[[dict[str, Any], reference.World, dict[str, Any]], list[str]]
CASES: list[tuple[str, dict[str, Any], Check]] = [
    (
        "trends",
        {
            **OCTOBER,
            "series": [{"event": "page_view"}, {"math": "unique_persons"}],
            "breakdown": {"property": "properties.country", "limit": 4},
        },
        _trends,
    ),
    (
        "trends",
        {
            **OCTOBER,
            "series": [{"math": "unique_persons"}],
            "filters": [{"property": "person.plan", "operator": "is_set"}],
        },
        _trends,
    ),
    (
        "funnel",
        {**OCTOBER, "steps": [{"event": "view_item"}, {"event": "add_to_cart"}, {"event": "purchase"}]},
        _funnel,
    ),
    (
        "funnel",
        {"from": "2025-10-20", "to": "2025-10-20", "steps": [{"event": "f_signup"}, {"event": "f_activate"}]},
        _funnel,
    ),
    ("paths", {**OCTOBER, "start_event": {"event": "session_start"}, "depth": 3}, _paths),
    ("stickiness", {**OCTOBER, "series": [{"event": "page_view"}, {}]}, _stickiness),
    ("lifecycle", {**OCTOBER, "interval": "week"}, _lifecycle),
    ("retention", {**OCTOBER, "start_event": {"event": "session_start"}, "periods": 4}, _retention),
]


@pytest.mark.parametrize(("kind", "body", "check"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_each_project_reads_only_its_own_figures(
    insights: Dataset, functions: dict[str, LocalFunction], kind: str, body: dict[str, Any], check: Check
) -> None:
    answers = {}
    for project, key in KEYS.items():
        # Given a project's own events (the other's have the same user ids, some the same event ids)
        # When its secret key asks an insight
        status, answer = ask(functions, f"/api/v1/insights/{kind}", body, key=key)
        # Then the answer is what its own events give, nothing of the other project's
        assert status == 200, answer
        found = check(answer, insights.worlds[project], body)
        assert not found, (project, found[:10])
        answers[project] = answer
    # And the two differ, so a query that forgot its project would have shown
    mine, theirs = answers.values()
    assert {k: v for k, v in mine.items() if k != "understood"} != {
        k: v for k, v in theirs.items() if k != "understood"
    }


class RecordingWarehouse:
    """The real warehouse, keeping the text of each statement it is given."""

    def __init__(self, inner: Warehouse) -> None:
        self.inner = inner
        self.database = inner.database
        self.statements: list[str] = []

    def command(self, sql: str, parameters: Mapping[str, Any] | None = None) -> None:
        self.statements.append(sql)
        self.inner.command(sql, parameters)

    def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> pa.Table:
        self.statements.append(sql)
        return self.inner.query(sql, parameters)

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        self.inner.insert_arrow(table, data)

    def ping(self) -> bool:
        return self.inner.ping()

    def close(self) -> None:
        self.inner.close()


_TABLE_READ = re.compile(r"\b(?:FROM|(?<!ARRAY )JOIN)\s+(?!\()([A-Za-z_][\w.]*)")
EVERY_KIND: list[tuple[Callable[..., Any], Any]] = [
    (
        trends.trends,
        trends.TrendsQuery.model_validate(
            {
                **OCTOBER,
                "series": [{"math": "p90", "property": "properties.price"}],
                "breakdown": {"property": "person.plan"},
                "filters": [{"property": "person.seats", "operator": "not_equals", "value": 3}],
            }
        ),
    ),
    (
        funnel.funnel,
        funnel.FunnelQuery.model_validate(
            {
                **OCTOBER,
                "steps": [{"event": "page_view"}, {"event": "purchase"}],
                "breakdown": {"property": "person.plan"},
                "dropped": {"after_step": 1},
            }
        ),
    ),
    (paths.paths, paths.PathsQuery.model_validate({**OCTOBER, "end_event": {"event": "purchase"}})),
    (stickiness.stickiness, stickiness.StickinessQuery.model_validate({**OCTOBER, "series": [{}]})),
    (
        lifecycle.lifecycle,
        lifecycle.LifecycleQuery.model_validate({**OCTOBER, "interval": "hour", "to": "2025-10-02"}),
    ),
    (retention.retention, retention.RetentionQuery.model_validate(OCTOBER)),
    # and the rollups, where they answer
    (
        trends.trends,
        trends.TrendsQuery.model_validate(
            {
                **OCTOBER,
                "timezone": "UTC",
                "series": [{"math": "unique_persons"}],
                "breakdown": {"property": "source"},
            }
        ),
    ),
    (
        lifecycle.lifecycle,
        lifecycle.LifecycleQuery.model_validate({**OCTOBER, "timezone": "UTC", "interval": "week"}),
    ),
]


@pytest.mark.parametrize(
    ("insight", "query"), EVERY_KIND, ids=[f"{kind[0].__name__}-{i}" for i, kind in enumerate(EVERY_KIND)]
)
def test_every_table_an_insight_reads_is_read_for_one_project(
    insights: Dataset, insight: Callable[..., Any], query: Any
) -> None:
    # Given an insight run on the real warehouse, each statement it sends kept
    recording = RecordingWarehouse(insights.components.warehouse)
    insight(recording, DEFAULT_PROJECT, query)
    assert recording.statements
    for sql in recording.statements:
        reads = [table for table in _TABLE_READ.findall(sql) if not table.startswith("system.")]
        # Then every table it reads is read for the caller's project, bound as a parameter
        assert sql.count("project_id = {project:String}") >= len(reads), sql


def test_the_stored_events_are_the_distinct_events_of_each_project(insights: Dataset) -> None:
    # Given events delivered with duplicates, a redelivered batch, re-sent and late events
    rows = insights.components.warehouse.query(
        "SELECT project_id, count() AS n, uniqExact(event_id) AS distinct_ids FROM events GROUP BY project_id"
    ).to_pylist()
    # Then each project holds each of its events once (some event ids are in both)
    assert {r["project_id"]: (r["n"], r["distinct_ids"]) for r in rows} == {
        p: (len(w.events), len(w.events)) for p, w in insights.worlds.items()
    }
