"""What the evidence says, per intent: the warehouse's events with the habits graph's context.

With a graph: a geo point the event does not name is named after the nearest mined ``Location``
(within ``NEAR_M``); meetings are the warehouse's events and the graph's ``MET`` relationships (one
per event: the same event in both is one meeting, with both as its sources), the person's name from
the event, else from the graph; habits and routines are the graph's. Without one: places are named
by the events or shown as coordinates, meetings are the warehouse's, and habits and routines are
mined from the warehouse for the question, as ``GET /api/v1/stream/patterns`` does.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from eventlens.memory.clock import local_times
from eventlens.memory.intents import MEAL_HOURS
from eventlens.memory.models import Evidence
from eventlens.memory.question import ParsedQuestion
from eventlens.memory.retrieval import EPOCH, Window, doings, met_events, purchases, visits
from eventlens.mining.graph import GraphStore
from eventlens.mining.patterns import Habit, Place, Routine
from eventlens.settings import Settings
from eventlens.warehouse import Warehouse

NEAR_M = 300.0  # a point this close to a mined place's centre is at that place
TOP_PEOPLE = 3  # whom one meets most: the first three, and whoever ties with the third
_EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class PlaceVisit:
    name: str
    first: datetime
    last: datetime
    named_by: str  # "event", "graph" or "coordinates"


@dataclass(frozen=True)
class Meeting:
    event_id: str
    at: datetime
    person_id: str
    name: str


@dataclass(frozen=True)
class Doing:
    kind: str  # activity or health
    name: str
    value: Decimal | None
    at: datetime


@dataclass
class Findings:
    """What was found for one question, and the evidence it rests on (in time order)."""

    evidence: list[Evidence] = field(default_factory=list)
    # where: the places of each local day, in order of arrival
    days: dict[date, list[PlaceVisit]] = field(default_factory=dict)
    # meet: the meetings; top_people: how often each person was met (most first)
    meetings: list[Meeting] = field(default_factory=list)
    ranking: list[tuple[str, int]] = field(default_factory=list)
    # spend: the sums by currency ("" when the events name none) and how many purchases
    sums: dict[str, Decimal] = field(default_factory=dict)
    purchases: int = 0
    # habits
    habits: list[Habit] = field(default_factory=list)
    routines: list[Routine] = field(default_factory=list)
    # activity: activities and health measurements
    doings: list[Doing] = field(default_factory=list)


@dataclass(frozen=True)
class Sources:
    """Where the answer's facts come from: the warehouse always; the habits graph when configured."""

    warehouse: Warehouse
    graph: GraphStore | None
    settings: Settings


def gather(sources: Sources, parsed: ParsedQuestion, window: Window, now: datetime) -> Findings:
    """The findings for ``parsed`` in ``window``."""
    gatherers = {
        "where": _where,
        "meet": _meet,
        "top_people": _top_people,
        "spend": _spend,
        "habits": _habits,
        "activity": _activity,
    }
    gatherer = gatherers.get(parsed.intent)
    if gatherer is None:
        return Findings()
    return gatherer(sources, parsed, window, now)


def _where(sources: Sources, parsed: ParsedQuestion, window: Window, now: datetime) -> Findings:
    """Each local day's visits: runs of points at one place (named by the event, else by the nearest
    mined place, else by the coordinates of the first point of a place within ``NEAR_M``)."""
    found = Findings()
    rows = visits(sources.warehouse, window)
    places = _mined_places(sources, window) if any(not row.place for row in rows) else []
    used: dict[str, Place] = {}
    spots: list[Place] = []  # unnamed places seen, with no mined place near: named by coordinates
    for row in rows:
        name, named_by = row.place, "event"
        if not name:
            nearest = _nearest(places, row.lat, row.lon)
            if nearest is not None:
                name, named_by = nearest.name, "graph"
                used[nearest.key] = nearest
            else:
                name, named_by = _spot(spots, row.lat, row.lon), "coordinates"
        runs = found.days.setdefault(row.day, [])
        if runs and runs[-1].name == name:
            runs[-1] = PlaceVisit(name, runs[-1].first, max(runs[-1].last, row.last), named_by)
        else:
            runs.append(PlaceVisit(name, row.first, row.last, named_by))
        facts = {"place": name, "named_by": named_by, "lat": row.lat, "lon": row.lon, "points": row.points}
        found.evidence.append(
            Evidence(
                id=row.event_id,
                kind="geo",
                at=row.first,
                sources=["warehouse"],
                facts=facts | {"until": row.last.isoformat()},
            )
        )
    found.evidence += [_location_evidence(place) for place in used.values()]
    return found


