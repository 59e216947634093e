"""Every insight computed again in plain Python from the distinct events, from the definitions the
modules' docs give, for the tests to compare with what the warehouse answers.

Nothing here imports eventlens's insight code: local days come from Python's zoneinfo (not
ClickHouse's), filters are evaluated on the parsed properties, funnels enumerate every possible chain
start (not the running fill the SQL keeps), quantiles come from numpy.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

MISSING = object()


@dataclass(frozen=True)
class Event:
    event_id: str
    user_id: str
    event_type: str
    ts: datetime  # UTC, whole milliseconds
    source: str
    properties: dict[str, Any] = field(hash=False, compare=False)

    @property
    def ms(self) -> int:
        return (self.ts - EPOCH) // timedelta(milliseconds=1)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def from_envelope(envelope: dict[str, Any]) -> Event:
    ts = datetime.fromisoformat(envelope["timestamp"].replace("Z", "+00:00")).astimezone(UTC)
    return Event(
        envelope["event_id"],
        envelope["user_id"],
        envelope["type"],
        ts.replace(microsecond=ts.microsecond // 1000 * 1000),
        envelope.get("source", "generic"),
        envelope.get("properties", {}),
    )


# --- properties and filters -------------------------------------------------------------------------


def lookup(properties: dict[str, Any], path: list[str]) -> Any:
    value: Any = properties
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return MISSING
        value = value[key]
    return value


def text(value: Any) -> str:
    """A property's text: a string as it is, other values as their JSON text, '' for none."""
    if value is MISSING or value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def matches(value: Any, operator: str, wanted: Any) -> bool:
    """The operator on a property value (MISSING: the event lacks it)."""
    negative = {
        "not_equals": "equals",
        "not_contains": "contains",
        "not_regex": "regex",
        "is_not_set": "is_set",
    }
    if operator in negative:
        return not matches(value, negative[operator], wanted)
    present = value is not MISSING
    if operator == "is_set":
        return present
    if not present:
        return False
    if operator in ("gt", "gte", "lt", "lte"):
        n = number(value)
        if n is None:
            return False
        return {"gt": n > wanted, "gte": n >= wanted, "lt": n < wanted, "lte": n <= wanted}[operator]
    if operator == "equals":
        options = wanted if isinstance(wanted, list) else [wanted]
        for option in options:
            if isinstance(option, bool):
                if value is option:
                    return True
            elif isinstance(option, int | float):
                if number(value) == float(option):
                    return True
            elif text(value) == option:
                return True
        return False
    if operator == "contains":
        return wanted in text(value)
    if operator == "regex":
        return re.search(wanted, text(value)) is not None
    raise ValueError(operator)


COLUMNS = {"event_type": "event_type", "type": "event_type", "source": "source", "user_id": "user_id"}


class World:
    """One project's distinct events, and what the definitions need of them."""

    def __init__(self, events: Iterable[Event]) -> None:
        self.events = sorted(events, key=lambda e: (e.ts, e.event_id))
        self._person_values: dict[str, dict[str, Any]] = {}

    def person_value(self, person: str, path: list[str]) -> Any:
        """The person's property: its value on their latest event that has it (ties: greater JSON)."""
        key = ".".join(path)
        if key not in self._person_values:
            latest: dict[str, tuple[datetime, str, Any]] = {}
            for event in self.events:
                value = lookup(event.properties, path)
                if value is MISSING:
                    continue
                candidate = (event.ts, json.dumps(value), value)
                if event.user_id not in latest or candidate[:2] > latest[event.user_id][:2]:
                    latest[event.user_id] = candidate
            self._person_values[key] = {p: v[2] for p, v in latest.items()}
        return self._person_values[key].get(person, MISSING)

    def passes(self, event: Event, filters: list[dict[str, Any]]) -> bool:
        return all(self.passes_one(event, item) for item in filters)

    def passes_one(self, event: Event, item: dict[str, Any]) -> bool:
        name, operator, wanted = item["property"], item.get("operator", "equals"), item.get("value")
        if name in COLUMNS:
            return matches(getattr(event, COLUMNS[name]), operator, wanted)
        head, *path = name.split(".")
        if head == "properties":
            return matches(lookup(event.properties, path), operator, wanted)
        return matches(self.person_value(event.user_id, path), operator, wanted)

    def matcher(self, matcher: dict[str, Any] | None) -> Callable[[Event], bool]:
        matcher = matcher or {}

        def test(event: Event) -> bool:
            if matcher.get("event") is not None and event.event_type != matcher["event"]:
                return False
            return self.passes(event, matcher.get("filters", []))

        return test

    def scope(self, body: dict[str, Any], cohort: set[str] | None = None) -> list[Event]:
        """The events of the body's local days that pass its filters, segments and cohort."""
        zone = ZoneInfo(body.get("timezone", "UTC"))
        first, last = date.fromisoformat(body["from"]), date.fromisoformat(body["to"])
        return [e for e in self.history(body, cohort) if first <= e.ts.astimezone(zone).date() <= last]

    def history(self, body: dict[str, Any], cohort: set[str] | None = None) -> list[Event]:
        """Every event of the project that passes the body's filters, segments and cohort."""
        filters = list(body.get("filters", []))
        for segment in (body.get("segment") or "").split(","):
            if segment.strip():
                name, value = segment.strip().split(":", 1)
                filters.append({"property": name, "operator": "equals", "value": value})
        return [e for e in self.events if self.passes(e, filters) and (cohort is None or e.user_id in cohort)]


