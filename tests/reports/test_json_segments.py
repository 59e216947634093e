"""A segment on a JSON property without a column of its own (``properties.<key>:<value>``) keeps exactly
the events whose property has that value, whatever JSON writer wrote the properties: the LIKE pre-filter
(issue 14) only ever drops events the exact JSON check would drop too, and ``events_by_property``
(migration 0011), which answers a top-level key, lists exactly the events that check keeps."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest

from eventlens.components import Components
from eventlens.hot_properties import SEGMENT_COLUMNS
from eventlens.reports import activity
from eventlens.reports.segments import (
    INDEXED_VALUE_BYTES,
    indexed_property,
    parse_segments,
    property_like_pattern,
    with_segments,
)
from eventlens.schema import available_migrations

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


def _kept(components: Components, segment: str) -> set[str]:
    """The ids of the events the segment keeps, as a report filters them: over ``events``, and over the
    rows ``{events}`` stands for (a property value's rows in events_by_property, where it answers); the
    two must agree."""
    kept = []
    for source in ("events", "{events}"):
        sql, params = with_segments(
            f"SELECT toString(event_id) AS id FROM {source} WHERE project_id = {{project:String}}"
            " AND {segments}",
            parse_segments(segment),
        )
        rows = components.warehouse.query(sql, {**params, "project": "default"}).to_pylist()
        kept.append({row["id"] for row in rows})
    assert kept[0] == kept[1], segment
    return kept[0]


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
    return _store(components, PROPERTIES)


def _store(components: Components, properties: list[str]) -> dict[str, str]:
    ids = [str(uuid.uuid4()) for _ in properties]
    rows = pa.table(
        {
            "project_id": ["default"] * len(ids),
            "event_id": ids,
            "user_id": [f"u{i}" for i in range(len(ids))],
            "event_type": ["view"] * len(ids),
            "ts": pa.array([NOW] * len(ids), pa.timestamp("ms", tz="UTC")),
            "source": ["generic"] * len(ids),
            "properties": properties,
            "received_at": pa.array([NOW] * len(ids), pa.timestamp("ms", tz="UTC")),
        }
    )
    components.warehouse.query("SELECT 1")  # migrated on first use
    components.warehouse.insert_arrow("events", rows)
    return dict(zip(ids, properties, strict=True))


@pytest.mark.parametrize("segment", SEGMENTS)
def test_a_json_segment_keeps_exactly_the_events_with_that_value(
    components: Components, stored: dict[str, str], segment: str
) -> None:
    # Given events whose properties were written every way JSON allows
    want = {event_id for event_id, properties in stored.items() if _matches(properties, segment)}
    assert want  # each segment has events it keeps
    # When the events are filtered by the segment
    got = _kept(components, segment)
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


# Values JSON lets a writer spell many ways, and what ClickHouse makes of them: numbers it normalizes
# (1.50, 1E3, -0.0) or cannot hold (1e400 fails the whole document, 10^22 comes back as a string), null
# and "null", a key written twice (the first counts), objects and arrays, strings the table leaves out
# (over INDEXED_VALUE_BYTES, starting with a quote, { or [), keys with a column of their own, a key no
# segment can name, text that is not JSON.
EDGE_PROPERTIES = [
    '{"n":1.50}',
    '{"n":1.5}',
    '{"n":"1.5"}',
    '{"n":1E3}',
    '{"n": -0.0 }',
    '{"n":0}',
    '{"n":-1}',
    '{"n":1.0}',
    '{"n":12345678901234567890123}',
    '{"n":100000000000000000000}',
    '{"n":1e400,"m":"x"}',
    '{"n":null}',
    '{"n":"null"}',
    '{"n":true}',
    '{"n":false}',
    '{"n":"true"}',
    '{"n":[1, 2]}',
    '{"n":{"m":"x"}}',
    '{"n":"a","n":"b"}',
    '{"n":"b","n":"a"}',
    '{"n":"x\\u0000y"}',
    '{"n":"' + "x" * INDEXED_VALUE_BYTES + '"}',
    '{"n":"' + "x" * (INDEXED_VALUE_BYTES + 1) + '"}',
    '{"n":"{curly"}',
    '{"n":"[square"}',
    '{"n":"\\"quoted\\""}',
    '{"n":"Київ"}',
    '{"n":"\\u041a\\u0438\\u0457\\u0432"}',
    '{"n": "spaced out", "m": 7}',
    '{"country":"UA","n":"UA"}',
    '{"item":"cup","m":"cup"}',
    '{"a b":"x","N":"x"}',
    '{"$set":"x","the-key_1":"x"}',
    "plain text",
]
EDGE_VALUES = ["1.50", "1.5", "1000", "1E3", "-0", "0", "null", "true", "false", "a", "b", "x", "cup", "UA"]
EDGE_VALUES += ['"quoted"', '"a"', "{curly", "[square", "Київ", "spaced out", "7", "x" * INDEXED_VALUE_BYTES]
EDGE_VALUES += ["x" * (INDEXED_VALUE_BYTES + 1), "12345678901234567890123", '"12345678901234567890123"']
EDGE_VALUES += ["100000000000000000000", "1e+20", "x\x00y", "[1,2]", '{"m":"x"}']
EDGE_KEYS = ["n", "m", "N", "country", "item", "$set", "the-key_1"]

# The rule segments.py answers, written out over `properties` alone: a string by its text, anything by
# its JSON text when the value is JSON text itself.
_RULE = """
SELECT toString(event_id) AS id FROM events
WHERE project_id = {project:String} AND (JSONExtractString(properties, {key:String}) = {value:String}
    OR ({json:Bool} AND JSONExtractRaw(properties, {key:String}) = {value:String}))
"""


def _is_json(value: str) -> bool:
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


def test_a_segment_the_property_index_answers_keeps_exactly_what_the_json_rule_keeps(
    components: Components,
) -> None:
    # Given events with values written every way the index might get wrong
    _store(components, EDGE_PROPERTIES)
    answered = 0
    for key in EDGE_KEYS:
        for value in EDGE_VALUES:
            segment = f"properties.{key}:{value}"
            if "," in value or parse_segments(segment)[0].value != value:
                continue  # not a segment a request can send
            # When the events are filtered by the segment
            got = _kept(components, segment)
            # Then it keeps the events the rule over the raw properties keeps, no more, no fewer
            params = {"project": "default", "key": key, "value": value, "json": _is_json(value)}
            want = {row["id"] for row in components.warehouse.query(_RULE, params).to_pylist()}
            assert got == want, segment
            answered += bool(want) and indexed_property(parse_segments(segment)[0])
    assert answered >= 20  # the index answered most of them, and found something


def test_the_property_index_is_filled_alike_by_the_view_and_the_backfill() -> None:
    # Given the statements of the last migration that makes the view (0012)
    migration = [m for m in available_migrations() if m.name.startswith("events_by_property")][-1]
    *_, view, backfill = migration.statements
    assert view.startswith("CREATE MATERIALIZED VIEW IF NOT EXISTS events_by_property_mv")
    # Then the view and the backfill derive the rows by the same SELECT
    assert view.split(" AS\n", 1)[1] == backfill.split("\n", 1)[1]
    # And it leaves out exactly the keys a segment reads a column for (segments.HOT_PROPERTIES)
    (left_out,) = re.findall(r"p\.1 NOT IN \(([^)]*)\)", view)
    assert {key.strip(" '") for key in left_out.split(",")} == set(SEGMENT_COLUMNS)


def test_a_report_on_the_events_prunes_by_its_days(components: Components) -> None:
    # Given events stored on two days a month apart
    _store(components, ['{"page":"/page/7"}'])
    components.warehouse.command(
        "INSERT INTO events (project_id, event_id, user_id, event_type, ts, source, properties, received_at)"
        " SELECT 'default', generateUUIDv4(), 'u', 'view', {at:DateTime64(3, 'UTC')}, 'generic', '{}',"
        " now64(3)",
        {"at": datetime(2026, 2, 1, tzinfo=UTC)},
    )
    # When the events' DAU with a segment is planned for one of the days (reading the events)
    sql, params = with_segments(
        activity._ACTIVE_USERS_FROM_EVENTS.replace("{cohort}", "1"),
        parse_segments("properties.page:/page/7"),
        from_index=False,
    )
    params |= {"project": "default", "period": "day", "first": NOW.date(), "last_day": NOW.date()}
    plan = components.warehouse.query("EXPLAIN indexes = 1 " + sql, params).column(0).to_pylist()
    # Then the sort key's day (toDate(ts)) selects the parts read: the other month's is not one of them
    keys = plan[plan.index(next(line for line in plan if line.strip() == "PrimaryKey")) :]
    assert any(line.strip() == "toDate(ts)" for line in keys[:4]), plan
    assert any(line.strip() == "Parts: 1/2" for line in plan), plan
