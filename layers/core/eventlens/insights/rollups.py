"""The rollups (migrations 0002, 0007) as an insight's cheaper exact source, where they answer it.

``daily_rollup`` keeps per project, UTC day, source, event type and country the events and the
uniqExact state of their user ids; ``user_periods`` each (UTC day / Monday week / month, person) with an
event, and ``user_first`` each person's first UTC day. They answer an insight exactly when it asks
nothing they lost: UTC periods of a day or longer, conditions only on the columns they keep (equality
with text, as the events path compares them), no cohort, and user ids that are persons
(``person_key.ids_are_persons``: once identity stitching merges persons of a project, the rollups' user
ids are no longer its persons and its insights read the events).
"""

from __future__ import annotations

from eventlens.insights.bindings import Bindings
from eventlens.insights.filters import PropertyFilter

# What daily_rollup keeps: a property name → its column.
COLUMNS = {
    "event_type": "event_type",
    "type": "event_type",
    "source": "source",
    "properties.country": "country",
}


def rollups_apply(timezone: str, interval: str, cohort: str | None, ids_are_persons: bool) -> bool:
    """Whether the rollups' UTC days, weeks and months and their user ids serve this scope at all."""
    return ids_are_persons and timezone == "UTC" and interval in ("day", "week", "month") and not cohort


def rollup_condition(filters: list[PropertyFilter], bindings: Bindings) -> str | None:
    """The filters as one condition on daily_rollup's columns, or None when one of them is not one."""
    conditions = []
    for item in filters:
        column = COLUMNS.get(item.property)
        values = item.value if isinstance(item.value, list) else [item.value]
        if column is None or item.operator != "equals":
            return None
        if not all(isinstance(value, str) and value for value in values):
            return None  # a number, a boolean or '' compares otherwise than a column's text
        conditions.append(f"{column} IN {bindings.bind(values, 'Array(String)')}")
    return " AND ".join(conditions) or "1"
