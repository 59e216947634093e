"""Cohorts: saved definitions of a set of persons of one project, for insights to be filtered to.

* **behavioural**: persons who did an event (with filters; or any event) at least ``min_count`` times
  in the last ``days`` days: the ``days`` × 24 hours before the moment the cohort is used;
* **properties**: persons whose person properties pass every filter (``person.<key>``; see
  ``person_key`` for what a person property is today).

Only the definition is stored (table ``cohorts``, migration 0008); membership is worked out from the
events each time, so a cohort follows the data and keeps nobody's id.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from eventlens.errors import NotFound
from eventlens.insights.bindings import Bindings
from eventlens.insights.filters import (
    MAX_FILTERS,
    EventMatcher,
    PropertyFilter,
    filter_condition,
    invalid,
    matcher_condition,
    parse_property,
)
from eventlens.insights.person_key import person
from eventlens.warehouse import Warehouse

COHORT_ID_PATTERN = r"^coh_[0-9a-f]{16}$"
CohortId = Annotated[
    str, StringConstraints(pattern=COHORT_ID_PATTERN), Field(examples=["coh_4f2a9c0d1e8b7a65"])
]
MAX_LISTED = 1000

_INSERT = """
INSERT INTO cohorts (project_id, cohort_id, name, definition, created_at)
VALUES ({project:String}, {cohort_id:String}, {name:String}, {definition:String},
        {created_at:DateTime64(3, 'UTC')})
"""
_ONE = """
SELECT cohort_id, name, definition, created_at FROM cohorts FINAL
WHERE project_id = {project:String} AND cohort_id = {cohort_id:String}
"""
_ALL = """
SELECT cohort_id, name, definition, created_at FROM cohorts FINAL
WHERE project_id = {project:String}
ORDER BY created_at, cohort_id
LIMIT {limit:UInt32}
"""
# The persons of a cohort, for its size: the project's persons (with any event) it holds.
_SIZE = """
SELECT uniqExact({person}) AS persons FROM events WHERE project_id = {project:String} AND {membership}
"""


class Behaviour(EventMatcher):
    """Did the event (with filters) at least ``min_count`` times in the last ``days`` days."""

    min_count: int = Field(default=1, ge=1, le=1_000_000)
    days: int = Field(default=30, ge=1, le=3660)


class CohortDefinition(BaseModel):
    """What a cohort holds: exactly one of ``behavioural`` and ``properties``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    behavioural: Behaviour | None = None
    properties: list[PropertyFilter] | None = Field(
        default=None, min_length=1, max_length=MAX_FILTERS, description="person.<key> filters, all must pass"
    )

    @model_validator(mode="after")
    def _one_kind(self) -> CohortDefinition:
        if (self.behavioural is None) == (self.properties is None):
            raise invalid("give exactly one of behavioural and properties")
        for item in self.properties or []:
            if parse_property(item.property).kind != "person":
                raise invalid(f"a properties cohort filters person.<key> properties, got {item.property}")
        return self

    @property
    def kind(self) -> Literal["behavioural", "properties"]:
        return "behavioural" if self.behavioural is not None else "properties"


class CohortRequest(CohortDefinition):
    """``POST /api/v1/cohorts``: a name and the definition."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Cohort(BaseModel):
    """A saved cohort."""

    cohort_id: str
    name: str
    kind: Literal["behavioural", "properties"]
    definition: CohortDefinition
    created_at: datetime
    persons: int | None = Field(
        default=None, description="How many persons it holds now (in the answer to its creation)"
    )


class CohortList(BaseModel):
    cohorts: list[Cohort]


@dataclass(frozen=True)
class Membership:
    """A cohort's condition over a row of ``events`` (its person is in the cohort) at ``now``."""

    cohort: Cohort
    condition: str
    now: datetime


def create_cohort(
    warehouse: Warehouse, project_id: str, request: CohortRequest, now: datetime | None = None
) -> Cohort:
    """Save ``request`` as a cohort of ``project_id``; the answer says how many persons it holds now."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    definition = CohortDefinition.model_validate(request.model_dump(exclude={"name"}))
    cohort = Cohort(
        cohort_id=f"coh_{secrets.token_hex(8)}",
        name=request.name,
        kind=definition.kind,
        definition=definition,
        created_at=now.replace(microsecond=now.microsecond // 1000 * 1000),
    )
    warehouse.command(
        _INSERT,
        {
            "project": project_id,
            "cohort_id": cohort.cohort_id,
            "name": cohort.name,
            "definition": definition.model_dump_json(exclude_none=True),
            "created_at": cohort.created_at,
        },
    )
    bindings = Bindings(project_id)
    membership = membership_condition(definition, bindings, now)
    sql = _SIZE.replace("{person}", person(bindings)).replace("{membership}", membership)
    persons = warehouse.query(sql, bindings.params).column("persons")[0].as_py()
    return cohort.model_copy(update={"persons": int(persons)})


def list_cohorts(warehouse: Warehouse, project_id: str) -> CohortList:
    """The project's cohorts, oldest first."""
    rows = warehouse.query(_ALL, {"project": project_id, "limit": MAX_LISTED}).to_pylist()
    return CohortList(cohorts=[_cohort(row) for row in rows])


def load_cohort(warehouse: Warehouse, project_id: str, cohort_id: str, field: str = "cohort") -> Cohort:
    """The project's cohort ``cohort_id``; NotFound naming ``field`` when it has none of that id."""
    rows = warehouse.query(_ONE, {"project": project_id, "cohort_id": cohort_id}).to_pylist()
    if not rows:
        raise NotFound(field, f"this project has no cohort {cohort_id}")
    return _cohort(rows[0])


def cohort_membership(
    warehouse: Warehouse, project_id: str, cohort_id: str, bindings: Bindings, now: datetime
) -> Membership:
    """The condition that a row's person is in the project's cohort ``cohort_id`` at ``now``."""
    cohort = load_cohort(warehouse, project_id, cohort_id)
    return Membership(cohort, membership_condition(cohort.definition, bindings, now), now)


def membership_condition(definition: CohortDefinition, bindings: Bindings, now: datetime) -> str:
    """A row's person is in the cohort ``definition`` describes, at ``now``."""
    if definition.behavioural is not None:
        rule = definition.behavioural
        since = bindings.bind(now - timedelta(days=rule.days), "DateTime64(3, 'UTC')")
        until = bindings.bind(now, "DateTime64(3, 'UTC')")
        who = person(bindings)
        return (
            f"{who} IN (SELECT {who} FROM events WHERE project_id = {{project:String}}"
            f" AND ts >= {since} AND ts <= {until} AND {matcher_condition(rule, bindings)}"
            f" GROUP BY {who} HAVING count() >= {bindings.bind(rule.min_count, 'UInt64')})"
        )
    return " AND ".join(f"({filter_condition(item, bindings)})" for item in definition.properties or [])


def _cohort(row: dict[str, object]) -> Cohort:
    definition = CohortDefinition.model_validate(json.loads(str(row["definition"])))
    created = row["created_at"]
    if not isinstance(created, datetime):
        created = datetime.fromisoformat(str(created))
    return Cohort(
        cohort_id=str(row["cohort_id"]),
        name=str(row["name"]),
        kind=definition.kind,
        definition=definition,
        created_at=created.replace(tzinfo=UTC) if created.tzinfo is None else created,
    )
