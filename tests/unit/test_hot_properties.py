"""The one list of hot properties agrees with the schema written in migrations, and consume's parse
computes the same values as the events table's DEFAULTs do for any other writer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson
import pyarrow as pa

from eventlens.components import Components
from eventlens.consume import store_records
from eventlens.hot_properties import HOT_PROPERTIES, SEGMENT_COLUMNS
from eventlens.queue import QueuedRecord
from eventlens.reports.segments import HOT_PROPERTIES as SEGMENT_HOT_PROPERTIES

PROPERTIES = [
    {
        "country": "UA",
        "session_id": "s1",
        "item_id": "i1",
        "item": "ignored",
        "price": 3.5,
        "lat": 50.4,
        "lon": 30.5,
    },
    {"item": "i2", "amount": 7, "price": 9, "movie_id": "m1", "position_seconds": 120},
    {},
    {"country": None, "amount": "not a number", "position_seconds": -1},
]


def _columns(components: Components, table: str) -> dict[str, dict[str, str]]:
    rows = components.warehouse.query(
        "SELECT name, type, default_expression FROM system.columns"
        " WHERE database = currentDatabase() AND table = {t:String}",
        {"t": table},
    ).to_pylist()
    return {r["name"]: r for r in rows}


def test_every_hot_property_is_a_column_of_events_and_of_the_stage_defaulting_from_its_keys(
    components: Components,
) -> None:
    events, stage = _columns(components, "events"), _columns(components, "consume_stage")
    for hot in HOT_PROPERTIES:
        assert events[hot.column]["type"].replace("LowCardinality(String)", "String") == hot.column_type
        assert stage[hot.column]["type"] == hot.column_type
        assert all(f"'{key}'" in events[hot.column]["default_expression"] for key in hot.keys)


def test_segments_read_the_text_hot_properties_by_column() -> None:
    assert SEGMENT_HOT_PROPERTIES == SEGMENT_COLUMNS
    assert SEGMENT_COLUMNS["item_id"] == SEGMENT_COLUMNS["item"] == "item"
    assert "amount" not in SEGMENT_COLUMNS  # numbers are not compared as text


def test_consume_computes_what_the_defaults_compute(components: Components) -> None:
    # Given the same properties stored twice: through consume, and by a plain insert (DEFAULTs)
    now = datetime.now(UTC)
    consumed = [str(uuid.uuid4()) for _ in PROPERTIES]
    plain = [str(uuid.uuid4()) for _ in PROPERTIES]
    records = [
        QueuedRecord(
            "t", 0, i, 0, b"u",
            orjson.dumps({"event_id": consumed[i], "user_id": "u", "type": "x", "timestamp": now.isoformat(),
                          "source": "generic", "properties": p}),
        )
        for i, p in enumerate(PROPERTIES)
    ]  # fmt: skip
    store_records(records, components.warehouse, components.dead_letters)
    components.warehouse.insert_arrow(
        "events",
        pa.table(
            {
                "event_id": plain,
                "user_id": ["u"] * len(PROPERTIES),
                "event_type": ["x"] * len(PROPERTIES),
                "ts": pa.array([now] * len(PROPERTIES), pa.timestamp("ms", tz="UTC")),
                "source": ["generic"] * len(PROPERTIES),
                "properties": [orjson.dumps(p).decode() for p in PROPERTIES],
                "received_at": pa.array([now] * len(PROPERTIES), pa.timestamp("ms", tz="UTC")),
            }
        ),
    )
    # When both are read back
    columns = ", ".join(h.column for h in HOT_PROPERTIES)
    rows = {
        r["event_id"]: r
        for r in components.warehouse.query(
            f"SELECT toString(event_id) AS event_id, {columns} FROM events"
        ).to_pylist()
    }
    # Then each hot property has the same value both ways
    for a, b in zip(consumed, plain, strict=True):
        assert {k: v for k, v in rows[a].items() if k != "event_id"} == {
            k: v for k, v in rows[b].items() if k != "event_id"
        }
    assert rows[consumed[0]]["item"] == "i1" and rows[consumed[1]]["amount"] == 7
