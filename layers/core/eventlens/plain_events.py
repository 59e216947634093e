"""The plainly valid events of a batch, accepted without pydantic; everything else is left to it.

Most batches are events in the envelope's own field names, with string ids, ISO-8601 timestamps and
properties of the right types. Checking those with plain comparisons costs a few hundred
nanoseconds an event, where the pydantic models (``eventlens.events``) cost tens of microseconds
(profiled in bench/pipeline.py). This path only ever *accepts*: an event it is not sure of — an alias
(``event_type``, ``occurred_at``), an integer user id, a timestamp ``datetime.fromisoformat`` does not
read, a number out of its range, anything unusual — goes to ``validate_events``' pydantic path, which
accepts or rejects it as it always did, naming the field and the reason. An accepted event is the same
``Event`` the pydantic path makes (tests/unit/test_plain_events.py holds the two paths equal on
generated batches), so the queue receives the same bytes either way.

Each family's property checks are read from its TypedDict (``eventlens.events``), not written twice:
a constraint this module does not know makes that family always take the pydantic path.
"""

from __future__ import annotations

import math
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import groupby, repeat
from operator import itemgetter
from typing import Annotated, Any, NamedTuple, NotRequired, get_args, get_origin

import annotated_types

from eventlens.events import (
    LIFESTREAM_TYPES,
    SOURCES,
    VIEWING_TYPES,
    CommerceProperties,
    Event,
    TelemetryProperties,
    TimestampRule,
    ViewingProperties,
    event_id_for,
)

ENVELOPE_KEYS = frozenset({"event_id", "user_id", "type", "timestamp", "properties", "source"})
_SOURCES = frozenset(SOURCES)
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").fullmatch

_MISSING: Any = object()

# The kinds of property a family declares (a field of its TypedDict).
TEXT, OPTIONAL_TEXT, FLOAT, OPTIONAL_FLOAT, INTEGER = range(5)


class FieldRule(NamedTuple):
    """One declared property: its key, kind, bounds (inclusive; the low one exclusive where
    ``open_low``; a text's on its length) and whether it must be present."""

    key: str
    kind: int
    low: float
    high: float
    open_low: bool
    required: bool


