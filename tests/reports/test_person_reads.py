"""One person's reads (issue 14) against pandas over the same events, section by section and in the
report's order: the memory summary comes from one query of three grouping sets, so each section must
still be exactly what its own query answered."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

from eventlens.reports import lifestream
from tests.reports.conftest import Dataset

TOP = 10


def _cell(value: float) -> float:
    """A coordinate rounded to three decimals as ClickHouse rounds a float: the nearest integer of
    value x 1000, ties to even."""
    return float(np.rint(value * 1000) / 1000)


def _cents(values: list[Any]) -> float:
    """An exact decimal sum of JSON numbers, to cents."""
    return float(round(sum((Decimal(str(v)) for v in values), Decimal(0)), 2))


def _expected_summary(mine: pd.DataFrame) -> dict[str, Any]:
    by_kind = {kind: mine[mine["event_type"] == kind] for kind in mine["event_type"].unique()}

    def rows(kind: str) -> list[tuple[dict[str, Any], Any]]:
        frame = by_kind.get(kind, mine.iloc[0:0])
        return list(zip(frame["properties"], frame["ts"], strict=True))

    cells: dict[tuple[float, float], list[Any]] = {}
    for props, ts in rows("geo"):
        cells.setdefault((_cell(props["lat"]), _cell(props["lon"])), []).append(ts)
    places = sorted(cells.items(), key=lambda kv: (-len(kv[1]), kv[0][0], kv[0][1]))[:TOP]

    def spend(key: str) -> list[tuple[str, int, float]]:
        groups: dict[str, list[Any]] = {}
        for props, _ in rows("purchase"):
            if key == "item" or props.get(key, ""):
                groups.setdefault(props.get(key, ""), []).append(props["amount"])
        spent = [(name, len(amounts), _cents(amounts)) for name, amounts in groups.items()]
        return sorted(spent, key=lambda s: (-s[2], s[0]))[:TOP]

    people: dict[str, dict[str, int]] = {}
    for props, _ in rows("social"):
        if props.get("person_id"):
            actions = people.setdefault(props["person_id"], {})
            actions[props.get("action", "")] = actions.get(props.get("action", ""), 0) + 1
    activities: dict[str, list[Any]] = {}
    for props, _ in rows("activity"):
        activities.setdefault(props["activity"], []).append(props["duration_minutes"])
    health: dict[str, list[Any]] = {}
    for props, _ in rows("health"):
        health.setdefault(props["metric"], []).append(props["value"])
    return {
        "total_events": len(mine),
        "events_by_type": {kind: len(frame) for kind, frame in by_kind.items()},
        "places": [
            (lat, lon, len(times), min(times).to_pydatetime(), max(times).to_pydatetime())
            for (lat, lon), times in places
        ],
        "purchases": (len(rows("purchase")), _cents([p["amount"] for p, _ in rows("purchase")])),
        "by_item": spend("item"),
        "by_place": spend("place"),
        "people": sorted(
            ((pid, sum(acts.values()), acts) for pid, acts in people.items()), key=lambda p: (-p[1], p[0])
        )[:TOP],
        "activity": (len(rows("activity")), _cents([p["duration_minutes"] for p, _ in rows("activity")])),
        "by_activity": sorted(
            ((name, len(mins), _cents(mins)) for name, mins in activities.items()),
            key=lambda a: (-a[1], a[0]),
        ),
        "health": sorted(
            (name, len(vals), float(min(vals)), float(max(vals)), sum(vals) / len(vals))
            for name, vals in health.items()
        ),
    }


def _got(summary: lifestream.MemorySummary) -> dict[str, Any]:
    return {
        "total_events": summary.total_events,
        "events_by_type": summary.events_by_type,
        "places": [(p.lat, p.lon, p.visits, p.first_visit, p.last_visit) for p in summary.places],
        "purchases": (summary.purchases.count, summary.purchases.total_spent),
        "by_item": [(s.name, s.count, s.spent) for s in summary.purchases.by_item],
        "by_place": [(s.name, s.count, s.spent) for s in summary.purchases.by_place],
        "people": [(p.person_id, p.interactions, p.actions) for p in summary.people],
        "activity": (summary.activity.sessions, summary.activity.total_minutes),
        "by_activity": [(a.activity, a.sessions, a.minutes) for a in summary.activity.by_activity],
        "health": [(h.metric, h.count, h.min, h.max, h.avg) for h in summary.health],
    }


def _life_users(reports: Dataset, count: int) -> list[str]:
    frame = reports.events[reports.events["source"] == "lifestream"]
    return [str(user) for user in frame["user_id"].value_counts().index[:count]]


@pytest.mark.parametrize("days", [1, 7, 30, 120])
def test_memory_summary_in_one_query_matches_every_section_in_order(reports: Dataset, days: int) -> None:
    # Given the three busiest Life Stream persons and the last `days` days
    start, end = reports.today - timedelta(days=days - 1), reports.today
    for user in _life_users(reports, 3):
        frame = reports.events
        mine = frame[
            (frame["user_id"] == user)
            & (frame["source"] == "lifestream")
            & (frame["day"] >= start)
            & (frame["day"] <= end)
        ]
        # When the summary is asked for
        got = _got(lifestream.memory_summary(reports.components.warehouse, "default", user, start, end))
        # Then every section holds what pandas computes, in the report's order and cut to ten
        expected = _expected_summary(mine) if len(mine) else _got(_empty(user, start, end))
        health_avgs = [h[4] for h in expected["health"]]
        assert [h[4] for h in got["health"]] == pytest.approx(health_avgs, abs=0.0051)
        got["health"] = [h[:4] for h in got["health"]]
        expected["health"] = [h[:4] for h in expected["health"]]
        assert got == expected


def _empty(user: str, start: date, end: date) -> lifestream.MemorySummary:
    return lifestream.MemorySummary(
        user_id=user,
        start=start,
        end=end,
        total_events=0,
        events_by_type={},
        places=[],
        purchases=lifestream.Purchases(count=0, total_spent=0.0, by_item=[], by_place=[]),
        people=[],
        activity=lifestream.Activity(sessions=0, total_minutes=0.0, by_activity=[]),
        health=[],
    )


def test_memory_summary_of_a_person_without_events_is_empty(reports: Dataset) -> None:
    # Given a person the project does not hold / When their summary is asked for
    start, end = reports.today - timedelta(days=6), reports.today
    got = lifestream.memory_summary(reports.components.warehouse, "default", "nobody", start, end)
    # Then every section is empty and every total zero
    assert got == _empty("nobody", start, end)
