"""Persons and the reports' figures computed again in plain Python from the distinct events, from the
rules the docs give (identity, person_properties, reports), for the tests to compare with the warehouse.

Nothing here imports eventlens: the pairs are read from the events' properties, the persons are a
union-find over them, and every figure counts persons.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

# Ids that never merge (what PostHog refuses), compared lower-cased.
ILLEGAL = {
    "anonymous",
    "guest",
    "distinctid",
    "distinct_id",
    "id",
    "not_authenticated",
    "email",
    "undefined",
    "true",
    "false",
    "null",
    "none",
    "nan",
    "0",
    "[object object]",
}
MERGING_TYPES = ("$create_alias", "$merge_dangerously")


@dataclass(frozen=True)
class Event:
    event_id: str
    user_id: str
    type: str
    ts: datetime  # UTC, whole milliseconds
    source: str
    properties: dict[str, Any] = field(hash=False, compare=False)

    @property
    def day(self) -> date:
        return self.ts.date()

    def envelope(self) -> dict[str, Any]:
        """The event as POST /v1/events takes it."""
        return {
            "event_id": self.event_id,
            "user_id": self.user_id,
            "type": self.type,
            "timestamp": self.ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "source": self.source,
            "properties": self.properties,
        }


def pairs(event: Event) -> list[tuple[str, str]]:
    """The distinct ids an event says are one person (with its own id)."""
    if event.user_id.lower() in ILLEGAL:
        return []
    props = event.properties
    others = [props.get("$anonymous_id"), props.get("$anon_distinct_id")]
    if event.type in MERGING_TYPES:
        others += [props.get("$previous_id"), props.get("alias")]
    return [
        (event.user_id, other)
        for other in others
        if isinstance(other, str) and other and other != event.user_id and other.lower() not in ILLEGAL
    ]


class Persons:
    """A union-find over the pairs; a person is named by the smallest id of its component."""

    def __init__(self, events: Iterable[Event]) -> None:
        self.parent: dict[str, str] = {}
        for event in events:
            self.find(event.user_id)
            for a, b in pairs(event):
                self.union(a, b)

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def of(self, x: str) -> str:
        return self.find(x)

    def merged(self) -> dict[str, str]:
        """Every id of a person with more than one id → that person."""
        groups: dict[str, list[str]] = defaultdict(list)
        for x in list(self.parent):
            groups[self.find(x)].append(x)
        return {x: min(ids) for ids in groups.values() if len(ids) > 1 for x in ids}


# --- segments -------------------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _lookup(document: Any, path: list[str]) -> Any:
    for key in path:
        if not isinstance(document, dict) or key not in document:
            return None
        document = document[key]
    return document


def person_property(events: list[Event], persons: Persons, path: list[str]) -> dict[str, Any]:
    """Each person's property at ``path``: the latest $set of its first key (ties: greater JSON), else
    the first $set_once (ties: smaller JSON), else the value on their latest event carrying it."""
    first, rest = path[0], path[1:]
    said: dict[str, tuple[datetime, str, Any]] = {}
    once: dict[str, tuple[datetime, str, Any]] = {}
    seen: dict[str, tuple[datetime, str, Any]] = {}
    for event in events:
        person = persons.of(event.user_id)
        for kind, table, later in (("$set", said, True), ("$set_once", once, False)):
            values = event.properties.get(kind)
            if isinstance(values, dict) and first in values:
                candidate = (event.ts, json.dumps(values[first], separators=(",", ":")), values[first])
                held = table.get(person)
                if held is None or (candidate[:2] > held[:2] if later else candidate[:2] < held[:2]):
                    table[person] = candidate
        if _has(event.properties, path):
            value = _lookup(event.properties, path)
            candidate = (event.ts, json.dumps(value, separators=(",", ":")), value)
            if person not in seen or candidate[:2] > seen[person][:2]:
                seen[person] = candidate
    answer: dict[str, Any] = {}
    for person in set(said) | set(once) | set(seen):
        if person in said or person in once:
            value = (said.get(person) or once[person])[2]
            if rest:
                if not _has(value, rest):
                    continue
                value = _lookup(value, rest)
            answer[person] = value
        else:
            answer[person] = seen[person][2]
    return answer


def _has(document: Any, path: list[str]) -> bool:
    for key in path:
        if not isinstance(document, dict) or key not in document:
            return False
        document = document[key]
    return True


COLUMNS = {"event_type": "type", "type": "type", "source": "source", "user_id": "user_id"}


def select(events: list[Event], persons: Persons, segment: str | None) -> list[Event]:
    """The events a reports' segment keeps (``column:value``, ``properties.k:v``, ``person.k:v``; person
    properties are the persons', over all of ``events``)."""
    history = events
    for part in (segment or "").split(","):
        if not part:
            continue
        name, value = part.split(":", 1)
        head, *path = name.split(".")
        if head == "properties":
            events = [e for e in events if _text(_lookup(e.properties, path)) == value]
        elif head == "person":
            values = person_property(history, persons, path)
            keep = {p for p, v in values.items() if _text(v) == value}
            events = [e for e in events if persons.of(e.user_id) in keep]
        else:
            events = [e for e in events if getattr(e, COLUMNS[head]) == value]
    return events