@dataclass(frozen=True)
class FamilyCheck:
    """A family's TypedDict as plain checks."""

    rules: tuple[FieldRule, ...]

    def __call__(self, properties: dict[str, Any]) -> dict[str, Any] | None:
        """The properties as pydantic returns them — declared keys first, in declaration order, the
        ints of float fields as floats, the others as sent — or None when unsure."""
        checked: dict[str, Any] = {}
        as_floats = False
        for key, kind, low, high, open_low, required in self.rules:
            value = properties.get(key, _MISSING)
            if value is _MISSING:
                if required:
                    return None
                continue
            if kind == TEXT or (kind == OPTIONAL_TEXT and value is not None):
                if type(value) is not str or not low <= len(value) <= high:
                    return None
            elif kind == INTEGER:
                if type(value) is not int or not low <= value <= high or (open_low and value == low):
                    return None
            elif kind == FLOAT or (kind == OPTIONAL_FLOAT and value is not None):
                if type(value) is int:
                    value, as_floats = float(value), True
                elif type(value) is not float or value - value != 0:  # not a finite float
                    return None
                if not low <= value <= high or (open_low and value == low):
                    return None
            checked[key] = value
        if len(checked) < len(properties):
            converted = dict(checked) if as_floats else None
            checked |= properties  # the undeclared ones after the declared, in the order sent
            if converted:
                checked |= converted
        return checked

    def whole(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """``batch``'s properties checked a key at a time, when every one holds every declared key and
        all are plainly valid; None otherwise."""
        columns: list[tuple[str, list[Any]]] = []
        keys: list[str] = []
        for key, kind, low, high, open_low, required in self.rules:
            column: list[Any] = list(map(dict.get, batch, repeat(key), repeat(_MISSING)))
            missing = column.count(_MISSING)
            if missing == len(column) and not required:
                continue
            if missing:  # some hold it and some do not: each one on its own
                each = list(map(self, batch))
                return None if None in each else each  # type: ignore[return-value]
            keys.append(key)
            kinds = set(map(type, column))
            present: list[Any] = column
            if kind in (OPTIONAL_TEXT, OPTIONAL_FLOAT) and type(None) in kinds:
                kinds.discard(type(None))
                present = [value for value in column if value is not None]
            if kind in (TEXT, OPTIONAL_TEXT):
                if kinds - {str} or (
                    present and not low <= min(map(len, present)) <= max(map(len, present)) <= high
                ):
                    return None
                continue
            if kind == INTEGER and kinds - {int}:
                return None
            if kind != INTEGER:
                if kinds - {int, float} or not all(map(math.isfinite, present)):
                    return None
                if int in kinds:
                    present = list(map(float, present))
                    columns.append((key, [None if v is None else float(v) for v in column]))
            if present and not _within(min(present), max(present), low, high, open_low):
                return None
        template = dict.fromkeys(keys)  # the declared keys, in declaration order
        checked = [template | properties for properties in batch]
        for key, column in columns:  # ints of float fields, as floats
            for properties, value in zip(checked, column, strict=True):
                properties[key] = value
        return checked


def _within(least: float, most: float, low: float, high: float, open_low: bool) -> bool:
    return (least > low if open_low else least >= low) and most <= high


def plainly_valid(
    items: Sequence[Any], received_at: datetime, rule: TimestampRule, project_id: str
) -> tuple[list[tuple[int, Event]], list[int]]:
    """The events of ``items`` that are plainly valid (with their index), and the indexes of all the
    others, for the pydantic path to judge."""
    latest = received_at + rule.max_future_skew
    earliest = received_at - rule.max_age
    whole = _whole_batch(items, received_at, earliest, latest, project_id)
    if whole is not None:
        return list(enumerate(whole)), []
    accepted: list[tuple[int, Event]] = []
    unsure: list[int] = []
    for index, item in enumerate(items):
        event = _plain_event(item, received_at, earliest, latest, project_id)
        if event is None:
            unsure.append(index)
        else:
            accepted.append((index, event))
    return accepted, unsure


def _whole_batch(
    items: Sequence[Any], received_at: datetime, earliest: datetime, latest: datetime, project_id: str
) -> list[Event] | None:
    """Every item as an event, checked a field at a time over the whole batch (C loops: ``map``, ``set``,
    ``min``, one regular expression over all the ids and another over all the timestamps), when every
    one is plainly valid with a canonical UUID and a UTC timestamp in whole milliseconds; None when one
    is not (then each is judged on its own)."""
    if not items or set(map(type, items)) != {dict} or not all(map(ENVELOPE_KEYS.issuperset, items)):
        return None
    try:
        user_ids = list(map(_USER_ID, items))
        event_types = list(map(_TYPE, items))
        event_ids = list(map(_EVENT_ID, items))
        stamps = list(map(_TIMESTAMP, items))
    except KeyError:
        return None
    sources = list(map(dict.get, items, repeat("source"), repeat("generic")))
    if not (
        _all_text(user_ids, 256)
        and _all_text(event_types, 128)
        and _all_text(sources, 64)
        and set(sources) <= _SOURCES
        and _all_canonical_uuids(event_ids)
        and _all_utc_milliseconds(stamps)
    ):
        return None
    try:
        moments = list(map(datetime.fromisoformat, stamps))
    except ValueError:  # 2026-02-30 and the like
        return None
    if min(moments) < earliest or max(moments) > latest:
        return None
    properties = _whole_properties(items, sources, event_types)
    if properties is None:
        return None
    return [
        Event(event_id, project_id, user_id, event_type, moment, checked, source, received_at)
        for event_id, user_id, event_type, moment, checked, source in zip(
            event_ids, user_ids, event_types, moments, properties, sources, strict=True
        )
    ]


def _whole_properties(
    items: Sequence[dict[str, Any]], sources: list[str], event_types: list[str]
) -> list[dict[str, Any]] | None:
    """Every item's properties as stored, each family's checked a key at a time, or None."""
    properties = list(map(dict.get, items, repeat("properties"), repeat(_NO_PROPERTIES)))
    if set(map(type, properties)) != {dict}:
        return None
    kinds = list(zip(sources, event_types, strict=True))
    for (source, event_type), group in groupby(
        sorted(range(len(kinds)), key=kinds.__getitem__), kinds.__getitem__
    ):
        indexes = list(group)
        if source not in _FAMILY_SOURCES:
            for index in indexes:
                if properties[index] is _NO_PROPERTIES:
                    properties[index] = {}
            continue
        family = _FAMILIES.get(source) or _FAMILIES.get((source, event_type))
        checked = family.whole([properties[i] for i in indexes]) if family else None
        if checked is None:
            return None
        for index, one in zip(indexes, checked, strict=True):
            properties[index] = one
    return properties


def _all_text(column: list[Any], longest: int) -> bool:
    """Every value is text of 1 to ``longest`` characters."""
    return set(map(type, column)) == {str} and min(map(len, column)) > 0 and max(map(len, column)) <= longest


def _all_canonical_uuids(column: list[Any]) -> bool:
    """Every value is a UUID in canonical text (lower-case hex, dashes at 8, 13, 18 and 23), checked on
    the values joined: its length, its characters, and where its dashes are."""
    return _all_laid_out(column, 36, _UUID_SEPARATORS, b"0123456789abcdef")


def _all_utc_milliseconds(column: list[Any]) -> bool:
    """Every value is ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (JavaScript's ``toISOString``), checked on the values
    joined: its length, its characters, and where each separator is."""
    return _all_laid_out(column, 24, _TIMESTAMP_SEPARATORS, b"0123456789")


def _all_laid_out(
    column: list[Any], width: int, separators: tuple[tuple[int, bytes], ...], others: bytes
) -> bool:
    """Every value is ``width`` ASCII characters: each separator at its place, one of ``others``
    everywhere else. Checked on the values joined (C loops over bytes, not one per value): with the
    others deleted, exactly the separators must remain, each at its place in every value."""
    if set(map(type, column)) != {str}:
        return False
    try:
        joined = "".join(column).encode("ascii")
    except UnicodeEncodeError:
        return False
    count = len(column)
    return (
        len(joined) == width * count
        and joined.translate(None, others) == b"".join(mark for _, mark in separators) * count
        and all(joined[place::width] == mark * count for place, mark in separators)
    )


# (place, character) in each value.
_UUID_SEPARATORS = ((8, b"-"), (13, b"-"), (18, b"-"), (23, b"-"))
_TIMESTAMP_SEPARATORS = ((4, b"-"), (7, b"-"), (10, b"T"), (13, b":"), (16, b":"), (19, b"."), (23, b"Z"))
_USER_ID, _TYPE, _EVENT_ID, _TIMESTAMP = map(itemgetter, ("user_id", "type", "event_id", "timestamp"))


def _plain_event(
    item: Any, received_at: datetime, earliest: datetime, latest: datetime, project_id: str
) -> Event | None:
    if type(item) is not dict or not item.keys() <= ENVELOPE_KEYS:
        return None
    user_id = item.get("user_id")
    event_type = item.get("type")
    if type(user_id) is not str or type(event_type) is not str:
        return None
    if not (0 < len(user_id) <= 256 and 0 < len(event_type) <= 128):
        return None
    source = item.get("source", "generic")
    if type(source) is not str or source not in _SOURCES:
        return None
    properties = item.get("properties", _NO_PROPERTIES)
    if type(properties) is not dict:
        return None
    if source in _FAMILY_SOURCES:
        family = _FAMILIES.get(source) or _FAMILIES.get((source, event_type))
        if family is None:
            return None
        properties = family(properties)
        if properties is None:
            return None
    elif properties is _NO_PROPERTIES:
        properties = {}
    timestamp = _timestamp(item.get("timestamp"), received_at, earliest, latest)
    event_id = _event_id(item.get("event_id"), source, user_id)
    if timestamp is None or event_id is None:
        return None
    return Event(event_id, project_id, user_id, event_type, timestamp, properties, source, received_at)


_NO_PROPERTIES: dict[str, Any] = {}


def _timestamp(raw: Any, received_at: datetime, earliest: datetime, latest: datetime) -> datetime | None:
    """The stored moment (UTC, whole milliseconds) of an ISO-8601 text within the rule, else None."""
    if raw is None:
        return received_at
    if type(raw) is not str:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if moment.microsecond % 1000:
        moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    if moment.tzinfo is not UTC:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        else:
            try:
                moment = (moment - (moment.utcoffset() or timedelta(0))).replace(tzinfo=UTC)
            except OverflowError:
                return None
    if earliest <= moment <= latest:
        return moment
    return None


def _event_id(raw: Any, source: str, user_id: str) -> str | None:
    """The stored id (``events.event_id_for``) of an id the envelope takes: none, or 1-128 characters."""
    if type(raw) is str:
        if _CANONICAL_UUID(raw):
            return raw
        return event_id_for(raw, source, user_id) if 0 < len(raw) <= 128 else None
    return event_id_for(None, source) if raw is None else None


# --- The families' property checks, read from their TypedDicts -----------------------------------


@cache
def family_check(model: type) -> FamilyCheck | None:
    """The plain checks of a family's TypedDict, or None when one of its fields is of a kind this
    module does not check (that family then always takes the pydantic path)."""
    if not getattr(model, "__total__", True):
        return None
    rules = []
    for key, hint in typing.get_type_hints(model, include_extras=True).items():
        required = get_origin(hint) is not NotRequired  # the model's own list misses string hints
        rule = _field_rule(key, get_args(hint)[0] if not required else hint, required)
        if rule is None:
            return None
        rules.append(rule)
    return FamilyCheck(tuple(rules))


def _field_rule(key: str, hint: Any, required: bool) -> FieldRule | None:
    optional = False
    if get_origin(hint) in (typing.Union, types.UnionType):
        members = [arg for arg in get_args(hint) if arg is not type(None)]
        if len(members) != 1 or len(get_args(hint)) != 2:
            return None
        optional, hint = True, members[0]
    constraints: list[Any] = []
    while get_origin(hint) is Annotated:
        hint, *metadata = get_args(hint)
        for item in metadata:
            constraints.extend(getattr(item, "metadata", [item]))  # a FieldInfo holds its own
    bounds = _bounds(constraints)
    kind = _KINDS.get((hint, optional)) if isinstance(hint, type) else None
    if bounds is None or kind is None:
        return None
    low, high, open_low, bounded = bounds
    if bounded != ("length" if hint is str else "value") and bounded != "":
        return None
    return FieldRule(key, kind, max(low, 0) if hint is str else low, high, open_low, required)


_KINDS = {
    (str, False): TEXT,
    (str, True): OPTIONAL_TEXT,
    (float, False): FLOAT,
    (float, True): OPTIONAL_FLOAT,
    (int, False): INTEGER,
}


def _bounds(constraints: list[Any]) -> tuple[float, float, bool, str] | None:
    """(low, high, low exclusive, what they bound: "value", "length" or "" when nothing) of a strict
    field's constraints; None for a field that is not strict or has a constraint of another kind."""
    low, high, open_low, strict = -math.inf, math.inf, False, False
    bounded: set[str] = set()
    for item in constraints:
        kind = type(item)
        if kind is annotated_types.Ge:
            low = item.ge
        elif kind is annotated_types.Gt:
            low, open_low = item.gt, True
        elif kind is annotated_types.Le:
            high = item.le
        elif kind is annotated_types.MinLen:
            low = item.min_length
        elif kind is annotated_types.MaxLen:
            high = item.max_length
        elif kind.__name__ == "Strict" and getattr(item, "strict", False):
            strict = True
            continue
        else:
            return None
        bounded.add("length" if kind in (annotated_types.MinLen, annotated_types.MaxLen) else "value")
    if not strict or len(bounded) > 1:
        return None
    return low, high, open_low, bounded.pop() if bounded else ""


# Each family's checks by source (its properties the same whatever the type) or by (source, type).
_FAMILIES: dict[str | tuple[str, str], FamilyCheck | None] = {
    "commerce": family_check(CommerceProperties),
    "telemetry": family_check(TelemetryProperties),
    **{("lifestream", kind): family_check(model) for kind, model in LIFESTREAM_TYPES.items()},
    **{("viewing", kind): family_check(ViewingProperties) for kind in VIEWING_TYPES},
}
_FAMILY_SOURCES = frozenset({"lifestream", "viewing", "commerce", "telemetry"})
