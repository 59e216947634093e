"""Trends through POST /api/v1/insights/trends equal the reference computation over the same events:
every math, every interval, breakdowns with other, formulas, filters of each operator, a timezone
with a DST change, person properties."""

from __future__ import annotations

from typing import Any

import pytest

from eventlens.keys import DEFAULT_PROJECT
from eventlens_tools.local.invoke import LocalFunction
from tests.insights import reference
from tests.insights.conftest import Dataset, ask, differences

OCTOBER = {"from": "2025-10-01", "to": "2025-11-15"}
PRICE_MATHS = ["sum", "avg", "min", "max", "median", "p90", "p95", "p99"]

CASES: dict[str, dict[str, Any]] = {
    "every math of purchases, per day": {
        **OCTOBER,
        "series": [
            {"event": "purchase"},
            {"event": "purchase", "math": "unique_persons"},
            *({"event": "purchase", "math": m, "property": "properties.price"} for m in PRICE_MATHS),
        ],
    },
    # Life Stream's purchases carry amount, not price: their price is not a number, and is skipped
    "maths over a property some events lack, per week in Kyiv": {
        **OCTOBER,
        "timezone": "Europe/Kyiv",
        "interval": "week",
        "series": [
            {"event": "purchase", "math": "avg", "property": "properties.amount"},
            {"event": None, "math": "max", "property": "properties.position_seconds"},
        ],
    },
    "breakdown by country, top 3 and other, with a formula": {
        **OCTOBER,
        "series": [{"event": "page_view"}, {"event": "page_view", "math": "unique_persons"}],
        "breakdown": {"property": "properties.country", "limit": 3},
        "formula": "A / B",
    },
    "any event by event type, per month": {
        **OCTOBER,
        "interval": "month",
        "series": [{"math": "unique_persons"}],
        "breakdown": {"property": "event_type", "limit": 5},
    },
    "filters of every operator": {
        **OCTOBER,
        "series": [
            {
                "event": "purchase",
                "filters": [{"property": "properties.price", "operator": "gt", "value": 100}],
            },
            {
                "event": "view_item",
                "filters": [{"property": "properties.region", "operator": "contains", "value": "-0"}],
            },
            {
                "event": "page_view",
                "filters": [{"property": "properties.region", "operator": "regex", "value": "^(UA|PL)-1"}],
            },
            {
                "event": "page_view",
                "filters": [{"property": "properties.country", "operator": "not_equals", "value": "UA"}],
            },
            {"filters": [{"property": "properties.price", "operator": "is_set"}]},
            {"filters": [{"property": "properties.country", "operator": "is_not_set"}]},
            {
                "event": "add_to_cart",
                "filters": [{"property": "properties.price", "operator": "lte", "value": 50.5}],
            },
            {
                "event": "search",
                "filters": [{"property": "properties.country", "operator": "equals", "value": ["PL", "DE"]}],
            },
            {
                "event": "search",
                "filters": [{"property": "properties.region", "operator": "not_regex", "value": "-0"}],
            },
            {
                "event": "progress",
                "filters": [{"property": "properties.position_seconds", "operator": "gte", "value": 1200}],
            },
            {
                "event": "progress",
                "filters": [{"property": "properties.position_seconds", "operator": "equals", "value": 1800}],
            },
            {"filters": [{"property": "source", "operator": "equals", "value": "viewing"}]},
            {"filters": [{"property": "event_type", "operator": "regex", "value": "^(geo|social)$"}]},
        ],
    },
    "body filters and a segment on every series": {
        **OCTOBER,
        "filters": [{"property": "properties.price", "operator": "lt", "value": 150}],
        "segment": "properties.country:UA,source:commerce",
        "series": [
            {"event": "view_item"},
            {"event": "add_to_cart", "math": "sum", "property": "properties.price"},
        ],
        "formula": "(B - A) / (A + 1) * -2",
    },
    "the DST change in Kyiv, per day": {
        "from": "2025-10-24",
        "to": "2025-10-28",
        "timezone": "Europe/Kyiv",
        "series": [{"event": "dst_ping"}, {"event": "dst_ping", "math": "unique_persons"}],
    },
    "the DST change in Kyiv, per hour": {
        "from": "2025-10-25",
        "to": "2025-10-27",
        "timezone": "Europe/Kyiv",
        "interval": "hour",
        "series": [{"event": "dst_ping"}, {"event": "page_view"}],
    },
    "a timezone west of UTC, per hour": {
        "from": "2025-10-19",
        "to": "2025-10-20",
        "timezone": "America/New_York",
        "interval": "hour",
        "series": [{"event": "f_signup"}, {"event": "progress", "math": "unique_persons"}],
    },
    "a person property filter and breakdown": {
        **OCTOBER,
        "series": [{"math": "unique_persons"}, {"event": "f_signup"}],
        "filters": [{"property": "person.plan", "operator": "is_set"}],
        "breakdown": {"property": "person.plan"},
    },
    "a negative person property filter": {
        **OCTOBER,
        "series": [{"event": "profile"}, {"event": "page_view", "math": "unique_persons"}],
        "filters": [{"property": "person.plan", "operator": "not_equals", "value": "free"}],
    },
    "a numeric person property": {
        **OCTOBER,
        "series": [{"math": "unique_persons"}],
        "filters": [{"property": "person.seats", "operator": "gte", "value": 5}],
    },
    "no events at all": {"from": "2025-01-01", "to": "2025-01-03", "series": [{"event": "purchase"}]},
    "the daily rollup's columns, per week": {
        "from": "2025-09-01",
        "to": "2025-11-15",
        "interval": "week",
        "segment": "source:commerce",
        "filters": [{"property": "properties.country", "operator": "equals", "value": ["PL", "DE", "UA"]}],
        "series": [
            {"event": "view_item", "math": "unique_persons"},
            {
                "event": "purchase",
                "filters": [{"property": "properties.country", "operator": "equals", "value": "UA"}],
            },
            {
                "math": "unique_persons",
                "filters": [
                    {"property": "event_type", "operator": "equals", "value": ["search", "page_view"]}
                ],
            },
        ],
        "breakdown": {"property": "properties.country", "limit": 2},
    },
}
# The queries the per-day rollup answers (UTC days or longer; totals and unique persons; conditions on
# event type, source and country); the others read the events.
ON_ROLLUP = {
    "breakdown by country, top 3 and other, with a formula",
    "any event by event type, per month",
    "the daily rollup's columns, per week",
    "no events at all",
}