# --- periods --------------------------------------------------------------------------------------------


def period_of(ts: datetime, interval: str, zone: ZoneInfo) -> Any:
    local = ts.astimezone(zone)
    if interval == "hour":
        return local.replace(minute=0, second=0, microsecond=0).isoformat()
    day = local.date()
    if interval == "week":
        return (day - timedelta(days=day.weekday())).isoformat()
    if interval == "month":
        return day.replace(day=1).isoformat()
    return day.isoformat()


def date_periods(interval: str, first: date, last: date) -> list[str]:
    start = {"week": first - timedelta(days=first.weekday()), "month": first.replace(day=1)}.get(
        interval, first
    )
    periods = []
    while start <= last:
        periods.append(start.isoformat())
        start = _next(interval, start)
    return periods


def _next(interval: str, day: date) -> date:
    if interval == "week":
        return day + timedelta(weeks=1)
    if interval == "month":
        return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return day + timedelta(days=1)


def hour_periods(first: date, last: date, zone: ZoneInfo) -> list[str]:
    start = datetime.combine(first, datetime.min.time(), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone).astimezone(UTC)
    hours = []
    while start < end:
        hours.append(start.astimezone(zone).isoformat())
        start += timedelta(hours=1)
    return hours


def periods(body: dict[str, Any], interval: str) -> list[str]:
    first, last = date.fromisoformat(body["from"]), date.fromisoformat(body["to"])
    if interval == "hour":
        return hour_periods(first, last, ZoneInfo(body.get("timezone", "UTC")))
    return date_periods(interval, first, last)


# --- trends --------------------------------------------------------------------------------------------

QUANTILES = {"median": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}


def math_value(math: str, events: list[Event], prop: str | None) -> Any:
    if math == "total":
        return len(events)
    if math == "unique_persons":
        return len({e.user_id for e in events})
    assert prop is not None
    values = [n for e in events if (n := number(lookup(e.properties, prop.split(".")[1:]))) is not None]
    if math == "sum":
        return float(sum(values))
    if not values:
        return None
    if math == "avg":
        return float(np.mean(values))
    if math == "min":
        return min(values)
    if math == "max":
        return max(values)
    return float(np.quantile(values, QUANTILES[math]))


def breakdown_text(world: World, event: Event, name: str) -> str:
    if name in COLUMNS:
        return str(getattr(event, COLUMNS[name]))
    head, *path = name.split(".")
    value = (
        lookup(event.properties, path) if head == "properties" else world.person_value(event.user_id, path)
    )
    return text(value)


def _value_is(value_of: dict[str, str], wanted: str) -> Callable[[Event], bool]:
    return lambda e: value_of[e.event_id] == wanted


