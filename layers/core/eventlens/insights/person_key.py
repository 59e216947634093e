"""Who a person is, for every insight: the one place that says it.

Today a person is a distinct ``user_id`` of the project: eventlens has no identity stitching yet.
When it has (persons merged by identify: an anonymous id and a known one become one person), the
expression below becomes the mapped id, e.g. ``dictGetOrDefault('person_overrides', 'person_id',
(project_id, user_id), user_id)``, and every insight counts merged persons without a query of its
own changing: they all take the person from ``person()`` and person properties from
``person_property_values``.

Person properties: until persons carry their own properties, a person's property is the value it has
on the person's latest event that carries it (in the whole history of the project; of two events at
the same moment, the greater value). ``person_property_values`` is that table.
"""

from __future__ import annotations

# What the answers say a person is (in "the query as understood").
PERSON_DEFINITION = "a distinct user_id of the project (no identity stitching yet)"


def person() -> str:
    """The SQL expression of a row's person, over a row of ``events``."""
    return "user_id"


def person_property_values(path_sql: str) -> str:
    """A subquery of ``(holder, value)``: each person's latest value of the event property at
    ``path_sql`` (bound key parameters, ``{k0:String}, {k1:String}``) as raw JSON text, for every person
    of the project with an event that has it."""
    raw = f"JSONExtractRaw(properties, {path_sql})"
    return (
        f"SELECT {person()} AS holder, argMax({raw}, (ts, {raw})) AS value FROM events "
        f"WHERE project_id = {{project:String}} AND JSONHas(properties, {path_sql}) GROUP BY holder"
    )


# The rollups (daily_rollup, user_periods, user_first) count user ids: they are persons while a person is a
# user id. Identity stitching sets this False, and the insights read the events (see ``insights.rollups``).
ROLLUPS_COUNT_PERSONS = True