def _expected(world: reference.World, body: dict[str, Any]) -> dict[str, Any]:
    want = reference.trends(world, body)
    if body.get("formula"):
        want.pop("formula", None)
    return want


@pytest.mark.parametrize("case", CASES)
def test_trends_equal_the_reference(
    insights: Dataset, functions: dict[str, LocalFunction], case: str
) -> None:
    # Given the stored events (delivered with duplicates, re-sent and late) and a trends query
    body = CASES[case]
    # When it is asked over HTTP with the project's secret key
    status, answer = ask(functions, "/api/v1/insights/trends", body)
    # Then every period's value of every series and group is the reference computation's
    assert status == 200, answer
    assert answer["read_from"] == ("daily_rollup" if case in ON_ROLLUP else "events")
    want = _expected(insights.worlds[DEFAULT_PROJECT], body)
    assert answer["periods"] == want["periods"]
    got = [
        {k: s[k] for k in ("letter", "breakdown_value", "other", "values", "total")} for s in answer["series"]
    ]
    assert not differences(got, want["series"]), differences(got, want["series"])[:10]
    if body.get("formula"):
        _check_formula(body["formula"], answer)


def _check_formula(formula: str, answer: dict[str, Any]) -> None:
    """The formula's values are the formula over the answer's own series (evaluated here in Python)."""
    groups: dict[tuple[Any, bool], dict[str, Any]] = {}
    for series in answer["series"]:
        groups.setdefault((series["breakdown_value"], series["other"]), {})[series["letter"]] = series
    assert len(answer["formula"]) == len(groups)
    for result in answer["formula"]:
        by_letter = groups[(result["breakdown_value"], result["other"])]
        for i, value in enumerate([*result["values"], result["total"]]):
            cells = {
                letter: (s["values"][i] if i < len(s["values"]) else s["total"])
                for letter, s in by_letter.items()
            }
            want = _python_formula(formula, cells)
            assert (value is None and want is None) or value == pytest.approx(want), (i, value, want)


# The cases' formulas, written out in Python.
FORMULAS = {
    "A / B": lambda c: c["A"] / c["B"],
    "(B - A) / (A + 1) * -2": lambda c: (c["B"] - c["A"]) / (c["A"] + 1) * -2,
}


def _python_formula(formula: str, cells: dict[str, Any]) -> float | None:
    if any(v is None for v in cells.values()):
        return None
    try:
        return float(FORMULAS[formula]({k: float(v) for k, v in cells.items()}))
    except ZeroDivisionError:
        return None


def test_a_day_of_the_dst_change_is_one_local_day(
    insights: Dataset, functions: dict[str, LocalFunction]
) -> None:
    # Given pings around the end of summer time in Kyiv (25 hours on 2025-10-26)
    body = CASES["the DST change in Kyiv, per day"]
    # When they are counted per local day
    status, answer = ask(functions, "/api/v1/insights/trends", body)
    # Then 00:30 on the 26th (21:30 UTC the day before) and 23:59:59 on the 26th (after the change,
    # 21:59:59 UTC) are both of the 26th, and 23:59:59.999 on the 25th is of the 25th
    assert status == 200
    per_day = dict(zip(answer["periods"], answer["series"][0]["values"], strict=True))
    assert per_day == {"2025-10-24": 0, "2025-10-25": 1, "2025-10-26": 5, "2025-10-27": 1, "2025-10-28": 0}
    # And the hour that happens twice is two periods, told apart by their offsets
    status, hourly = ask(functions, "/api/v1/insights/trends", CASES["the DST change in Kyiv, per hour"])
    assert (
        "2025-10-26T03:00:00+03:00" in hourly["periods"] and "2025-10-26T03:00:00+02:00" in hourly["periods"]
    )
    assert len(hourly["periods"]) == 24 + 25 + 24


@pytest.mark.parametrize("case", sorted(ON_ROLLUP))
def test_the_rollup_and_the_events_give_the_same_answer(
    insights: Dataset, functions: dict[str, LocalFunction], case: str
) -> None:
    # Given a query the per-day rollup answers, and the same one in Etc/UTC (the same clock, but a
    # timezone the rollup does not take: the events answer it)
    body = CASES[case]
    status, rolled = ask(functions, "/api/v1/insights/trends", body)
    status_events, read = ask(functions, "/api/v1/insights/trends", {**body, "timezone": "Etc/UTC"})
    # Then both are the same figures
    assert status == status_events == 200
    assert (rolled["read_from"], read["read_from"]) == ("daily_rollup", "events")
    assert rolled["series"] == read["series"] and rolled["periods"] == read["periods"]