def trends(world: World, body: dict[str, Any], cohort: set[str] | None = None) -> dict[str, Any]:
    """{"periods", "series": [{letter, breakdown_value, other, values, total}]} as the route answers."""
    interval = body.get("interval", "day")
    zone = ZoneInfo(body.get("timezone", "UTC"))
    labels = periods(body, interval)
    scoped = world.scope(body, cohort)
    tests = [world.matcher(s) for s in body["series"]]
    counted = [e for e in scoped if any(test(e) for test in tests)]
    breakdown = body.get("breakdown")
    if breakdown:
        value_of = {e.event_id: breakdown_text(world, e, breakdown["property"]) for e in counted}
        ranking = Counter(value_of.values())
        ordered = sorted(ranking, key=lambda v: (-ranking[v], v.encode()))
        top = ordered[: breakdown.get("limit", 10)]
        groups: list[tuple[str | None, bool, Callable[[Event], bool]]] = [
            (v, False, _value_is(value_of, v)) for v in top
        ]
        if len(ordered) > len(top):
            groups.append((None, True, lambda e: value_of[e.event_id] not in top))
    else:
        groups = [(None, False, lambda e: True)]
    series = []
    for value, other, in_group in groups:
        for i, spec in enumerate(body["series"]):
            math, prop = spec.get("math", "total"), spec.get("property")
            mine = [e for e in counted if tests[i](e) and in_group(e)]
            by_period: dict[str, list[Event]] = defaultdict(list)
            for e in mine:
                by_period[period_of(e.ts, interval, zone)].append(e)
            series.append(
                {
                    "letter": "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[i],
                    "breakdown_value": value,
                    "other": other,
                    "values": [math_value(math, by_period.get(p, []), prop) for p in labels],
                    "total": math_value(math, mine, prop),
                }
            )
    return {"periods": labels, "series": series}


# --- funnels -------------------------------------------------------------------------------------------


def funnel(world: World, body: dict[str, Any], cohort: set[str] | None = None) -> dict[Any, Any]:
    """Per group (None: everyone; else breakdown values, then other): per step the persons, times."""
    order = body.get("order", "ordered")
    window = body.get("window_seconds", 14 * 86400) * 1000
    tests = [world.matcher(step) for step in body["steps"]]
    breakdown = body.get("breakdown")
    by_person: dict[str, list[Event]] = defaultdict(list)
    for event in world.scope(body, cohort):
        by_person[event.user_id].append(event)
    outcomes = {}
    for who, events in by_person.items():
        items = []
        for e in events:
            mask = sum(1 << j for j, test in enumerate(tests) if test(e))
            if mask or order == "strict":
                value = breakdown_text(world, e, breakdown["property"]) if breakdown else ""
                items.append((e.ms, mask & -mask, mask, value))
        items.sort(key=lambda x: (x[0], x[1], x[2], x[3].encode()))
        outcome = (
            _unordered(items, len(tests), window)
            if order == "unordered"
            else _ordered(items, len(tests), window, strict=order == "strict")
        )
        if outcome is not None:
            outcomes[who] = outcome
    answer: dict[Any, Any] = {None: _funnel_steps(list(outcomes.values()), len(tests))}
    if breakdown:
        entered = Counter(o["value"] for o in outcomes.values())
        ordered_values = sorted(entered, key=lambda v: (-entered[v], v.encode()))
        top = ordered_values[: breakdown.get("limit", 10)]
        for v in top:
            answer[("value", v)] = _funnel_steps(
                [o for o in outcomes.values() if o["value"] == v], len(tests)
            )
        if len(ordered_values) > len(top):
            answer["other"] = _funnel_steps(
                [o for o in outcomes.values() if o["value"] not in top], len(tests)
            )
    answer["levels"] = {who: o["level"] for who, o in outcomes.items()}
    return answer


def _ordered(
    items: list[tuple[int, int, int, str]], count: int, window: int, strict: bool
) -> dict[str, Any] | None:
    """Every chain start reachable at each event as each step (sets, not just the latest)."""
    if not any(mask & 1 for _, _, mask, _ in items):
        return None
    n = len(items)
    starts: list[list[set[int]]] = [[set() for _ in range(n)] for _ in range(count)]
    for i, (t, _, mask, _) in enumerate(items):
        if mask & 1:
            starts[0][i] = {t}
        for j in range(1, count):
            if not mask >> j & 1:
                continue
            before = [i - 1] if strict and i > 0 else ([] if strict else range(i))
            starts[j][i] = {s for k in before for s in starts[j - 1][k] if t - s <= window}
    level = max(j + 1 for j in range(count) if any(starts[j]))
    times = {}
    for j in range(1, level):
        f = min(i for i in range(n) if starts[j][i])
        t_f = items[f][0]
        candidates = [f - 1] if strict else range(f)
        k = max(k for k in candidates if any(t_f - s <= window for s in starts[j - 1][k]))
        times[j + 1] = (t_f - items[k][0], t_f - max(starts[j][f]))
    value = next(v for _, _, mask, v in items if mask & 1)
    return {"level": level, "times": times, "value": value}


