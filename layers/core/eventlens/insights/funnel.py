"""Funnels: how many persons went through 2–30 steps, each an event with filters, within a conversion
window; per step the persons who reached it, conversion from the first step and from the previous one,
median and average time to convert; optionally by a breakdown, and the persons who dropped after a
step, paged.

A person's events are the scope's (the range's local days, the filters, the cohort), in time order;
events at the same moment are taken in the order of the first step each matches (an event of step 1
before one of step 2), so a funnel whose steps share a moment still converts. One event is one step
of a chain, never two: a step repeated (``page_view`` → ``page_view``) needs two events.

* ``ordered`` (default): a chain is events of steps 1, 2, … k in this order, other events between
  allowed, the last within ``window_seconds`` of the first (inclusive: exactly at the window's end
  converts). A person reached step k when some chain of theirs reaches it.
* ``strict``: as ordered, but each step's event is the person's very next event after the previous
  step's (any event of the scope in between breaks the chain).
* ``unordered``: from any event of a step, the events within the window cover k distinct steps, each
  event taking the first step it matches not yet covered.

Time to convert to step k (k ≥ 2), per person who reached it, on the first chain that reached step
k: ordered and strict: from the latest step k-1 event before that chain's step k event (and from its
step 1 event: "from first"); unordered: the chain of the earliest start covering k steps, from its
(k-1)th and its first event. Medians interpolate as numpy's does.

A breakdown's value is that of the person's first step-1 event (unordered: of their first event of
any step); values rank by the persons who entered the funnel.

ClickHouse's ``windowFunnel`` is not used: it counts one event matching two steps as both (a repeated
step converts on a single event), gives no times to convert and has no unordered mode. Each person's
events go into arrays instead, sorted once, and each step is one vectorised pass over them (the
latest chain start reachable at each event: a running fill of the previous step's), so 30 steps cost
30 array passes per person, not a loop per event.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from eventlens.insights.breakdown import Breakdown, breakdown_sql
from eventlens.insights.filters import EventMatcher, invalid, matcher_condition
from eventlens.insights.person_key import person
from eventlens.insights.query import InsightQuery, Understood, build_scope
from eventlens.warehouse import Warehouse

Order = Literal["ordered", "strict", "unordered"]
MAX_STEPS = 30
MAX_WINDOW_SECONDS = 366 * 86_400

# Each person's events in the scope, sorted (time, first step, steps, breakdown value): {person_row}
# is the per-person expressions below.
_PERSONS = """
SELECT who, {person_columns}
FROM (
    SELECT who, {arrays}
    FROM (
        SELECT who, arraySort(x -> (x.1, x.3, x.2, x.4), groupArray((t, mask, lowbit, v))) AS evs
        FROM (
            SELECT {person} AS who, toUnixTimestamp64Milli(ts) AS t, {mask} AS mask,
                   toUInt32(bitAnd(mask, bitNot(mask) + 1)) AS lowbit, {value} AS v
            FROM events{join}
            WHERE {where}{only_steps}
        )
        GROUP BY who
        HAVING {entered}
    )
)
"""
_AGGREGATE = """
SELECT g, is_top, grouping(g) AS whole, min(value_rank) AS group_rank, {merges}
FROM (
    SELECT *, value_rank <= {top:UInt32} AS is_top, if(is_top, v, '') AS g
    FROM (
        SELECT *, dense_rank() OVER (ORDER BY entered DESC, v) AS value_rank
        FROM (SELECT v, count() AS entered, {states} FROM ({persons}) GROUP BY v)
    )
)
GROUP BY GROUPING SETS ((g, is_top), ())
"""
_DROPPED = """
SELECT count() AS total,
       arraySlice(arraySort(groupArray(who)), {offset:UInt32} + 1, {limit:UInt32}) AS persons
