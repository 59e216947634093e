"""Segments: ``column:value``, ``properties.key[.key…]:value`` or ``person.key[.key…]:value`` filters,
turned into bound SQL.

Columns come from a fixed list; property keys and every value reach SQL only as bound parameters.
Several segments combine with AND. A ``person.`` segment keeps the events of the persons whose property
has that value (``eventlens.person_properties``: identify traits, ``$set``, ``$set_once``), whichever of
their distinct ids sent them; its SQL reads the project bound as ``{project:String}``.
"""

from __future__ import annotations

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


def segment_sql(segments: list[Segment], prefix: str = "seg") -> tuple[str, dict[str, Any]]:
    """An AND of the segments' conditions (``1`` for none) and the parameters it binds."""
    conditions: list[str] = []
    params: dict[str, Any] = {}
    for i, segment in enumerate(segments):
        value_param = f"{prefix}{i}_v"
        params[value_param] = segment.value
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
        # Strings compare by their text; numbers and booleans by their JSON text ("10", "true").
        conditions.append(
            f"(JSONExtractString(properties, {path}) = {{{value_param}:String}}"
            f" OR JSONExtractRaw(properties, {path}) = {{{value_param}:String}})"
        )
    return (" AND ".join(conditions) or "1"), params


def with_segments(sql: str, segments: list[Segment]) -> tuple[str, dict[str, Any]]:
    """A query whose ``{segments}`` marker is replaced by the segments' condition, and the parameters
    that condition binds. The marker is the one place a report's SQL takes a piece made at run time:
    columns from ``COLUMNS``/``HOT_PROPERTIES``, keys and values as bound parameters."""
    condition, params = segment_sql(segments)
    return sql.replace("{segments}", condition), params


# Segments that the per-day rollup (daily_rollup: source, event_type, country) can answer.
_ROLLUP_PATHS = {("event_type",), ("type",), ("source",), ("properties", "country")}


def on_rollup(segments: list[Segment]) -> bool:
    """True when every segment filters a dimension that ``daily_rollup`` keeps."""
    return all(segment.path in _ROLLUP_PATHS for segment in segments)