def _spot(spots: list[Place], lat: float, lon: float) -> str:
    """The name of the unnamed place within ``NEAR_M`` of a point: its first point's coordinates."""
    nearest = _nearest(spots, lat, lon)
    if nearest is None:
        name = f"{lat:.4f}, {lon:.4f}"
        nearest = Place(key=name, name=name, lat=lat, lon=lon, visits=0)
        spots.append(nearest)
    return nearest.name


def _mined_places(sources: Sources, window: Window) -> list[Place]:
    if sources.graph is None:
        return []
    return sources.graph.places(window.project_id, window.user_id)


def _nearest(places: list[Place], lat: float, lon: float) -> Place | None:
    best: tuple[float, Place] | None = None
    for place in places:
        distance = _haversine_m(lat, lon, place.lat, place.lon)
        if distance <= NEAR_M and (best is None or distance < best[0]):
            best = (distance, place)
    return best[1] if best else None


def _haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _location_evidence(place: Place) -> Evidence:
    return Evidence(
        id=place.key,
        kind="Location",
        at=None,
        sources=["graph"],
        facts={"name": place.name, "lat": place.lat, "lon": place.lon, "visits": place.visits},
    )


def _meetings(sources: Sources, window: Window) -> tuple[list[Meeting], list[Evidence]]:
    """The meetings in ``window``: the warehouse's and the graph's, one per event."""
    by_event: dict[str, dict[str, Any]] = {
        event.event_id: {
            "at": event.at,
            "person_id": event.person_id,
            "name": event.name,
            "meal": event.meal,
            "sources": ["warehouse"],
        }
        for event in met_events(sources.warehouse, window)
    }
    if sources.graph is not None:
        kept = sources.graph.meetings(window.project_id, window.user_id, window.start or EPOCH, window.end)
        only_in_graph = []
        for met in kept:
            seen = by_event.get(met.event_id)
            if seen is None:
                only_in_graph.append(met)
                continue
            seen["sources"].append("graph")
            seen["name"] = seen["name"] or met.name
        # The graph keeps instants: shown in the person's timezone, at the offset in force then.
        shown = local_times(sources.warehouse, window.timezone, [met.at for met in only_in_graph])
        for met, at in zip(only_in_graph, shown, strict=True):
            by_event[met.event_id] = {
                "at": at,
                "person_id": met.person_id,
                "name": met.name,
                "meal": None,
                "sources": ["graph"],
            }
    meetings = []
    evidence = []
    for event_id, seen in sorted(by_event.items(), key=lambda item: (item[1]["at"], item[0])):
        name = seen["name"] or seen["person_id"]
        meetings.append(Meeting(event_id, seen["at"], seen["person_id"], name))
        evidence.append(
            Evidence(
                id=event_id,
                kind="social" if "warehouse" in seen["sources"] else "MET",
                at=seen["at"],
                sources=seen["sources"],
                facts={"action": "meet", "person_id": seen["person_id"], "name": name}
                | ({"meal": seen["meal"]} if seen["meal"] else {}),
            )
        )
    return meetings, evidence


