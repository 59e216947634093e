"""A report filtered to a saved cohort (issue 12): only the cohort's persons' events count.

A cohort (``eventlens.insights.cohorts``: behavioural, or by person properties) is of the caller's
project; an id the project has no cohort of is answered 404 naming ``cohort``, whoever else has it.
Membership is the insights' own condition (``membership_condition``), worked out when the report is
asked; "the last D days" of a behavioural cohort count back from that moment.

Persons merged by identify, alias or merge (``eventlens.identity``) are in or out of a cohort whole:
the condition is over a row's person, so every id of a member person counts, its events before the
merge included, and no id of another person does. A report reads the cohort one of two ways:

* over ``events`` rows, ``events``: the row's person is a member;
* over a rollup keyed by user id hash (``user_periods``, ``user_first``), ``users``: the row's id is
  one of the ids the project's events name a member person by (each id's ``sipHash128``, as the
  rollups keep them). Counting those rows counts ids: a report reads them only where ids are persons
  (no overlaps in its periods) or maps them to persons itself.

Every value is bound (``Bindings``: ``{project:String}`` and ``{pN:Type}``), so the conditions are
spliced into a report's SQL at a ``{cohort}`` / ``{cohort_users}`` marker (``with_cohort``), as
segments are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventlens.insights.bindings import Bindings
from eventlens.insights.cohorts import cohort_membership
from eventlens.warehouse import Warehouse

# The ids (as the rollups hash them) of the project's events whose person is in the cohort.
_MEMBER_IDS = (
    "user IN (SELECT DISTINCT reinterpretAsUInt128(sipHash128(user_id)) FROM events"
    " WHERE project_id = {project:String} AND ({membership}))"
)


@dataclass(frozen=True)
class CohortFilter:
    """A cohort's conditions for a report's SQL, and the parameters they bind."""

    cohort_id: str
    events: str  # over an ``events`` row: its person is in the cohort
    users: str  # over a rollup row's ``user`` hash: an id of a person in the cohort
    params: dict[str, Any]


def cohort_filter(
    warehouse: Warehouse, project_id: str, cohort_id: str | None, now: datetime | None = None
) -> CohortFilter | None:
    """The project's cohort ``cohort_id`` as report conditions (None without a cohort); NotFound naming
    ``cohort`` when the project has none of that id."""
    if cohort_id is None:
        return None
    bindings = Bindings(project_id)
    at = (now or datetime.now(UTC)).astimezone(UTC)
    membership = cohort_membership(warehouse, project_id, cohort_id, bindings, at)
    condition = f"({membership.condition})"
    users = _MEMBER_IDS.replace("{membership}", membership.condition)
    return CohortFilter(cohort_id, condition, users, bindings.params)


def with_cohort(sql: str, cohort: CohortFilter | None) -> tuple[str, dict[str, Any]]:
    """``sql`` with its ``{cohort}`` and ``{cohort_users}`` markers replaced by the cohort's conditions
    (``1`` without a cohort), and the parameters they bind."""
    if cohort is None:
        return sql.replace("{cohort}", "1").replace("{cohort_users}", "1"), {}
    return sql.replace("{cohort}", cohort.events).replace("{cohort_users}", cohort.users), dict(cohort.params)