FROM ({persons})
WHERE level = {after:UInt8}
"""


class Dropped(BaseModel):
    """Which dropped persons to list: those who reached ``after_step`` and not the next, by id."""

    model_config = ConfigDict(extra="forbid")

    after_step: int = Field(ge=1, le=MAX_STEPS - 1)
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=10_000_000)


class FunnelQuery(InsightQuery):
    """``POST /api/v1/insights/funnel``."""

    steps: list[EventMatcher] = Field(min_length=2, max_length=MAX_STEPS)
    order: Order = "ordered"
    window_seconds: int = Field(default=14 * 86_400, ge=1, le=MAX_WINDOW_SECONDS)
    breakdown: Breakdown | None = None
    dropped: Dropped | None = None

    @model_validator(mode="after")
    def _dropped_step_exists(self) -> FunnelQuery:
        if self.dropped is not None and self.dropped.after_step >= len(self.steps):
            raise invalid(f"dropped.after_step must be before the last step ({len(self.steps)})")
        return self


class FunnelStep(BaseModel):
    step: int = Field(description="1 for the first step")
    label: str
    persons: int = Field(description="Persons who reached this step")
    conversion_from_first: float | None = Field(description="persons / the first step's persons")
    conversion_from_previous: float | None = Field(description="persons / the previous step's persons")
    median_seconds_from_previous: float | None = None
    average_seconds_from_previous: float | None = None
    median_seconds_from_first: float | None = None
    average_seconds_from_first: float | None = None


class FunnelGroup(BaseModel):
    breakdown_value: str | None = Field(description="null for other")
    other: bool = False
    steps: list[FunnelStep]


class DroppedPersons(BaseModel):
    after_step: int
    total: int = Field(description="Persons who reached after_step and not the next")
    persons: list[str] = Field(description="This page of them, by id")
    next_offset: int | None = Field(description="The offset of the next page; null on the last")


class FunnelAnswer(BaseModel):
    query: FunnelQuery
    understood: Understood
    window_seconds: int
    steps: list[FunnelStep] = Field(description="Every person of the scope")
    breakdown: list[FunnelGroup] | None = None
    dropped: DroppedPersons | None = None


def funnel(warehouse: Warehouse, project_id: str, query: FunnelQuery) -> FunnelAnswer:
    """The funnel of ``query`` over ``project_id``'s events (see the module doc)."""
    scope = build_scope(warehouse, project_id, query)
    b = scope.bindings
    breakdown = breakdown_sql(query.breakdown, b)
    count = len(query.steps)
    mask = " + ".join(
        f"toUInt32({matcher_condition(step, b)}) * {1 << i}" for i, step in enumerate(query.steps)
    )
    unordered = query.order == "unordered"
    persons_sql = (
        _PERSONS.replace("{person_columns}", _person_columns(count, unordered))
        .replace("{arrays}", _arrays(count, query.order))
        .replace("{entered}", "max(mask) > 0" if unordered else "max(bitAnd(mask, 1)) = 1")
        .replace("{only_steps}", "" if query.order == "strict" else " AND mask != 0")
        .replace("{mask}", f"toUInt32({mask})")
        .replace("{value}", breakdown.value)
        .replace("{person}", person())
        .replace("{join}", breakdown.join)
        .replace("{where}", scope.where)
    )
    params = {**b.params, "window": query.window_seconds * 1000}
    states, merges = _aggregates(count)
    sql = (
        _AGGREGATE.replace("{states}", ", ".join(states))
        .replace("{merges}", ", ".join(merges))
        .replace("{persons}", persons_sql)
    )
    top = query.breakdown.limit if query.breakdown else 1
    rows = warehouse.query(sql, {**params, "top": top}).to_pylist()
    labels = [step.event or "any event" for step in query.steps]
    whole = next((row for row in rows if row["whole"]), None)
    answer = FunnelAnswer(
        query=query,
        understood=scope.understood,
        window_seconds=query.window_seconds,
        steps=_steps(whole, labels),
    )
    if query.breakdown is not None:
        groups = sorted((row for row in rows if not row["whole"]), key=lambda row: row["group_rank"])
        answer.breakdown = [
            FunnelGroup(
                breakdown_value=row["g"] if row["is_top"] else None,
                other=not row["is_top"],
                steps=_steps(row, labels),
            )
            for row in groups
        ]
    if query.dropped is not None:
        answer.dropped = _dropped(warehouse, persons_sql, params, query.dropped)
    return answer


def _arrays(count: int, order: str) -> str:
    """Per person: ``ts`` and ``ms`` (times, step masks), ``v`` (the breakdown value), and per step j
    ``s{j}``: at each event, the start of the latest chain ending there as step j (-1: none)."""
    columns = [
        "arrayMap(x -> x.1, evs) AS ts",
        "arrayMap(x -> x.2, evs) AS ms",
        "arrayMap(x -> x.4, evs) AS vs",
    ]
    if order == "unordered":
        columns.append("vs[1] AS v")
        # Per start event: the steps its window covers (each event the first step it matches not yet
        # covered: the lowest bit of the steps it matches that are still open) and the times at which
        # it covered one more.
        free = "bitAnd(m, bitNot(acc.1))"
        columns.append(
            f"arrayMap(i -> arrayFold((acc, t, m) -> if({free} = 0, acc,"
            f" (toUInt32(bitOr(acc.1, bitAnd({free}, bitNot({free}) + 1))), arrayPushBack(acc.2, t))),"
            " arraySlice(ts, i, arrayCount(x -> x <= ts[i] + {window:Int64}, arraySlice(ts, i))),"
            " arraySlice(ms, i, arrayCount(x -> x <= ts[i] + {window:Int64}, arraySlice(ts, i))),"
            " (toUInt32(0), emptyArrayInt64())), arrayEnumerate(ts)) AS chains"
        )
        return ",\n           ".join(columns)
    columns.append("vs[arrayFirstIndex(m -> bitTest(m, 0), ms)] AS v")
    columns.append("arrayMap((t, m) -> if(bitTest(m, 0), t, -1), ts, ms) AS s1")
    for j in range(2, count + 1):
        previous = f"s{j - 1}" if order == "strict" else f"arrayFill(x -> x >= 0, s{j - 1})"
        columns.append(
            f"arrayMap((t, m, p) -> if(bitTest(m, {j - 1}) AND p >= 0 AND t - p <= {{window:Int64}}, p, -1),"
            f" ts, ms, arrayPopBack(arrayPushFront({previous}, -1))) AS s{j}"
        )
    return ",\n           ".join(columns)


