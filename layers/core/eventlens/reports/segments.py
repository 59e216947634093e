"""Segments: ``column:value``, ``properties.key[.key…]:value`` or ``person.key[.key…]:value`` filters,
turned into bound SQL.

Columns come from a fixed list; property keys and every value reach SQL only as bound parameters.
Several segments combine with AND. A ``person.`` segment keeps the events of the persons whose property
has that value (``eventlens.person_properties``: identify traits, ``$set``, ``$set_once``), whichever of
their distinct ids sent them; its SQL reads the project bound as ``{project:String}``.

A ``properties.`` segment on a key without a column of its own compares a string by its text, a number
or boolean by its JSON text. On a top-level key it reads ``events_by_property`` (migrations 0011 and
0012: the events holding each key and value, with their user, type and source, as PostgreSQL would keep
an index): a report whose segments that table answers whole reads that value's rows there
(``with_segments``' ``{events}`` marker), any other checks ``event_id`` against them (issue 14); its
SQL then reads the project bound as ``{project:String}`` too. What that table leaves out
(``indexed_property``: nested keys, values it could only match as JSON text of a string, object or
array, `null`, long strings) is checked exactly by parsing the JSON, on the rows whose raw text passes a
``LIKE`` first (``property_like_pattern``): a necessary condition for the string to be there, so the
parse runs on few rows and the answer is the same. ``if(like, exact, 0)`` makes ClickHouse evaluate the
parse only where the pattern matched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eventlens.errors import InvalidParameter
from eventlens.hot_properties import SEGMENT_COLUMNS
from eventlens.identity import person_of
from eventlens.person_properties import person_property_values

# Segmentable columns of the events table (after the ``:``, the value is compared as text).
COLUMNS = {"event_type": "event_type", "type": "event_type", "user_id": "user_id", "source": "source"}
# Properties with a column of their own (hot_properties.py): read the column, not the JSON.
HOT_PROPERTIES = SEGMENT_COLUMNS
_KEY = re.compile(r"^[A-Za-z0-9_$\-]{1,64}$")
MAX_SEGMENTS = 8
MAX_DEPTH = 4
# Characters every JSON writer puts in a string as themselves: printable ASCII but the quote and the
# backslash (always escaped), the slash (escaped by some, e.g. ClickHouse's toJSONString), and < > & '
# (escaped by HTML-safe writers). Anything else (controls, non-ASCII) may come as a \u escape.
_VERBATIM = frozenset(chr(c) for c in range(0x20, 0x7F)) - set("\"\\/<>&'")
# events_by_property's keys (migrations 0011, 0012): top-level, segment-nameable, without a column of
# their own; its values: at most this many bytes, never `null` nor a text starting with one of these (a
# string's JSON text, an object, an array), which the table does not hold.
INDEXED_VALUE_BYTES = 256
_UNINDEXED_STARTS = ('"', "{", "[")
_UNINDEXED_VALUES = {"null"}
# One property value's rows in events_by_property, by its primary key.
_INDEXED_FROM = (
    " FROM events_by_property"
    " WHERE project_id = {{project:String}} AND key = {{{key}:String}} AND value = {{{value}:String}}"
)
_INDEXED = "event_id IN (SELECT event_id" + _INDEXED_FROM + ")"
# The rows of one property value in events_by_property, under the names an ``events`` row has for them
# (ts at the day's midnight: reports read only its day). A report reads these instead of ``events``
# when every segment reads only these columns (``_ROW_SEGMENTS``, ``person.``) or another such property.
_INDEXED_ROWS = (
    "(SELECT project_id, user_id, event_type, source, toDateTime64(day, 3, 'UTC') AS ts, day, event_id"
    + _INDEXED_FROM
    + ")"
)
_ROW_SEGMENTS = {("event_type",), ("type",), ("user_id",), ("source",)}


@dataclass(frozen=True)
class Segment:
    path: tuple[str, ...]  # ("event_type",), ("properties", "country") or ("person", "plan")
    value: str


def parse_segments(raw: str | Iterable[str] | None) -> list[Segment]:
    """Parse ``a:b`` segments; several may come comma-separated (API Gateway joins repeated params)."""
    if raw is None:
        return []
    texts = [raw] if isinstance(raw, str) else list(raw)
    parts = [part.strip() for text in texts for part in text.split(",") if part.strip()]
    if len(parts) > MAX_SEGMENTS:
        raise InvalidParameter("segment", f"at most {MAX_SEGMENTS} segments, got {len(parts)}")
    return [_parse_one(part) for part in parts]


def _parse_one(text: str) -> Segment:
    name, sep, value = text.partition(":")
    if not sep or not name or not value:
        raise InvalidParameter(
            "segment", f"expected column:value, properties.key:value or person.key:value, got {text!r}"
        )
    path = tuple(name.split("."))
    if path[0] in ("properties", "person"):
        keys = path[1:]
        if not keys or len(keys) > MAX_DEPTH or not all(_KEY.match(k) for k in keys):
            raise InvalidParameter(
                "segment",
                f"property path {name!r} must be {path[0]}.key with up to {MAX_DEPTH} keys of [A-Za-z0-9_$-]",
            )
    elif len(path) != 1 or path[0] not in COLUMNS:
        raise InvalidParameter(
            "segment",
            f"unknown column {name!r}; use one of {sorted(COLUMNS)}, properties.<key> or person.<key>",
        )
    return Segment(path, value)


def segment_sql(
    segments: list[Segment], prefix: str = "seg", driving: int | None = None
) -> tuple[str, dict[str, Any]]:
    """An AND of the segments' conditions (``1`` for none) and the parameters it binds. The ``driving``
    segment's condition is left out (the rows read are its rows already), its parameters kept."""
    conditions: list[str] = []
    params: dict[str, Any] = {}
    for i, segment in enumerate(segments):
        value_param = f"{prefix}{i}_v"
        params[value_param] = segment.value
        if i == driving:
            params[f"{prefix}{i}_k0"] = segment.path[1]
            continue
        if segment.path[0] not in ("properties", "person"):
            conditions.append(f"{COLUMNS[segment.path[0]]} = {{{value_param}:String}}")
            continue
        keys = segment.path[1:]
        if segment.path[0] == "properties" and len(keys) == 1 and keys[0] in HOT_PROPERTIES:
            conditions.append(f"{HOT_PROPERTIES[keys[0]]} = {{{value_param}:String}}")
            continue
        key_params = []
        for depth, key in enumerate(keys):
            name = f"{prefix}{i}_k{depth}"
            params[name] = key
            key_params.append(f"{{{name}:String}}")
        path = ", ".join(key_params)
        if segment.path[0] == "person":
            values = person_property_values(path)
            conditions.append(
                f"{person_of()} IN (SELECT holder FROM ({values}) WHERE JSONExtractString(value) ="
                f" {{{value_param}:String}} OR value = {{{value_param}:String}})"
            )
            continue
        if indexed_property(segment):
            conditions.append(_INDEXED.format(key=f"{prefix}{i}_k0", value=value_param))
            continue
        conditions.append(_property_condition(segment, path, value_param, params, f"{prefix}{i}_like"))
    return (" AND ".join(conditions) or "1"), params