def _unordered(items: list[tuple[int, int, int, str]], count: int, window: int) -> dict[str, Any] | None:
    if not items:
        return None
    chains = []
    for s, (t_s, _, _, _) in enumerate(items):
        covered, times = 0, []
        for t, _, mask, _ in items[s:]:
            if t > t_s + window:
                break
            free = mask & ~covered
            if free:
                covered |= free & -free
                times.append(t)
        chains.append(times)
    level = max(len(c) for c in chains)
    to_step: dict[int, tuple[int, int]] = {}
    for k in range(2, level + 1):
        chain = next(c for c in chains if len(c) >= k)
        to_step[k] = (chain[k - 1] - chain[k - 2], chain[k - 1] - chain[0])
    return {"level": level, "times": to_step, "value": items[0][3]}


def _funnel_steps(outcomes: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    steps = []
    first = sum(1 for o in outcomes if o["level"] >= 1)
    previous = first
    for j in range(1, count + 1):
        reached = [o for o in outcomes if o["level"] >= j]
        step: dict[str, Any] = {
            "step": j,
            "persons": len(reached),
            "conversion_from_first": len(reached) / first if first else None,
            "conversion_from_previous": len(reached) / previous if previous else None,
        }
        if j > 1 and reached:
            from_previous = [o["times"][j][0] / 1000 for o in reached]
            from_first = [o["times"][j][1] / 1000 for o in reached]
            step.update(
                median_seconds_from_previous=float(np.median(from_previous)),
                average_seconds_from_previous=float(np.mean(from_previous)),
                median_seconds_from_first=float(np.median(from_first)),
                average_seconds_from_first=float(np.mean(from_first)),
            )
        steps.append(step)
        previous = len(reached)
    return steps


# --- paths ---------------------------------------------------------------------------------------------


def paths(world: World, body: dict[str, Any]) -> dict[str, Any]:
    include, exclude = body.get("include_events"), set(body.get("exclude_events", []))
    anchor_spec = body.get("end_event") or body.get("start_event")
    anchor = world.matcher(anchor_spec) if anchor_spec else None
    depth = body.get("depth", 5)
    by_person: dict[str, list[Event]] = defaultdict(list)
    for e in world.scope(body):
        if (include is None or e.event_type in include) and e.event_type not in exclude:
            by_person[e.user_id].append(e)
    edges: Counter[tuple[int, str, str]] = Counter()
    walkers = 0
    for events in by_person.values():
        marked = sorted(
            ((e.ts, e.event_type, 0 if anchor and anchor(e) else 1) for e in events),
            key=lambda x: (x[0], x[1].encode(), x[2]),
        )
        types = [t for _, t, _ in marked]
        anchors = [a == 0 for _, _, a in marked]
        if body.get("end_event"):
            if True not in anchors:
                continue
            last = len(anchors) - 1 - anchors[::-1].index(True)
            walk = _collapse(types[: last + 1], body.get("collapse_repeats", False))[-(depth + 1) :]
            offset = len(walk)
        else:
            if anchor is not None and True not in anchors:
                continue
            if not types:
                continue
            index = anchors.index(True) if anchor is not None else 0
            walk = _collapse(types[index:], body.get("collapse_repeats", False))[: depth + 1]
            offset = 0
        walkers += 1
        for i in range(len(walk) - 1):
            edges[(i + 1 - offset, walk[i], walk[i + 1])] += 1
    ranked = sorted(edges.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1].encode(), kv[0][2].encode()))
    return {
        "persons": walkers,
        "edges": [
            {"from_step": s, "from_event": a, "to_step": s + 1, "to_event": b, "persons": n}
            for (s, a, b), n in ranked[: body.get("edge_limit", 50)]
        ],
    }


def _collapse(types: list[str], collapse: bool) -> list[str]:
    if not collapse:
        return types
    return [t for i, t in enumerate(types) if i == 0 or t != types[i - 1]]


# --- stickiness, lifecycle, retention --------------------------------------------------------------------