def _person_columns(count: int, unordered: bool) -> str:
    """Per person: ``level`` (the furthest step reached), ``v``, and for each step j ≥ 2 the times to
    convert to it in milliseconds, ``fp{j}`` from the previous step and ``ff{j}`` from the first."""
    if unordered:
        columns = ["v", "arrayMax(arrayMap(c -> length(c.2), chains)) AS level"]
        for j in range(2, count + 1):
            chain = f"arrayFirst(c -> length(c.2) >= {j}, chains).2"
            columns.append(f"{chain}[{j}] - {chain}[{j - 1}] AS fp{j}")
            columns.append(f"{chain}[{j}] - {chain}[1] AS ff{j}")
        return ", ".join(columns)
    reached = " + ".join(f"arrayExists(x -> x >= 0, s{j})" for j in range(1, count + 1))
    columns = ["v", f"toUInt8({reached}) AS level"]
    for j in range(2, count + 1):
        first = f"arrayFirstIndex(x -> x >= 0, s{j})"
        before = f"arrayLastIndex((x, i) -> x >= 0 AND i < {first}, s{j - 1}, arrayEnumerate(s{j - 1}))"
        columns.append(f"ts[{first}] - ts[{before}] AS fp{j}")
        columns.append(f"ts[{first}] - s{j}[{first}] AS ff{j}")
    return ", ".join(columns)


def _aggregates(count: int) -> tuple[list[str], list[str]]:
    """Per breakdown value, the states of each step's persons and times; and their merges."""
    states, merges = [], []
    for j in range(1, count + 1):
        states.append(f"countIfState(level >= {j}) AS r{j}")
        merges.append(f"countIfMerge(r{j}) AS reached{j}")
        if j == 1:
            continue
        for kind in ("fp", "ff"):
            states.append(f"avgIfState({kind}{j}, level >= {j}) AS {kind}_avg{j}")
            states.append(f"quantileExactInclusiveIfState(0.5)({kind}{j}, level >= {j}) AS {kind}_med{j}")
            merges.append(f"avgIfMerge({kind}_avg{j}) AS {kind}_average{j}")
            merges.append(f"quantileExactInclusiveIfMerge(0.5)({kind}_med{j}) AS {kind}_median{j}")
    return states, merges


def _steps(row: dict[str, Any] | None, labels: list[str]) -> list[FunnelStep]:
    steps = []
    for j, label in enumerate(labels, start=1):
        reached = int(row[f"reached{j}"]) if row else 0
        first = int(row["reached1"]) if row else 0
        previous = int(row[f"reached{j - 1}"]) if row and j > 1 else first
        step = FunnelStep(
            step=j,
            label=label,
            persons=reached,
            conversion_from_first=reached / first if first else None,
            conversion_from_previous=reached / previous if previous else None,
        )
        if row and j > 1 and reached:
            step.median_seconds_from_previous = _seconds(row[f"fp_median{j}"])
            step.average_seconds_from_previous = _seconds(row[f"fp_average{j}"])
            step.median_seconds_from_first = _seconds(row[f"ff_median{j}"])
            step.average_seconds_from_first = _seconds(row[f"ff_average{j}"])
        steps.append(step)
    return steps


def _seconds(milliseconds: Any) -> float | None:
    if milliseconds is None or milliseconds != milliseconds:  # NaN: no value
        return None
    return float(milliseconds) / 1000


def _dropped(
    warehouse: Warehouse, persons_sql: str, params: dict[str, Any], dropped: Dropped
) -> DroppedPersons:
    sql = _DROPPED.replace("{persons}", persons_sql)
    query_params = {**params, "after": dropped.after_step, "offset": dropped.offset, "limit": dropped.limit}
    row = warehouse.query(sql, query_params).to_pylist()[0]
    total = int(row["total"])
    following = dropped.offset + dropped.limit
    return DroppedPersons(
        after_step=dropped.after_step,
        total=total,
        persons=[str(who) for who in row["persons"]],
        next_offset=following if following < total else None,
    )