def _property_condition(
    segment: Segment, path: str, value_param: str, params: dict[str, Any], like: str
) -> str:
    """Strings compare by their text; numbers and booleans by their JSON text ("10", "true"). The text
    comparison parses only the rows that pass the LIKE pre-filter. The JSON-text comparison can only hold
    for a value that is JSON text itself, so for any other (most values: ``/page/7``, ``UA``) it is left
    out rather than parsed on every row."""
    params[like] = property_like_pattern(segment.path[1:], segment.value)
    text = (
        f"if(properties LIKE {{{like}:String}},"
        f" JSONExtractString(properties, {path}) = {{{value_param}:String}}, 0)"
    )
    if not _is_json_text(segment.value):
        return text
    return f"({text} OR JSONExtractRaw(properties, {path}) = {{{value_param}:String}})"


def indexed_property(segment: Segment) -> bool:
    """True when ``events_by_property`` holds every event the segment keeps: a ``properties.`` segment on one
    top-level key without a column of its own, whose value is one the table stores as the segment
    compares it (a string's text, a number's or boolean's JSON text)."""
    keys = segment.path[1:]
    return (
        segment.path[0] == "properties"
        and len(keys) == 1
        and keys[0] not in HOT_PROPERTIES
        and not segment.value.startswith(_UNINDEXED_STARTS)
        and segment.value not in _UNINDEXED_VALUES
        and len(segment.value.encode()) <= INDEXED_VALUE_BYTES
    )


