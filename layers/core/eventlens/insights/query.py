"""What every insight's body holds, and the SQL scope it makes.

Every body takes ``from`` and ``to`` (local days, inclusive), a ``timezone`` (IANA, default UTC),
``filters`` (property filters with operators, see ``filters``), a ``segment`` (the reports' grammar,
``properties.country:UA,event_type:page_view``: each an ``equals`` filter) and a ``cohort`` (the id of a
saved cohort of the caller's project). Every event an insight counts passes all of them.

``build_scope`` checks them (422 naming the field: a day the warehouse cannot hold, ``from`` after ``to``,
an unknown timezone, a pattern RE2 refuses; 404 for a cohort the project does not have) and makes
the SQL condition over ``events`` rows that every query of the insight starts from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from eventlens.errors import InvalidParameter, WarehouseError
from eventlens.insights.bindings import Bindings
from eventlens.insights.cohorts import Cohort, CohortId, cohort_membership
from eventlens.insights.filters import MAX_FILTERS, PropertyFilter, filters_condition
from eventlens.insights.periods import check_timezone, local_span
from eventlens.insights.person_key import PERSON_DEFINITION, ids_are_persons
from eventlens.reports.segments import parse_segments
from eventlens.warehouse import Warehouse

MAX_RANGE_DAYS = 3 * 366
FIRST_DAY = date(1970, 3, 1)
LAST_DAY = date(2149, 4, 30)
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_REGEX_CHECK = "SELECT match('', {pattern:String}) AS ok"
_MOMENT = "DateTime64(3, 'UTC')"


def _iso_day(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DAY.match(value):
        raise PydanticCustomError("iso_8601", "must be a day as ISO 8601 text, YYYY-MM-DD")
    return value


IsoDay = Annotated[date, BeforeValidator(_iso_day)]
TimezoneName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+\-/]+$"),
    Field(description="An IANA timezone: days, weeks and months are cut in it", examples=["Europe/Kyiv"]),
]


class InsightQuery(BaseModel):
    """The part of every insight's body that says which events count."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)

    start: IsoDay = Field(alias="from", description="The first local day, YYYY-MM-DD")
    end: IsoDay = Field(alias="to", description="The last local day, inclusive")
    timezone: TimezoneName = "UTC"
    filters: list[PropertyFilter] = Field(
        default_factory=list, max_length=MAX_FILTERS, description="Every event counted passes all of them"
    )
    segment: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        default=None,
        description="The reports' segments: column:value or properties.key:value, comma-separated (AND)",
    )
    cohort: CohortId | None = Field(default=None, description="Only persons of this saved cohort")


class Understood(BaseModel):
    """The scope of an answer as eventlens read it."""

    model_config = ConfigDict(populate_by_name=True)

    start: date = Field(alias="from")
    end: date = Field(alias="to")
    timezone: str
    utc_from: datetime = Field(description="The first local day's start, in UTC")
    utc_to: datetime = Field(description="The end of the last local day (exclusive), in UTC")
    person: str = Field(description="What a person is")
    filters: list[PropertyFilter] = Field(description="Every filter applied: the body's and its segments")
    cohort: Cohort | None = None
    cohort_at: datetime | None = Field(
        default=None, description="The moment a behavioural cohort's last days are counted back from"
    )


@dataclass
class Scope:
    """An insight's SQL scope: bound parameters, and the conditions over ``events`` rows."""

    bindings: Bindings
    events: str  # the project, the filters, the segments, the cohort: no time bound
    understood: Understood

    def days(self, first: date, last: date) -> str:
        """Rows of the local days ``first``–``last`` (the UTC bounds, a day wider, let the sort key
        prune; the local day decides)."""
        b = self.bindings
        lo = b.bind(_midnight(first - timedelta(days=1)), _MOMENT)
        hi = b.bind(_midnight(last + timedelta(days=2)), _MOMENT)
        return (
            f"ts >= {lo} AND ts < {hi} AND toDate(ts, {{tz:String}}) "
            f"BETWEEN {b.bind(first, 'Date')} AND {b.bind(last, 'Date')}"
        )

    def until(self, last: date) -> str:
        """Rows up to the end of local day ``last`` (the whole history before it)."""
        b = self.bindings
        hi = b.bind(_midnight(last + timedelta(days=2)), _MOMENT)
        return f"ts < {hi} AND toDate(ts, {{tz:String}}) <= {b.bind(last, 'Date')}"

    @property
    def where(self) -> str:
        """The scope's rows on the query's days."""
        return f"{self.events} AND {self.days(self.understood.start, self.understood.end)}"


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC)