# --- the reports ----------------------------------------------------------------------------------------


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def period_start(period: str, day: date) -> date:
    return {"day": day, "week": monday(day), "month": day.replace(day=1)}[period]


def period_starts(period: str, start: date, end: date) -> list[date]:
    out: list[date] = []
    day = start
    while day <= end:
        first = period_start(period, day)
        if first not in out:
            out.append(first)
        day += timedelta(days=1)
    return out


def active_persons(events: list[Event], persons: Persons, period: str, start: date, end: date) -> list[int]:
    """Distinct persons per period (whole periods overlapping start–end), in order."""
    starts = period_starts(period, start, end)
    active: dict[date, set[str]] = defaultdict(set)
    for event in events:
        active[period_start(period, event.day)].add(persons.of(event.user_id))
    return [len(active.get(first, ())) for first in starts]


def retention(
    events: list[Event], persons: Persons, start: date, windows: int, end: date
) -> list[dict[str, Any]]:
    """Weekly cohorts by each person's first event (any of their ids), as reports.retention defines."""
    weeks: dict[str, set[date]] = defaultdict(set)
    for event in events:
        weeks[persons.of(event.user_id)].add(monday(event.day))
    first = start + timedelta(days=(7 - start.weekday()) % 7)
    last = monday(end)
    cohorts: dict[date, list[str]] = defaultdict(list)
    for person, active in weeks.items():
        cohorts[min(active)].append(person)
    rows = []
    cohort = first
    while cohort <= last:
        members = cohorts.get(cohort, [])
        if members:
            row: dict[str, Any] = {"cohort_week": cohort.isoformat(), "week_0": len(members)}
            for k in range(1, windows + 1):
                week = cohort + timedelta(weeks=k)
                here = sum(1 for p in members if week in weeks[p])
                row[f"week_{k}"] = round(100 * here / len(members), 2) if week <= last else None
            rows.append(row)
        cohort += timedelta(weeks=1)
    return rows


def viewing(events: list[Event], persons: Persons, days: int, today: date) -> dict[str, Any]:
    """Popular content, daily trends and peak hours, viewers counted as persons."""
    since = today - timedelta(days=days)
    watched = [e for e in events if e.source == "viewing" and e.day >= since]
    movies: dict[str, dict[str, Any]] = defaultdict(lambda: {"starts": 0, "finishes": 0, "viewers": set()})
    for e in watched:
        if e.type in ("start", "progress", "finish"):
            movie = movies[str(e.properties.get("movie_id", ""))]
            movie["starts"] += e.type == "start"
            movie["finishes"] += e.type == "finish"
            movie["viewers"].add(persons.of(e.user_id))
    popular = sorted(
        (
            {
                "movie_id": m,
                "total_views": v["starts"],
                "unique_viewers": len(v["viewers"]),
                "completion_rate": round(v["finishes"] / v["starts"] * 100, 2),
            }
            for m, v in movies.items()
            if v["starts"] > 0
        ),
        key=lambda row: (-row["total_views"], row["movie_id"]),
    )
    trend_days = [since + timedelta(days=i) for i in range(days + 1)]
    trends = []
    for day in trend_days:
        on = [e for e in watched if e.day == day]
        starts = sum(e.type == "start" for e in on)
        finishes = sum(e.type == "finish" for e in on)
        trends.append(
            {
                "date": day.isoformat(),
                "total_views": starts,
                "unique_viewers": len({persons.of(e.user_id) for e in on}),
                "completed_views": finishes,
                "completion_rate": round(finishes / starts * 100, 2) if starts else 0.0,
            }
        )
    hours: dict[int, list[Event]] = defaultdict(list)
    for e in watched:
        hours[e.ts.hour].append(e)
    peak = sorted(
        (
            {"hour": h, "events_count": len(es), "unique_users": len({persons.of(e.user_id) for e in es})}
            for h, es in hours.items()
        ),
        key=lambda row: (-row["events_count"], row["hour"]),
    )
    return {"popular": popular, "trends": trends, "peak": peak}


def group_members(events: list[Event], persons: Persons) -> dict[str, set[tuple[str, str]]]:
    """Each person's groups: those of their group calls (not PostHog's own $group_… ids) and of their
    events' $groups."""
    members: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for e in events:
        props = e.properties
        if e.type == "$groupidentify" and not e.user_id.startswith("$group_"):
            kind = props.get("$group_type", "group")
            key = props["$group_key"] if "$group_key" in props else props.get("$group_id")
            if isinstance(key, str) and key:
                members[persons.of(e.user_id)].add((kind, key))
        groups = props.get("$groups")
        if isinstance(groups, dict):
            for kind, key in groups.items():
                if isinstance(key, str) and key:
                    members[persons.of(e.user_id)].add((kind, key))
    return members


def active_groups(
    events: list[Event], persons: Persons, group_type: str, period: str, start: date, end: date
) -> list[int]:
    """Distinct groups of ``group_type`` with a member person active, per period."""
    members = group_members(events, persons)
    active: dict[date, set[str]] = defaultdict(set)
    for e in events:
        for kind, key in members.get(persons.of(e.user_id), ()):
            if kind == group_type:
                active[period_start(period, e.day)].add(key)
    return [len(active.get(first, ())) for first in period_starts(period, start, end)]