def _is_json_text(value: str) -> bool:
    try:
        json.loads(value)
    except json.JSONDecodeError:
        return False
    except (ValueError, RecursionError):  # not what JSONExtractRaw gives either, but keep the exact check
        return True
    return True


def property_like_pattern(keys: tuple[str, ...], value: str) -> str:
    """A ``LIKE`` pattern that every JSON text holding the string ``value`` under ``keys`` (nested) matches,
    however it was written (spaces, key order, any escaping a JSON writer does): each key's ``"key"`` in
    order, then the string's quotes and its runs of characters no writer escapes, with ``%`` wherever
    the text may hold anything else. Necessary, not sufficient: the JSON check decides."""
    pieces = [f'"{key}"' for key in keys]
    literal, runs = '"', []
    for char in value:
        if char in _VERBATIM:
            literal += char
        else:
            runs.append(literal)
            literal = ""
    runs.append(literal + '"')
    pieces.extend(run for run in runs if run)
    return "%" + "%".join(_like_escaped(piece) for piece in pieces) + "%"


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def with_segments(sql: str, segments: list[Segment], from_index: bool = True) -> tuple[str, dict[str, Any]]:
    """A query whose ``{segments}`` marker is replaced by the segments' condition, and the parameters
    that condition binds. The marker is the one place a report's SQL takes a piece made at run time:
    columns from ``COLUMNS``/``HOT_PROPERTIES``, keys and values as bound parameters.

    Its ``{events}`` marker (where it reads ``events``: project_id, user_id, event_type, source, ts,
    day, event_id) becomes ``events``, or, with ``from_index`` and segments ``events_by_property``
    answers whole, the rows there of the first property segment (``indexed_rows``): a primary-key read
    of the events that segment keeps instead of a scan of the range. A caller whose other conditions
    read more of a row (a cohort's membership) passes ``from_index=False``."""
    driving = indexed_rows(segments) if from_index and "{events}" in sql else None
    condition, params = segment_sql(segments, driving=driving)
    source = "events"
    if driving is not None:
        source = _INDEXED_ROWS.format(key=f"seg{driving}_k0", value=f"seg{driving}_v")
    return sql.replace("{segments}", condition).replace("{events}", source), params


def indexed_rows(segments: list[Segment]) -> int | None:
    """The first segment whose ``events_by_property`` rows a report can read instead of ``events``: one
    the table answers (``indexed_property``), when every other reads only what those rows hold."""
    first = next((i for i, segment in enumerate(segments) if indexed_property(segment)), None)
    if first is None:
        return None
    readable = (
        indexed_property(segment) or segment.path in _ROW_SEGMENTS or segment.path[0] == "person"
        for segment in segments
    )
    return first if all(readable) else None


# Segments that the per-day rollup (daily_rollup: source, event_type, country) can answer.
_ROLLUP_PATHS = {("event_type",), ("type",), ("source",), ("properties", "country")}


def on_rollup(segments: list[Segment]) -> bool:
    """True when every segment filters a dimension that ``daily_rollup`` keeps."""
    return all(segment.path in _ROLLUP_PATHS for segment in segments)
