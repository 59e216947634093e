"""Who a person is, for every insight: the one place that says it.

A person is a distinct ``user_id`` of the project, or several when an SDK said they are one person
(identify, alias, merge: ``eventlens.identity``). Every insight takes the person of an ``events`` row
from ``person()`` — the id's person, read from the project's mapping — so unique persons, funnels,
retention, lifecycle, stickiness and paths count merged persons, an anonymous visitor's events before
signing up included. In a project where no person has several ids (``ids_are_persons``, asked once per
query), the person is the ``user_id`` itself, and no row is looked up in the mapping.

Person properties (``person.<key>``) come from ``person_property_values``
(``eventlens.person_properties``): the latest ``$set`` of the key across the person's ids, else the
first ``$set_once``, else — for a person never told it that way — the value on their latest event that
carries it as an event property (of two events at the same moment, the greater value).
"""

from __future__ import annotations

from eventlens import person_properties
from eventlens.identity import has_merges, person_of
from eventlens.insights.bindings import Bindings
from eventlens.warehouse import Warehouse

# What the answers say a person is (in "the query as understood").
PERSON_DEFINITION = (
    "a person of the project: a distinct user_id, with every id identify, alias or merge said is theirs"
)


def person(bindings: Bindings) -> str:
    """The SQL expression of a row's person, over a row of ``events`` (``{project:String}`` bound): its
    ``user_id`` where ``bindings`` say ids are persons, else the id's person in the project's mapping
    (read once per query, looked up per row)."""
    return "user_id" if bindings.ids_are_persons else person_of("user_id")


def person_property_values(path_sql: str) -> str:
    """A subquery of ``(holder, value)``: each person's value of the property at ``path_sql`` (bound key
    parameters, ``{k0:String}, {k1:String}``) as raw JSON text, for every person of the project that has
    it (see the module doc)."""
    return person_properties.person_property_values(path_sql)


def ids_are_persons(warehouse: Warehouse, project_id: str) -> bool:
    """Whether every user_id of the project is a person of its own: while no person of the project has
    several ids. Then ``person()`` is the plain ``user_id``, and the rollups' user ids (daily_rollup,
    user_periods, user_first) are persons (``insights.rollups``).

    Asked once per query, before it runs: a merge stored in between is as if the query had run just
    before it (the answer is exact for the events and merges stored when it was asked)."""
    return not has_merges(warehouse, project_id)
