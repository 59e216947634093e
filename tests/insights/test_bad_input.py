"""A body an insight cannot use is answered 400, 404 or 422 naming the field and why; a caller without
the secret key gets nothing. The formula parser reads its tiny grammar and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from eventlens.errors import InvalidParameter
from eventlens.insights.formula import evaluate, parse_formula
from eventlens_tools.local.invoke import LocalFunction
from tests.conftest import TEST_WRITE_KEY
from tests.insights.conftest import Dataset, ask

DAYS = {"from": "2025-10-01", "to": "2025-10-31"}
ANY = [{"event": "page_view"}]

CASES: list[tuple[str, dict[str, Any], int, str, str]] = [
    # (kind, body, status, field, a word of the reason)
    ("trends", {"to": "2025-10-31", "series": ANY}, 422, "from", "required"),
    ("trends", {"from": "2025-11-01", "to": "2025-10-31", "series": ANY}, 422, "from", "after"),
    ("trends", {"from": 1700000000, "to": "2025-10-31", "series": ANY}, 422, "from", "ISO 8601"),
    ("trends", {"from": "1969-12-01", "to": "2025-10-31", "series": ANY}, 422, "from", "between"),
    ("trends", {"from": "2020-01-01", "to": "2025-10-31", "series": ANY}, 422, "to", "at most"),
    ("trends", {**DAYS, "timezone": "Mars/Olympus", "series": ANY}, 422, "timezone", "IANA"),
    ("trends", {**DAYS, "series": []}, 422, "series", "at least 1"),
    ("trends", {**DAYS, "series": [{"math": "p95"}]}, 422, "series.0", "needs a property"),
    (
        "trends",
        {**DAYS, "series": [{"math": "sum", "property": "person.plan"}]},
        422,
        "series.0",
        "event property",
    ),
    ("trends", {**DAYS, "series": [{"math": "average"}]}, 422, "series.0.math", "Input should be"),
    ("trends", {**DAYS, "series": ANY, "formula": "A / C"}, 422, "formula", "C names no series"),
    ("trends", {**DAYS, "series": ANY, "formula": "A +"}, 422, "formula", "ends too early"),
    ("trends", {**DAYS, "series": ANY, "formula": "__import__('os')"}, 422, "formula", "cannot read"),
    (
        "trends",
        {"from": "2025-10-01", "to": "2025-11-09", "series": ANY, "interval": "hour"},
        422,
        "interval",
        "at most",
    ),
    (
        "trends",
        {**DAYS, "series": ANY, "breakdown": {"property": "country"}},
        422,
        "breakdown.property",
        "pattern",
    ),
    ("trends", {**DAYS, "series": ANY, "segment": "properties:UA"}, 422, "segment", "property path"),
    ("trends", {**DAYS, "series": ANY, "cohort": "coh_0123456789abcdef"}, 404, "cohort", "no cohort"),
    ("trends", {**DAYS, "series": ANY, "colour": "red"}, 422, "colour", "Extra inputs"),
    (
        "trends",
        {**DAYS, "series": [{"filters": [{"property": "properties.x", "operator": "regex", "value": "(a"}]}]},
        422,
        "series[0].filters[0].value",
        "RE2",
    ),
    (
        "trends",
        {**DAYS, "series": [{"filters": [{"property": "properties.x", "operator": "gt", "value": "ten"}]}]},
        422,
        "series.0.filters.0",
        "number",
    ),
    (
        "trends",
        {**DAYS, "series": ANY, "filters": [{"property": "properties.x", "operator": "is_set", "value": 1}]},
        422,
        "filters.0",
        "takes no value",
    ),
    (
        "trends",
        {**DAYS, "series": ANY, "filters": [{"property": "event_type", "operator": "lt", "value": 1}]},
        422,
        "filters.0",
        "compares numbers",
    ),
    (
        "trends",
        {**DAYS, "series": ANY, "filters": [{"property": "properties.x", "operator": "like", "value": "a"}]},
        422,
        "filters.0.operator",
        "Input should be",
    ),
    ("funnel", {**DAYS, "steps": ANY}, 422, "steps", "at least 2"),
    ("funnel", {**DAYS, "steps": ANY * 31}, 422, "steps", "at most 30"),
    ("funnel", {**DAYS, "steps": ANY * 2, "window_seconds": 0}, 422, "window_seconds", "greater than"),
    ("funnel", {**DAYS, "steps": ANY * 2, "order": "any"}, 422, "order", "Input should be"),
    ("funnel", {**DAYS, "steps": ANY * 3, "dropped": {"after_step": 3}}, 422, "body", "before the last step"),
    ("paths", {**DAYS, "depth": 11}, 422, "depth", "less than or equal"),
    ("paths", {**DAYS, "start_event": {"event": "a"}, "end_event": {"event": "b"}}, 422, "body", "not both"),
    ("stickiness", {**DAYS, "series": [{}] * 11}, 422, "series", "at most 10"),
    ("lifecycle", {**DAYS, "interval": "year"}, 422, "interval", "Input should be"),
    ("retention", {**DAYS, "period": "hour"}, 422, "period", "Input should be"),
    ("retention", {"from": "2020-01-01", "to": "2025-10-31", "period": "day"}, 422, "to", "at most"),
    ("retention", {"from": "2025-01-01", "to": "2025-10-31", "period": "day"}, 422, "period", "at most 120"),
]


@pytest.mark.parametrize(("kind", "body", "status", "field", "reason"), CASES)
def test_a_bad_body_is_refused_naming_the_field(
    insights: Dataset,
    functions: dict[str, LocalFunction],
    kind: str,
    body: dict[str, Any],
    status: int,
    field: str,
    reason: str,
) -> None:
    # When an insight is asked with a body it cannot use
    got, answer = ask(functions, f"/api/v1/insights/{kind}", body)
    # Then the answer names the field and says why
    assert got == status, answer
    assert answer["error"]["field"] == field, answer
    assert reason in answer["error"]["reason"], answer


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "x"}, 422, "body"),  # neither kind
        ({"name": "x", "behavioural": {"event": "a"}, "properties": []}, 422, "properties"),
        ({"name": "", "behavioural": {"event": "a"}}, 422, "name"),
        ({"name": "x", "behavioural": {"event": "a", "min_count": 0}}, 422, "behavioural.min_count"),
        ({"name": "x", "properties": [{"property": "properties.plan", "value": "pro"}]}, 422, "body"),
    ],
)
def test_a_bad_cohort_is_refused_naming_the_field(
    insights: Dataset, functions: dict[str, LocalFunction], body: dict[str, Any], status: int, field: str
) -> None:
    got, answer = ask(functions, "/api/v1/cohorts", body)
    assert got == status and answer["error"]["field"] == field, answer


def test_bodies_that_are_not_json_are_refused(insights: Dataset, functions: dict[str, LocalFunction]) -> None:
    status, answer = ask(functions, "/api/v1/insights/trends", raw=b'{"from": ')
    assert status == 422 and answer["error"]["field"] == "body", answer
    status, answer = ask(functions, "/api/v1/insights/funnel", raw=b'{"from": "\xff"}')
    assert status == 400 and answer["error"]["field"] == "body", answer


def test_insights_need_the_secret_key(insights: Dataset, functions: dict[str, LocalFunction]) -> None:
    body = {**DAYS, "series": ANY}
    assert ask(functions, "/api/v1/insights/trends", body, key=TEST_WRITE_KEY)[0] == 403
    assert ask(functions, "/api/v1/insights/trends", body, key="el_secret_" + "x" * 43)[0] == 401
    assert ask(functions, "/api/v1/cohorts", method="GET", key=TEST_WRITE_KEY)[0] == 403


@pytest.mark.parametrize(
    ("text", "values", "result"),
    [
        ("A / B * 100", {"A": 1.0, "B": 4.0}, 25.0),
        ("A - B - C", {"A": 10.0, "B": 3.0, "C": 2.0}, 5.0),  # left to right
        ("A - (B - C)", {"A": 10.0, "B": 3.0, "C": 2.0}, 9.0),
        ("-A + +B * 2", {"A": 1.0, "B": 3.0}, 5.0),
        ("2 * (A + .5) / 0.5", {"A": 1.0}, 6.0),
        ("A / B", {"A": 1.0, "B": 0.0}, None),  # division by zero: no value
        ("A + B", {"A": 1.0, "B": None}, None),  # a missing value: no value
        ("A * 1e308", {"A": 10.0}, None),  # no JSON number for it
    ],
)
def test_the_formula_follows_arithmetic(
    text: str, values: dict[str, float | None], result: float | None
) -> None:
    # "1e308" is not in the grammar: it reads as the number 1 and the letter e, which no series names
    if "e308" in text:
        with pytest.raises(InvalidParameter):
            parse_formula(text, set(values))
        assert evaluate(parse_formula("A * 10 * 10", set(values)), {"A": 1e307}) is None
        return
    assert evaluate(parse_formula(text, set(values)), values) == result


@pytest.mark.parametrize(
    "text",
    ["", "A B", "(A", "A)", "a", "A ** 2", "A % 2", "A; B", "open('x')", "A." + "(" * 30 + "A" + ")" * 30],
)
def test_the_formula_parser_refuses_anything_else(text: str) -> None:
    with pytest.raises(InvalidParameter) as refused:
        parse_formula(text, {"A", "B"})
    assert refused.value.field == "formula"