def _meet(sources: Sources, parsed: ParsedQuestion, window: Window, now: datetime) -> Findings:
    found = Findings()
    meetings, evidence = _meetings(sources, window)
    for meeting, item in zip(meetings, evidence, strict=True):
        if parsed.meal and not _at_meal(parsed.meal, meeting.at, item.facts.get("meal")):
            continue
        found.meetings.append(meeting)
        found.evidence.append(item)
    return found


def _at_meal(meal: str, at: datetime, named: str | None) -> bool:
    """Whether a meeting was at ``meal``: as its event says, else by the local hour."""
    if named:
        return named == meal
    first, until = MEAL_HOURS[meal]
    return first <= at.hour < until


def _top_people(sources: Sources, parsed: ParsedQuestion, window: Window, now: datetime) -> Findings:
    found = Findings()
    meetings, evidence = _meetings(sources, window)
    counts: dict[str, int] = defaultdict(int)
    names: dict[str, str] = {}
    for meeting in meetings:
        counts[meeting.person_id] += 1
        names.setdefault(meeting.person_id, meeting.name)
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], names[pair[0]]))
    if len(ranked) > TOP_PEOPLE:
        least = ranked[TOP_PEOPLE - 1][1]
        ranked = [pair for pair in ranked if pair[1] >= least]
    chosen = {person for person, _ in ranked}
    found.ranking = [(names[person], count) for person, count in ranked]
    found.meetings = [meeting for meeting in meetings if meeting.person_id in chosen]
    found.evidence = [item for item in evidence if item.facts["person_id"] in chosen]
    return found


def _spend(sources: Sources, parsed: ParsedQuestion, window: Window, now: datetime) -> Findings:
    found = Findings()
    terms = parsed.topic.terms if parsed.topic else ()
    for purchase in purchases(sources.warehouse, window, terms):
        currency = purchase.currency or ""
        found.sums[currency] = found.sums.get(currency, Decimal(0)) + purchase.amount
        found.purchases += 1
        found.evidence.append(
            Evidence(
                id=purchase.event_id,
                kind="purchase",
                at=purchase.at,
                sources=["warehouse"],
                facts={
                    "item": purchase.item,
                    "place": purchase.place,
                    "amount": str(purchase.amount),
                    "currency": purchase.currency,
                }
                | ({"category": purchase.category} if purchase.category else {}),
            )
        )
    return found


def _habits(sources: Sources, parsed: ParsedQuestion, window: Window, now: datetime) -> Findings:
    from eventlens.mining.miner import mine_user

    found = Findings()
    if sources.graph is not None:
        patterns = sources.graph.patterns(window.project_id, window.user_id)
    else:
        patterns = mine_user(sources.warehouse, window.project_id, window.user_id, sources.settings, now)
    source: Literal["graph", "warehouse"] = "graph" if sources.graph is not None else "warehouse"
    found.habits = list(patterns.habits)
    found.routines = list(patterns.routines)
    mined = [patterns.discovered_at] if patterns.discovered_at else []
    at = next(iter(local_times(sources.warehouse, window.timezone, mined)), None)
    for habit in found.habits:
        facts = habit.model_dump(exclude={"key"})
        found.evidence.append(Evidence(id=habit.key, kind="Habit", at=at, sources=[source], facts=facts))
    for routine in found.routines:
        facts = routine.model_dump(exclude={"key"})
        found.evidence.append(Evidence(id=routine.key, kind="Routine", at=at, sources=[source], facts=facts))
    return found


def _activity(sources: Sources, parsed: ParsedQuestion, window: Window, now: datetime) -> Findings:
    found = Findings()
    for doing in doings(sources.warehouse, window):
        found.doings.append(Doing(doing.kind, doing.name, doing.value, doing.at))
        value = str(doing.value) if doing.value is not None else None
        facts = (
            {"activity": doing.name, "duration_minutes": value}
            if doing.kind == "activity"
            else {"metric": doing.name, "value": value}
        )
        found.evidence.append(
            Evidence(id=doing.event_id, kind=doing.kind, at=doing.at, sources=["warehouse"], facts=facts)
        )
    return found
