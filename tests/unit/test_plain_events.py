"""The plain checks (eventlens.plain_events) accept exactly what the pydantic models accept, as the
same events: every event they take, the models take too and store byte for byte the same."""

from __future__ import annotations

import dataclasses
import typing
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventlens.events import (
    LIFESTREAM_TYPES,
    SOURCES,
    VIEWING_TYPES,
    CommerceProperties,
    TelemetryProperties,
    TimestampRule,
    ViewingProperties,
    _validated_by_models,
    validate_events,
)
from eventlens.plain_events import family_check, plainly_valid
from eventlens_tools.generator import generate_events

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
RULE = TimestampRule()
MODELS: list[type] = [*LIFESTREAM_TYPES.values(), ViewingProperties, CommerceProperties, TelemetryProperties]


def _stored(pairs: list[tuple[int, Any]], items: list[Any]) -> list[tuple[int, bytes]]:
    """(index, the bytes the queue receives) of each accepted event; a generated (random) id left out."""
    stored = []
    for index, event in pairs:
        if items[index].get("event_id") is None:
            event = dataclasses.replace(event, event_id="generated")
        try:
            stored.append((index, orjson.dumps(event, option=orjson.OPT_UTC_Z)))
        except orjson.JSONEncodeError:  # e.g. an integer past 64 bits: ingest rejects it either way
            stored.append((index, b"<not serialisable: rejected by ingest>"))
    return stored


def _assert_same_as_models(items: list[Any]) -> None:
    plain, unsure = plainly_valid(items, NOW, RULE, "p")
    by_models, _ = _validated_by_models(items, NOW, RULE, "p")
    models_by_index = dict(_stored(by_models, items))
    for index, stored in _stored(plain, items):
        assert models_by_index.get(index) == stored, (items[index], stored, models_by_index.get(index))
    assert sorted(unsure + [index for index, _ in plain]) == list(range(len(items)))


def test_every_family_is_checked_plainly() -> None:
    # Given each family's TypedDict; Then each is read into plain checks (none left to pydantic alone)
    assert all(family_check(model) is not None for model in MODELS)


def test_a_generated_year_is_accepted_whole_and_stored_as_the_models_store_it() -> None:
    # Given batches of generated events (every family, canonical ids, JavaScript-style timestamps)
    end = datetime.now(UTC)
    events = list(generate_events(users=60, days=30, seed=3, end=end, max_events=4000))
    for start in range(0, len(events), 1000):
        batch = events[start : start + 1000]
        # When the plain checks judge them
        plain, unsure = plainly_valid(batch, end, RULE, "p")
        # Then every one is accepted, as the models accept it, byte for byte
        assert unsure == []
        assert _stored(plain, batch) == _stored(_validated_by_models(batch, end, RULE, "p")[0], batch)


