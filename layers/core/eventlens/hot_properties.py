"""The hot properties: event properties kept in columns of their own, so reports read a column
instead of parsing JSON. The one list of them; everything else is derived from it:

- consume's parse (sql/parse_incoming.sql) extracts them from one parse of each event's properties;
- consume's session and stage tables (consume.py, migration 0005) carry them;
- segments (reports/segments.py) filter on the text ones by column;
- the ``events`` columns' DEFAULTs (migration 0001), written once and never edited, compute the same
  values for any other writer — a test checks each DEFAULT against this list.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HotProperty:
    column: str
    keys: tuple[str, ...]  # the property keys it is read from, the first one present winning
    type: str  # ClickHouse type of a value; text is '' when absent, a number NULL

    @property
    def is_text(self) -> bool:
        return self.type == "String"

    @property
    def column_type(self) -> str:
        return self.type if self.is_text else f"Nullable({self.type})"


HOT_PROPERTIES = (
    HotProperty("country", ("country",), "String"),
    HotProperty("session_id", ("session_id",), "String"),
    HotProperty("item", ("item_id", "item"), "String"),
    HotProperty("amount", ("amount", "price"), "Float64"),
    HotProperty("movie_id", ("movie_id",), "String"),
    HotProperty("position_seconds", ("position_seconds",), "UInt32"),
    HotProperty("lat", ("lat",), "Float64"),
    HotProperty("lon", ("lon",), "Float64"),
)

COLUMNS = ", ".join(p.column for p in HOT_PROPERTIES)
# Segment key → column, for the text properties (a segment compares its value as text).
SEGMENT_COLUMNS = {key: p.column for p in HOT_PROPERTIES if p.is_text for key in p.keys}


def column_definitions() -> str:
    """``name Type`` lines for a table holding the hot properties."""
    return ",\n    ".join(f"{p.column} {p.column_type}" for p in HOT_PROPERTIES)


def parse_tuple_type() -> str:
    """The named Tuple type one JSONExtract of the properties reads every hot key with."""
    keys = dict.fromkeys(key for p in HOT_PROPERTIES for key in p.keys)
    types = {key: p.type for p in HOT_PROPERTIES for key in p.keys}
    return "Tuple(" + ", ".join(f"{key} Nullable({types[key]})" for key in keys) + ")"


def parse_expressions(tuple_name: str = "hot") -> str:
    """SELECT expressions taking each hot property from the parsed tuple ``tuple_name``."""
    expressions = []
    for p in HOT_PROPERTIES:
        values = [f"{tuple_name}.{key}" for key in p.keys]
        value = values[0] if len(values) == 1 else f"coalesce({', '.join(values)})"
        expressions.append(f"ifNull({value}, '') AS {p.column}" if p.is_text else f"{value} AS {p.column}")
    return ",\n    ".join(expressions)
