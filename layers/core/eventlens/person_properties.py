"""Person properties: what a person is said to be (``person.<key>[.<key>…]`` in segments and insights).

A person's property ``key`` is, across all their distinct ids (``identity``):

1. the latest ``$set`` of ``key`` by event time (identify traits, PostHog's ``$set``; of two at the same
   moment, the greater JSON text), else
2. the first ``$set_once`` of ``key`` by event time (of two at the same moment, the smaller), else
3. for a person never told ``key`` that way — as the reference systems' clients, which send traits on
   their events — the value on their latest event carrying ``key`` as an event property (ties: the
   greater JSON text).

Times, not arrival order, decide, so properties sent late or out of order give the same answer. A
nested path (``person.address.city``) is read inside the value that rule picks for its first key.
Values are raw JSON text; ``person_properties`` (migration 0009) keeps 1 and 2 per distinct id.
"""

from __future__ import annotations

from eventlens.identity import person_of


def person_property_values(path_sql: str) -> str:
    """A subquery of ``(holder, value)``: each person of the project (bound as ``{project:String}``)
    that has the property at ``path_sql`` (bound keys, ``{k0:String}, {k1:String}``), with its value as
    raw JSON text (see the module doc)."""
    first, _, rest = path_sql.partition(", ")
    said = (
        "if(countIf(kind = 'set') > 0, argMaxMergeIf(latest, kind = 'set'),"
        " argMinMergeIf(earliest, kind = 'set_once'))"
    )
    said_value = f"JSONExtractRaw(said, {rest})" if rest else "said"
    raw = f"JSONExtractRaw(properties, {path_sql})"
    return f"""
SELECT holder, if(s.found = 1, s.said_value, e.event_value) AS value
FROM (
    SELECT {person_of()} AS holder, argMax({raw}, (ts, {raw})) AS event_value FROM events
    WHERE project_id = {{project:String}} AND JSONHas(properties, {path_sql})
    GROUP BY holder
) AS e
FULL OUTER JOIN (
    SELECT holder, {said_value} AS said_value, toUInt8(1) AS found
    FROM (
        SELECT holder, {said} AS said
        FROM (
            SELECT {person_of("distinct_id")} AS holder, kind, latest, earliest FROM person_properties
            WHERE project_id = {{project:String}} AND key = {first}
        )
        GROUP BY holder
    )
) AS s USING holder
WHERE if(s.found = 1, s.said_value, e.event_value) != ''
"""