def _mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Good values nine times in ten: batches of plainly valid events, with a wrong one here and there."""
    return st.integers(0, 9).flatmap(lambda n: bad if n == 9 else good)


_text = _mostly(
    st.text(min_size=1, max_size=12),
    st.one_of(
        st.text(max_size=0), st.text(min_size=255, max_size=258), st.integers(), st.none(), st.booleans()
    ),
)
_number = _mostly(
    st.one_of(st.integers(0, 90), st.floats(0, 90), st.sampled_from([0, 0.0, 90, 90.0, 4_294_967_295])),
    st.one_of(
        st.integers(-(2**40), 2**40),
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from([-1, 90.5, -180, 4_294_967_296, -0.0, 1e308]),
        st.text(max_size=2),
        st.booleans(),
        st.none(),
    ),
)
_timestamps = _mostly(
    st.datetimes(min_value=datetime(2016, 11, 25), max_value=datetime(2026, 11, 23)).map(
        lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    ),
    st.one_of(
        st.datetimes(
            min_value=datetime(2015, 1, 1),
            max_value=datetime(2027, 1, 1),
            timezones=st.sampled_from([None, UTC]),
        ).map(lambda moment: moment.isoformat()),
        st.sampled_from(
            [
                "2026-11-23T12:04:59.999Z",
                "2026-11-23T12:05:00.001Z",
                "2026-02-30T00:00:00.000Z",
                "2026-11-23",
                "x",
            ]
        ),
        st.integers(0, 2_000_000_000),
        st.none(),
    ),
)
_ids = _mostly(
    st.uuids().map(str),
    st.one_of(
        st.uuids().map(lambda u: str(u).upper()),
        st.text(min_size=0, max_size=3),
        st.text(min_size=127, max_size=130),
        st.integers(),
        st.none(),
    ),
)


@st.composite
def _properties(draw: st.DrawFn, source: str, event_type: str) -> Any:
    model = {
        "commerce": CommerceProperties,
        "telemetry": TelemetryProperties,
        "viewing": ViewingProperties,
    }.get(source, LIFESTREAM_TYPES.get(event_type))
    if model is None or draw(st.integers(0, 19)) == 0:
        return draw(
            _mostly(
                st.dictionaries(st.text(max_size=3), st.integers(-(2**63), 2**63 - 1), max_size=3),
                st.one_of(st.none(), st.text()),
            )
        )
    properties: dict[str, Any] = {}
    extras = draw(st.lists(st.sampled_from(["country", "note", "z"]), max_size=2, unique=True))
    keys = list(typing.get_type_hints(model)) + extras
    for key in draw(st.permutations(keys)):
        if draw(st.integers(0, 11)) == 0:
            continue  # left out
        hint = str(typing.get_type_hints(model, include_extras=True).get(key, ""))
        properties[key] = draw(_number if ("float" in hint or "int" in hint) else _text)
    return properties


@st.composite
def _items(draw: st.DrawFn) -> Any:
    source = draw(_mostly(st.sampled_from(SOURCES), st.just("mainframe")))
    good_types = {"lifestream": list(LIFESTREAM_TYPES), "viewing": list(VIEWING_TYPES)}.get(source, ["click"])
    event_type = draw(
        _mostly(st.sampled_from(good_types), st.sampled_from(["teleport", "rewind", "", "x" * 129]))
    )
    item: dict[str, Any] = {
        "event_id": draw(_ids),
        "user_id": draw(st.one_of(st.sampled_from(["u1", "u2"]), _text)),
        "type": event_type,
        "timestamp": draw(_timestamps),
        "source": source,
        "properties": draw(_properties(source, event_type)),
    }
    if draw(st.integers(0, 3)) == 0:
        for key in draw(st.lists(st.sampled_from(list(item)), max_size=2, unique=True)):
            del item[key]
    if draw(st.integers(0, 15)) == 0:
        item[draw(st.sampled_from(["event_type", "occurred_at", "ts", "colour"]))] = "2026-11-23T11:00:00Z"
    return item if draw(st.integers(0, 30)) else draw(st.sampled_from(["not an object", [1], None]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_items(), min_size=1, max_size=6))
def test_what_the_plain_checks_accept_the_models_accept_identically(items: list[Any]) -> None:
    # Given any batch: events good and bad, in every family, with ids, timestamps and properties of
    # every kind; When the plain checks and the models each judge it
    # Then each event the plain checks accept, the models accept as the same bytes
    _assert_same_as_models(items)


@settings(max_examples=150, deadline=None)
@given(st.lists(_items(), min_size=1, max_size=6), st.integers(1, 30))
def test_a_uniform_batch_is_judged_whole_as_each_event_is_judged(items: list[Any], copies: int) -> None:
    # Given a batch of the same events many times over (the whole-batch path's shape)
    batch = [dict(item) if isinstance(item, dict) else item for item in items] * copies
    # When validated; Then the answer is the models' (accepted events and rejections alike)
    accepted, rejected = validate_events(batch, NOW, RULE, project_id="p")
    by_models, model_rejected = _validated_by_models(batch, NOW, RULE, "p")
    assert [i for i, _ in accepted] == [i for i, _ in by_models]
    assert [(r.index, r.field, r.reason) for r in rejected] == [
        (r.index, r.field, r.reason) for r in model_rejected
    ]


def test_timestamps_at_the_rule_edges_are_taken_as_the_models_take_them() -> None:
    # Given whole batches whose newest or oldest event sits just inside or just outside the rule
    base = {"event_id": "6c1d9d4e-8f8a-4b5e-9c1a-2f3d4e5f6a7b", "user_id": "u", "type": "x"}
    for moment in (NOW + timedelta(seconds=300), NOW + timedelta(seconds=300, milliseconds=1)):
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
        _assert_same_as_models([{**base, "timestamp": stamp}] * 3)
