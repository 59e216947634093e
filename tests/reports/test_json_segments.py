"""A segment on a JSON property without a column of its own (``properties.<key>:<value>``) keeps exactly
the events whose property has that value, whatever JSON writer wrote the properties: the LIKE pre-filter
(issue 14) only ever drops events the exact JSON check would drop too."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest

from eventlens.components import Components
from eventlens.reports.segments import parse_segments, property_like_pattern, with_segments

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
# Properties as different writers put them: minified, spaced, slashes and letters escaped, raw UTF-8.
PROPERTIES = [
    '{"page":"/page/7"}',
    '{"page": "\\/page\\/7", "country": "UA"}',
    '{"page":"\\u002fpage\\u002f7"}',
    '{"page":"/page/70"}',
    '{"page":"/page/17"}',
    '{"note":"\\"page\\":\\"/page/7\\"","page":"/page/8"}',
    '{"note":"page /page/7"}',
    '{"q":"say \\"hi\\""}',
    '{"q":"say hi"}',
    '{"city":"Київ"}',
    '{"city":"\\u041a\\u0438\\u0457\\u0432"}',
    '{"city":"Kyiv"}',
    '{"n":10}',
    '{"n":"10"}',
    '{"n":100}',
    '{"flag":true}',
    '{"flag":"true"}',
    '{"flag":false}',
    '{"a":{"b":"x"}}',
    '{"b":"x"}',
    '{"a":{"c":{"b":"x"}}}',
    '{"a":{"b":"y"},"b":"x"}',
    '{"code":"50%_off"}',
    '{"code":"50xxoff"}',
    '{"code":"50%_off "}',
    '{"emoji":"\\ud83d\\ude00 ok"}',
    '{"emoji":"😀 ok"}',
    '{"tag":"<b>&\'"}',
    '{"tag":"\\u003cb\\u003e\\u0026\\u0027"}',
]
SEGMENTS = [
    "properties.page:/page/7",
    'properties.q:say "hi"',
    "properties.city:Київ",
    "properties.n:10",
    "properties.flag:true",
    "properties.a.b:x",
    "properties.code:50%_off",
    "properties.emoji:😀 ok",
    "properties.tag:<b>&'",
]


def _at(document: Any, keys: list[str]) -> Any:
    for key in keys:
        if not isinstance(document, dict) or key not in document:
            return None
        document = document[key]
    return document


def _matches(properties: str, segment: str) -> bool:
    """The segment's rule in plain Python: a string compares by its text, a number or boolean by its
    JSON text."""
    name, value = segment.split(":", 1)
    found = _at(json.loads(properties), name.split(".")[1:])
    if isinstance(found, str):
        return found == value
    return found is not None and json.dumps(found, separators=(",", ":")) == value


@pytest.fixture
def stored(components: Components) -> dict[str, str]:
    """Each of PROPERTIES stored as one event's properties, as a writer other than consume inserts them:
    event id → properties."""
    ids = [str(uuid.uuid4()) for _ in PROPERTIES]
    rows = pa.table(
        {
            "project_id": ["default"] * len(ids),
            "event_id": ids,
            "user_id": [f"u{i}" for i in range(len(ids))],
            "event_type": ["view"] * len(ids),
            "ts": pa.array([NOW] * len(ids), pa.timestamp("ms", tz="UTC")),
            "source": ["generic"] * len(ids),
            "properties": PROPERTIES,
            "received_at": pa.array([NOW] * len(ids), pa.timestamp("ms", tz="UTC")),
        }
    )
    components.warehouse.query("SELECT 1")  # migrated on first use
    components.warehouse.insert_arrow("events", rows)
    return dict(zip(ids, PROPERTIES, strict=True))


@pytest.mark.parametrize("segment", SEGMENTS)
def test_a_json_segment_keeps_exactly_the_events_with_that_value(
    components: Components, stored: dict[str, str], segment: str
) -> None:
    # Given events whose properties were written every way JSON allows
    want = {event_id for event_id, properties in stored.items() if _matches(properties, segment)}
    assert want  # each segment has events it keeps
    # When the events are filtered by the segment
    sql, params = with_segments(
        "SELECT toString(event_id) AS id FROM events WHERE project_id = 'default' AND {segments}",
        parse_segments(segment),
    )
    got = {row["id"] for row in components.warehouse.query(sql, params).to_pylist()}
    # Then exactly those whose property has the value are kept (none lost to the pre-filter)
    assert got == want, [stored[i] for i in got ^ want]


@pytest.mark.parametrize("segment", SEGMENTS)
def test_the_like_pattern_matches_every_way_of_writing_the_value(segment: str) -> None:
    # Given a segment and the properties holding its value
    name, value = segment.split(":", 1)
    pattern = property_like_pattern(tuple(name.split(".")[1:]), value)
    holding = [
        p
        for p in PROPERTIES
        if _matches(p, segment) and isinstance(_at(json.loads(p), name.split(".")[1:]), str)
    ]
    # When the pattern is read as LIKE reads it
    # Then every text holding the string passes it
    for properties in holding:
        assert _like(properties, pattern), (properties, pattern)


def _like(text: str, pattern: str) -> bool:
    """ClickHouse's LIKE, for the patterns property_like_pattern makes (% wildcards, \\ escapes)."""
    regex, i = "", 0
    while i < len(pattern):
        if pattern[i] == "\\":
            regex, i = regex + re.escape(pattern[i + 1]), i + 2
            continue
        regex += {"%": ".*", "_": "."}.get(pattern[i], re.escape(pattern[i]))
        i += 1
    return re.fullmatch(regex, text, re.DOTALL) is not None
