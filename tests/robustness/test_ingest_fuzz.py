"""Every ingest route of a running eventlens local, fed random bytes and random JSON over real HTTP:
no 5xx, no hang (the client gives up after CLIENT_TIMEOUT_S), and every answer JSON naming a field
(an error's field, or each rejected event's)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventlens_tools.local.runtime import LocalRuntime
from tests.robustness.conftest import INGEST_ROUTES, Answer, send

CONTENT_TYPES = st.sampled_from(
    ["application/json", "application/octet-stream", "text/plain; charset=utf-16", "", "multipart/form-data"]
)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)
# Fields the reference payloads use, so random objects reach the validation of single fields.
FIELDS = st.sampled_from(
    [
        "events", "event", "user_id", "type", "event_type", "action", "event_id", "timestamp", "ts",
        "occurred_at", "source", "properties", "movie_id", "position_seconds", "session_id", "metadata",
        "region", "lat", "lon", "amount", "item", "metric", "value",
    ]
)  # fmt: skip
TYPES = st.sampled_from(["page_view", "click", "purchase", "geo", "health", "start", "progress", "finish"])
# Events close to valid ones of every family (some accepted, some rejected on one field), and any mix.
PLAUSIBLE = st.fixed_dictionaries(
    {"user_id": st.text(min_size=1, max_size=20), "type": TYPES, "event_type": TYPES},
    optional={
        "movie_id": st.text(max_size=10),
        "position_seconds": st.integers(min_value=-5, max_value=10**6),
        "lat": st.floats(min_value=-100, max_value=100),
        "lon": st.floats(min_value=-200, max_value=200),
        "metric": st.text(max_size=10),
        "value": SCALARS,
        "timestamp": st.datetimes().map(lambda moment: moment.isoformat() + "Z"),
        "properties": st.dictionaries(st.text(max_size=8), SCALARS, max_size=4),
    },
)
EVENTS = PLAUSIBLE | st.dictionaries(FIELDS, JSON_VALUES, max_size=8)
ENVELOPES = (
    EVENTS
    | st.lists(EVENTS, max_size=4)
    | st.fixed_dictionaries({"events": st.lists(EVENTS, max_size=4)}, optional={"user_id": JSON_VALUES})
)
BODIES = (
    st.binary(max_size=512)
    | JSON_VALUES.map(lambda value: json.dumps(value).encode())
    | ENVELOPES.map(lambda value: json.dumps(value).encode())
    | ENVELOPES.map(lambda value: json.dumps(value).encode("utf-16"))
)


def _names_a_field(answer: Answer) -> None:
    body: Any = answer.json()
    if answer.status in (202, 422) and "rejected" in body:  # the batch's answer: each rejection named
        assert all(rejection["field"] and rejection["reason"] for rejection in body["rejected"]), body
        assert answer.status == 202 or body["rejected"], body
    else:
        assert answer.status in (400, 413), answer
        assert body["error"]["field"] and body["error"]["reason"], body


@pytest.mark.parametrize("route", INGEST_ROUTES)
def test_random_bodies_are_answered_with_a_named_field_and_never_a_5xx(
    served_ingest: LocalRuntime, route: str
) -> None:
    @given(body=BODIES, content_type=CONTENT_TYPES)
    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def each(body: bytes, content_type: str) -> None:
        headers = {"content-type": content_type} if content_type else {}
        answer = send(served_ingest.port, "POST", route, body, headers)
        assert answer.status < 500, answer
        assert answer.headers["content-type"] == "application/json", answer
        _names_a_field(answer)

    each()