def check_range(start: date, end: date) -> None:
    """``from``–``to``: in order, at most ``MAX_RANGE_DAYS`` long, and with room in the warehouse's
    ``Date`` for the period before and the whole period after (lifecycle and retention read them)."""
    for field, day in (("from", start), ("to", end)):
        if not FIRST_DAY <= day <= LAST_DAY:
            raise InvalidParameter(field, f"must be between {FIRST_DAY} and {LAST_DAY}, got {day}")
    if start > end:
        raise InvalidParameter("from", f"{start} is after to={end}")
    if (end - start).days > MAX_RANGE_DAYS:
        raise InvalidParameter("to", f"the range may span at most {MAX_RANGE_DAYS} days")


def build_scope(
    warehouse: Warehouse, project_id: str, query: InsightQuery, now: datetime | None = None
) -> Scope:
    """Check ``query``'s common part and make its scope (see the module doc)."""
    check_range(query.start, query.end)
    timezone = check_timezone(warehouse, query.timezone)
    check_patterns(warehouse, query)
    filters = list(query.filters) + [
        PropertyFilter(property=".".join(segment.path), operator="equals", value=segment.value)
        for segment in parse_segments(query.segment)
    ]
    bindings = Bindings(project_id, ids_are_persons(warehouse, project_id), tz=timezone)
    conditions = ["project_id = {project:String}"]
    if filters:
        conditions.append(filters_condition(filters, bindings))
    cohort, cohort_at = None, None
    if query.cohort is not None:
        cohort_at = (now or datetime.now(UTC)).astimezone(UTC)
        membership = cohort_membership(warehouse, project_id, query.cohort, bindings, cohort_at)
        conditions.append(f"({membership.condition})")
        cohort = membership.cohort
        if cohort.kind != "behavioural":
            cohort_at = None
    first, after = local_span(warehouse, timezone, query.start, query.end)
    understood = Understood.model_validate(
        {
            "from": query.start,
            "to": query.end,
            "timezone": timezone,
            "utc_from": datetime.fromtimestamp(first, UTC),
            "utc_to": datetime.fromtimestamp(after, UTC),
            "person": PERSON_DEFINITION,
            "filters": filters,
            "cohort": cohort,
            "cohort_at": cohort_at,
        }
    )
    return Scope(bindings, " AND ".join(conditions), understood)


def check_patterns(warehouse: Warehouse, body: BaseModel) -> None:
    """Every regex filter anywhere in ``body`` is a pattern RE2 takes (InvalidParameter naming it)."""
    for field, pattern in regex_filters(body, ""):
        try:
            warehouse.query(_REGEX_CHECK, {"pattern": pattern})
        except WarehouseError:
            raise InvalidParameter(field, "is not a regular expression RE2 accepts") from None


def regex_filters(value: Any, at: str) -> list[tuple[str, str]]:
    """(where, pattern) of each regex filter in a model, found wherever it is nested."""
    if isinstance(value, PropertyFilter):
        if value.operator in ("regex", "not_regex"):
            return [(f"{at}.value", str(value.value))]
        return []
    if isinstance(value, BaseModel):
        return [
            found
            for name in type(value).model_fields
            for found in regex_filters(getattr(value, name), f"{at}.{name}" if at else name)
        ]
    if isinstance(value, list):
        return [found for i, item in enumerate(value) for found in regex_filters(item, f"{at}[{i}]")]
    return []
