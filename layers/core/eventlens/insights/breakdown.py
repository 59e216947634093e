"""Breakdowns: an insight's figures per value of a property, the ``limit`` most frequent values each on
its own and every other value together as "other".

The value is the property's text (a string as it is, any other value as its JSON text), ``""`` for
an event without it. An event property is read from each event (a funnel: from the person's first
event of step 1); a person property from the person (``person_key``).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from eventlens.insights.bindings import Bindings
from eventlens.insights.filters import PropertyName, event_text, parse_property
from eventlens.insights.person_key import person, person_property_values

MAX_VALUES = 100


class Breakdown(BaseModel):
    """Figures per value of ``property``: the ``limit`` most frequent values, then "other"."""

    model_config = ConfigDict(extra="forbid")

    property: PropertyName
    limit: int = Field(default=10, ge=1, le=MAX_VALUES)


@dataclass(frozen=True)
class BreakdownSql:
    value: str  # the value's SQL over a row of ``events`` (joined with ``join``)
    join: str  # what the rows must be joined with first ("" for none)


def breakdown_sql(breakdown: Breakdown | None, bindings: Bindings) -> BreakdownSql:
    """The SQL of a row's breakdown value; ``''`` for every row without a breakdown."""
    if breakdown is None:
        return BreakdownSql("''", "")
    ref = parse_property(breakdown.property)
    if ref.kind != "person":
        return BreakdownSql(event_text(ref, bindings), "")
    values = person_property_values(bindings.path(ref.keys))
    return BreakdownSql(
        "JSONExtractString(pp.value)", f" LEFT ANY JOIN ({values}) AS pp ON pp.holder = {person(bindings)}"
    )
