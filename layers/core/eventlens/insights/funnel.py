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
latest chain start reachable at each event: a running fill of the previous step's; long funnels fold it
over the steps), so 30 steps cost 30 array passes per person, not a loop per event.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from eventlens.insights.bindings import Bindings
from eventlens.insights.breakdown import Breakdown, breakdown_sql
from eventlens.insights.filters import EventMatcher, event_types_condition, invalid, matcher_condition
from eventlens.insights.person_key import person
from eventlens.insights.query import InsightQuery, Understood, build_scope
from eventlens.warehouse import Warehouse

Order = Literal["ordered", "strict", "unordered"]
MAX_STEPS = 30
MAX_WINDOW_SECONDS = 366 * 86_400

# Per person: their events in the scope as one sorted array of (time, first step, steps[, breakdown
# value]) (a tuple array sorts natively, in that order): ``ts`` the times, ``ms`` the steps each matches.
_SORTED = """
SELECT who, evs.1 AS ts, evs.3 AS ms, {value_of_person} AS v
FROM (
    SELECT who, arraySort(groupArray(({event_tuple}))) AS evs
    FROM (
        SELECT {person} AS who, toUnixTimestamp64Milli(ts) AS t, {mask} AS mask,
               toUInt32(bitAnd(mask, bitNot(mask) + 1)) AS lowbit{value_column}
        FROM events{join}
        WHERE {where}{only_steps}
    )
    GROUP BY who
    HAVING {entered}
)
"""
# The same without a breakdown and with at most ``KEYED_STEPS`` steps, several times cheaper to group and
# sort: each event one UInt64 key (ms since two days before the range: 37 bits for the longest range;
# its first step's number, 0 for none: 5 bits; its steps: 22 bits), so the array is numeric and sorts
# in the tuple's order.
KEYED_STEPS = 22
_SORTED_KEYS = """
SELECT who, arrayMap(k -> toInt64(bitShiftRight(k, 27)), keys) AS ts,
       arrayMap(k -> toUInt32(bitAnd(k, 4194303)), keys) AS ms, '' AS v
FROM (
    SELECT who, arraySort(groupArray(key)) AS keys
    FROM (
        SELECT {person} AS who, {mask} AS mask, toUInt32(bitAnd(mask, bitNot(mask) + 1)) AS lowbit,
               bitOr(bitShiftLeft(toUInt64(toUnixTimestamp64Milli(ts) - {since}), 27),
                     bitOr(bitShiftLeft(toUInt64(if(mask = 0, 0, bitCount(lowbit - 1) + 1)), 22),
                           toUInt64(mask))) AS key
        FROM events
        WHERE {where}{only_steps}
    )
    GROUP BY who
    HAVING {entered}
)
"""
# Then per person ``level`` (the furthest step reached) and ``reached``: (step, ms from the previous
# step, ms from the first) for steps 1..level.
_PERSONS = "SELECT who, v, level, reached FROM ({walk})"
# Ordered and strict: one vectorised pass per step. At each event, s holds the start of the latest
# chain ending there as that step (-1: none); step j's is, at each of its events, the latest start among
# the events before it (strict: the event just before it) within the window: a running fill of step
# j-1's, shifted by one. The first event where step j's s has a chain is where step j is reached; its
# times: from the latest step j-1 event before it, and from that chain's start.
#
# Up to ``FOLD_FROM - 1`` steps each step is a subquery of its own reading the previous step's array as
# a column (the analyzer inlines aliases: a chain of them in one SELECT costs it far more than the walk).
# Those nested subqueries still take the analyzer long to plan as steps grow (20 steps: seconds on a
# loaded machine), so longer funnels fold the same pass over the steps instead (``arrayFold`` over
# ``range(2, steps + 1)``, the previous step's s and the steps reached as its accumulator): SQL of one
# size, planned at once, but a little slower to run per step (measured at 10M events, interleaved: 5
# steps 0.74-0.87x the subqueries' speed, 20 steps 1.1-1.2x).
FOLD_FROM = 10
_FIRST = "SELECT who, v, ts, ms, arrayMap((t, m) -> if(bitTest(m, 0), t, -1), ts, ms) AS s1 FROM ({sorted})"
# Step j's starts from the previous step's ({before}), its bit in the mask {bit}: both walks use it.
_STEP_STARTS = (
    "arrayMap((t, m, p) -> if(bitTest(m, {bit}) AND p >= 0 AND t - p <= {window:Int64}, p, -1),"
    " ts, ms, arrayPopBack(arrayPushFront({before}, -1)))"
)
_STEP = "SELECT *, " + _STEP_STARTS + " AS s{j} FROM ({walked})"
_BEFORE = {"ordered": "arrayFill(x -> x >= 0, {s})", "strict": "{s}"}
_TIMES = (
    "(toUInt32({j}),"
    " ts[f{j}] - ts[arrayLastIndex((x, i) -> x >= 0 AND i < f{j}, s{i}, arrayEnumerate(s{i}))],"
    " ts[f{j}] - s{j}[f{j}])"
)
# The fold: ``s`` (step j's array) and ``f`` (its first chain) are each bound once by mapping a
# one-element array, as a lambda has no other way to name a value it uses several times.
_FOLDED_WALK = """
SELECT who, v, toUInt32(length(reached)) AS level, reached
FROM (
    SELECT who, v, arrayFold(
        (acc, j) -> if(length(acc.2) < j - 1, acc, arrayMap(s -> arrayMap(f -> if(f = 0, acc,
            (s, arrayPushBack(acc.2, (toUInt32(j),
                ts[f] - ts[arrayLastIndex((x, i) -> x >= 0 AND i < f, acc.1, arrayEnumerate(acc.1))],
                ts[f] - s[f])))),
            [arrayFirstIndex(x -> x >= 0, s)])[1], [{starts}])[1]),
        range(2, {steps} + 1),
        (arrayMap((t, m) -> if(bitTest(m, 0), t, -1), ts, ms), [(toUInt32(1), toInt64(0), toInt64(0))])
    ).2 AS reached
    FROM ({sorted})
)
"""
# Unordered: per start event, the steps its window covers (each event the first step it matches not yet
# covered: the lowest open bit of its steps) and when it covered one more; then per step k, the
# earliest start covering k steps.
_UNORDERED_WALK = """
arrayMap(i -> arrayFold((acc, t, m) -> if(bitAnd(m, bitNot(acc.1)) = 0, acc,
        (toUInt32(bitOr(acc.1, bitAnd(bitAnd(m, bitNot(acc.1)), bitNot(bitAnd(m, bitNot(acc.1))) + 1))),
         arrayPushBack(acc.2, t))),
    arraySlice(ts, i, arrayCount(x -> x <= ts[i] + {window:Int64}, arraySlice(ts, i))),
    arraySlice(ms, i, arrayCount(x -> x <= ts[i] + {window:Int64}, arraySlice(ts, i))),
    (toUInt32(0), emptyArrayInt64())).2, arrayEnumerate(ts)) AS chains,
toUInt32(arrayMax(arrayMap(c -> length(c), chains))) AS level,
arrayMap(k -> (toUInt32(k),
               arrayFirst(c -> length(c) >= k, chains)[k] - arrayFirst(c -> length(c) >= k, chains)[k - 1],
               arrayFirst(c -> length(c) >= k, chains)[k] - arrayFirst(c -> length(c) >= k, chains)[1]),
         range(1, level + 1)) AS reached
"""
_STEPS = """
SELECT step.1 AS j, count() AS persons,
       avgIf(step.2, j > 1) AS fp_average, quantileExactInclusiveIf(0.5)(step.2, j > 1) AS fp_median,
       avgIf(step.3, j > 1) AS ff_average, quantileExactInclusiveIf(0.5)(step.3, j > 1) AS ff_median
FROM ({persons})
ARRAY JOIN reached AS step
GROUP BY j
"""
# With a breakdown: per value and step the states; values ranked by the persons who entered; the
# values beyond the limit merged into other, and every value's once more for everyone (GROUPING SETS).
_BREAKDOWN_STEPS = """
SELECT g, is_top, j, grouping(g) AS whole, min(value_rank) AS group_rank, sum(n) AS persons,
       avgIfMerge(fpa) AS fp_average, quantileExactInclusiveIfMerge(0.5)(fpm) AS fp_median,
       avgIfMerge(ffa) AS ff_average, quantileExactInclusiveIfMerge(0.5)(ffm) AS ff_median
FROM (
    SELECT *, value_rank <= {top:UInt32} AS is_top, if(is_top, v, '') AS g
    FROM (
        SELECT *, dense_rank() OVER (ORDER BY entered DESC, v) AS value_rank
        FROM (
            SELECT v, step.1 AS j, count() AS n,
                   avgIfState(step.2, j > 1) AS fpa, quantileExactInclusiveIfState(0.5)(step.2, j > 1) AS fpm,
                   avgIfState(step.3, j > 1) AS ffa, quantileExactInclusiveIfState(0.5)(step.3, j > 1) AS ffm,
                   sumIf(count(), j = 1) OVER (PARTITION BY v) AS entered
            FROM ({persons})
            ARRAY JOIN reached AS step
            GROUP BY v, j
        )
    )
)
GROUP BY GROUPING SETS ((g, is_top, j), (j))
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
    mask = " + ".join(
        f"toUInt32({matcher_condition(step, b)}) * {1 << i}" for i, step in enumerate(query.steps)
    )
    keyed = query.breakdown is None and len(query.steps) <= KEYED_STEPS
    since_ms = int((scope.understood.utc_from - timedelta(days=2)).timestamp() * 1000)
    sorted_sql = (
        (_SORTED_KEYS if keyed else _SORTED)
        .replace("{since}", b.bind(since_ms, "Int64"))
        .replace("{event_tuple}", "t, lowbit, mask, v" if query.breakdown else "t, lowbit, mask")
        .replace("{value_column}", f", {breakdown.value} AS v" if query.breakdown else "")
        .replace("{value_of_person}", _value_of_person(query))
        .replace("{entered}", "max(mask) > 0" if query.order == "unordered" else "max(bitAnd(mask, 1)) = 1")
        .replace("{only_steps}", _only_steps(query, b))
        .replace("{mask}", f"toUInt32({mask})")
        .replace("{person}", person(b))
        .replace("{join}", breakdown.join)
        .replace("{where}", scope.where)
    )
    persons_sql = _PERSONS.replace("{walk}", _walk(query.order, len(query.steps), sorted_sql))
    params = {**b.params, "window": query.window_seconds * 1000}
    template = _BREAKDOWN_STEPS if query.breakdown else _STEPS
    top = query.breakdown.limit if query.breakdown else 1
    rows = warehouse.query(template.replace("{persons}", persons_sql), {**params, "top": top}).to_pylist()
    labels = [step.event or "any event" for step in query.steps]
    groups: dict[tuple[bool, str, bool], dict[int, dict[str, Any]]] = {}
    ranks: dict[tuple[bool, str, bool], int] = {}
    for row in rows:
        key = (bool(row.get("whole", True)), row.get("g", ""), bool(row.get("is_top", True)))
        groups.setdefault(key, {})[int(row["j"])] = row
        ranks[key] = min(ranks.get(key, 1 << 30), int(row.get("group_rank") or 0))
    everyone = next((steps for (whole, _, _), steps in groups.items() if whole), {})
    answer = FunnelAnswer(
        query=query,
        understood=scope.understood,
        window_seconds=query.window_seconds,
        steps=_steps(everyone, labels),
    )
    if query.breakdown is not None:
        answer.breakdown = [
            FunnelGroup(
                breakdown_value=value if is_top else None, other=not is_top, steps=_steps(steps, labels)
            )
            for (whole, value, is_top), steps in sorted(groups.items(), key=lambda item: ranks[item[0]])
            if not whole
        ]
    if query.dropped is not None:
        answer.dropped = _dropped(warehouse, persons_sql, params, query.dropped)
    return answer


def _walk(order: str, count: int, sorted_sql: str) -> str:
    """The per-person query giving ``level`` and ``reached`` from the sorted events (see the templates)."""
    if order == "unordered":
        return f"SELECT who, v, {_UNORDERED_WALK} FROM ({sorted_sql})"
    if count >= FOLD_FROM:
        starts = _STEP_STARTS.replace("{bit}", "j - 1").replace(
            "{before}", _BEFORE[order].replace("{s}", "acc.1")
        )
        return (
            _FOLDED_WALK.replace("{starts}", starts)
            .replace("{steps}", str(count))
            .replace("{sorted}", sorted_sql)
        )
    walked = _FIRST.replace("{sorted}", sorted_sql)
    for j in range(2, count + 1):
        walked = (
            _STEP.replace("{walked}", walked)
            .replace("{before}", _BEFORE[order].replace("{s}", f"s{j - 1}"))
            .replace("{bit}", str(j - 1))
            .replace("{j}", str(j))
        )
    firsts = ", ".join(f"arrayFirstIndex(x -> x >= 0, s{j}) AS f{j}" for j in range(2, count + 1))
    times = [_TIMES.replace("{i}", str(j - 1)).replace("{j}", str(j)) for j in range(2, count + 1)]
    reached = " + ".join(f"(arrayMax(s{j}) >= 0)" for j in range(1, count + 1))  # every s{j} has an element
    return (
        f"SELECT who, v, toUInt32({reached}) AS level,"
        f" arraySlice([(toUInt32(1), toInt64(0), toInt64(0)), {', '.join(times)}], 1, level) AS reached"
        f" FROM (SELECT *, {firsts} FROM ({walked}))"
    )


def _value_of_person(query: FunnelQuery) -> str:
    """A person's breakdown value: of their first step-1 event (unordered: first event of a step)."""
    if query.breakdown is None:
        return "''"
    return "evs.4[1]" if query.order == "unordered" else "evs.4[arrayFirstIndex(m -> bitTest(m, 0), ms)]"


def _only_steps(query: FunnelQuery, bindings: Bindings) -> str:
    """The rows a funnel reads: its steps' events (strict: every event, as any breaks a chain)."""
    if query.order == "strict":
        return ""
    return f"{event_types_condition(query.steps, bindings)} AND mask != 0"


def _steps(rows: dict[int, dict[str, Any]], labels: list[str]) -> list[FunnelStep]:
    """Each step's figures from its row (none: nobody reached it)."""
    first = int(rows[1]["persons"]) if 1 in rows else 0
    steps, previous = [], first
    for j, label in enumerate(labels, start=1):
        row = rows.get(j)
        reached = int(row["persons"]) if row else 0
        step = FunnelStep(
            step=j,
            label=label,
            persons=reached,
            conversion_from_first=reached / first if first else None,
            conversion_from_previous=reached / previous if previous else None,
        )
        if row and j > 1:
            step.median_seconds_from_previous = _seconds(row["fp_median"])
            step.average_seconds_from_previous = _seconds(row["fp_average"])
            step.median_seconds_from_first = _seconds(row["ff_median"])
            step.average_seconds_from_first = _seconds(row["ff_average"])
        steps.append(step)
        previous = reached
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