def stickiness(world: World, body: dict[str, Any]) -> dict[str, Any]:
    interval = body.get("interval", "day")
    zone = ZoneInfo(body.get("timezone", "UTC"))
    count = len(periods(body, interval))
    scoped = world.scope(body)
    series = []
    for spec in body["series"]:
        test = world.matcher(spec)
        active: dict[str, set[Any]] = defaultdict(set)
        for e in scoped:
            if test(e):
                active[e.user_id].add(period_of(e.ts, interval, zone))
        per_count = Counter(len(p) for p in active.values())
        series.append([per_count.get(n, 0) for n in range(1, count + 1)])
    return {"intervals": count, "series": series}


def lifecycle(world: World, body: dict[str, Any]) -> dict[str, list[int]]:
    interval = body.get("interval", "day")
    zone = ZoneInfo(body.get("timezone", "UTC"))
    first, last = date.fromisoformat(body["from"]), date.fromisoformat(body["to"])
    test = world.matcher(body.get("activity"))
    if interval == "hour":
        labels = hour_periods(first - timedelta(days=1), last, zone)
        start = next(i for i, h in enumerate(labels) if h.startswith(first.isoformat()))
        labels = labels[start - 1 :]
        end_day = last
    else:
        labels = date_periods(interval, first, last)
        previous = date.fromisoformat(labels[0])
        previous = {
            "week": previous - timedelta(weeks=1),
            "month": (previous - timedelta(days=1)).replace(day=1),
        }.get(interval, previous - timedelta(days=1))
        labels.insert(0, previous.isoformat())
        end_day = _next(interval, date.fromisoformat(labels[-1])) - timedelta(days=1)
    history = [e for e in world.history(body) if test(e) and e.ts.astimezone(zone).date() <= end_day]
    first_seen: dict[str, Any] = {}
    active: dict[str, set[Any]] = defaultdict(set)
    for e in history:  # sorted by time
        period = period_of(e.ts, interval, zone)
        first_seen.setdefault(e.user_id, period)
        active[e.user_id].add(period)
    answer = {status: [0] * (len(labels) - 1) for status in ("new", "returning", "resurrecting", "dormant")}
    for who, periods_active in active.items():
        for i in range(1, len(labels)):
            now, before = labels[i] in periods_active, labels[i - 1] in periods_active
            if now and first_seen[who] == labels[i]:
                answer["new"][i - 1] += 1
            elif now and before:
                answer["returning"][i - 1] += 1
            elif now:
                answer["resurrecting"][i - 1] += 1
            elif before:
                answer["dormant"][i - 1] += 1
    return answer


def retention(world: World, body: dict[str, Any]) -> list[list[int | None]]:
    period = body.get("period", "week")
    zone = ZoneInfo(body.get("timezone", "UTC"))
    after = body.get("periods", 8)
    first, last = date.fromisoformat(body["from"]), date.fromisoformat(body["to"])
    labels = date_periods(period, first, last)
    index = {label: i for i, label in enumerate(labels)}
    end_day = _next(period, date.fromisoformat(labels[-1])) - timedelta(days=1)
    start_test, return_test = world.matcher(body.get("start_event")), world.matcher(body.get("return_event"))
    history = [e for e in world.history(body) if e.ts.astimezone(zone).date() <= end_day]
    in_range = [e for e in history if date.fromisoformat(labels[0]) <= e.ts.astimezone(zone).date()]
    cohorts: dict[int, set[str]] = defaultdict(set)
    if body.get("retention_type", "first_time") == "first_time":
        firsts: dict[str, Any] = {}
        for e in history:
            if start_test(e):
                firsts.setdefault(e.user_id, period_of(e.ts, period, zone))
        for who, p in firsts.items():
            if p in index:
                cohorts[index[p]].add(who)
    else:
        for e in in_range:
            if start_test(e):
                cohorts[index[period_of(e.ts, period, zone)]].add(e.user_id)
    returns: dict[str, set[int]] = defaultdict(set)
    for e in in_range:
        if return_test(e):
            returns[e.user_id].add(index[period_of(e.ts, period, zone)])
    table = []
    for c in range(len(labels)):
        members = cohorts.get(c, set())
        row: list[int | None] = [len(members)]
        for k in range(1, after + 1):
            row.append(sum(1 for who in members if c + k in returns[who]) if c + k < len(labels) else None)
        table.append(row)
    return table
