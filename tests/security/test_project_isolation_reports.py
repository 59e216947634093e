"""Isolation through the data (issue 10 §2) on every report route: two projects in one warehouse hold
the same user ids and the same client event ids, but different events, and each project's secret key
reads its own project's figures only.

The events go in through the ingest handler (each project's write key) and are stored by the consume
function from the one queue both share. Each route is then asked through the report handler with
each project's secret key, and its answer is compared with what that project's own events give,
computed here in plain Python. The projects differ in every count, and the second one's users started
weeks earlier, so a query that forgot its project anywhere (a rollup, a subquery, a join) answers
with figures of both. A person of one project asked for with the other's key gets, to the byte, what
a person of neither gets.
"""

from __future__ import annotations

import ast
import inspect
import json
import math
import random
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from statistics import fmean
from types import ModuleType
from typing import Any, get_type_hints
from urllib.parse import parse_qsl, urlencode

import pyarrow as pa
import pytest

from eventlens.api import access, lifestream_routes, report_routes, telemetry_routes, viewing_routes
from eventlens.components import Components
from eventlens.keys import DEFAULT_PROJECT
from eventlens.manifest import load_manifest
from eventlens.msk import event_from_records
from eventlens.queue import EmbeddedQueue
from eventlens.reports import activity, groups, lifestream, retention, telemetry, viewing
from eventlens_tools.local.invoke import LocalFunction
from tests.conftest import (
    OTHER_PROJECT,
    OTHER_SECRET_KEY,
    OTHER_WRITE_KEY,
    TEST_SECRET_KEY,
    TEST_WRITE_KEY,
    hand,
    http_event,
    isolated_settings,
    load_event,
    opened_components,
)

NOW = datetime.now(UTC).replace(microsecond=0)
TODAY = NOW.date()

SHARED = [f"u{i}" for i in range(1, 9)]  # user ids both projects have (different people in each)
ONLY_DEFAULT = "only-in-default"
ONLY_OTHER = "only-in-other"
NOBODY = "nobody-anywhere"  # a user of neither project
# The Reports Backend's users are numbers, in each project's CRM.
TELEMETRY_SHARED = 900001
TELEMETRY_ONLY_DEFAULT = 900002
TELEMETRY_ONLY_OTHER = 900003
TELEMETRY_NOBODY = 900009
KEYS = {DEFAULT_PROJECT: TEST_SECRET_KEY, OTHER_PROJECT: OTHER_SECRET_KEY}
WRITE_KEYS = {DEFAULT_PROJECT: TEST_WRITE_KEY, OTHER_PROJECT: OTHER_WRITE_KEY}
# The client's event ids: the i-th event of a family has the same id in both projects.
_IDS = uuid.UUID("5d1f6a2e-7c3b-4e1a-9f0d-2b6c8e4a1f37")

GENERIC_TYPES = ["page_view", "click", "purchase", "signup", "search"]
COUNTRIES = ["UA", "PL", "DE"]
MOVIES = ["m1", "m2", "m3", "m4", "m5"]
PLACES = [(50.45, 30.523), (49.842, 24.031), (46.482, 30.723), (50.004, 36.231)]


@dataclass(frozen=True)
class Plan:
    """What a project's events are made of; the two projects' plans differ in every count."""

    seed: int
    users: list[str]  # of the generic events
    generic: int
    generic_days: int
    early: list[str]  # users with one more event 36-38 days back (their first)
    viewers: list[str]
    sessions: int
    lifers: list[str]  # Life Stream users
    life_events: int  # fewer than 60: each has a second of its own (see _events)
    telemetry: dict[int, int]  # CRM user id → telemetry events
    crm: dict[int, tuple[str, str]]  # CRM user id → name, email


PLANS = {
    DEFAULT_PROJECT: Plan(
        seed=1,
        users=SHARED[:6] + [ONLY_DEFAULT],
        generic=90,
        generic_days=28,
        early=[],
        viewers=["u1", "u2", "u3", ONLY_DEFAULT],
        sessions=12,
        lifers=["u1", "u2", ONLY_DEFAULT],
        life_events=24,
        telemetry={TELEMETRY_SHARED: 6, TELEMETRY_ONLY_DEFAULT: 3},
        crm={
            TELEMETRY_SHARED: ("Ann Default", "ann@default.example"),
            TELEMETRY_ONLY_DEFAULT: ("Dan Default", "dan@default.example"),
        },
    ),
    OTHER_PROJECT: Plan(
        seed=2,
        users=SHARED + [ONLY_OTHER],
        generic=140,
        generic_days=35,
        early=SHARED[:6],
        viewers=["u2", "u3", "u4", "u5", ONLY_OTHER],
        sessions=18,
        lifers=["u1", "u2", ONLY_OTHER],
        life_events=45,
        telemetry={TELEMETRY_SHARED: 9, TELEMETRY_ONLY_OTHER: 5},
        crm={
            TELEMETRY_SHARED: ("Bob Other", "bob@other.example"),
            TELEMETRY_ONLY_OTHER: ("Cid Other", "cid@other.example"),
        },
    ),
}


@dataclass(frozen=True)
class Sent:
    """One event as sent, parsed for the expected figures."""

    event_id: str
    user: str
    type: str
    source: str
    ts: datetime
    props: dict[str, Any]

    @property
    def day(self) -> date:
        return self.ts.date()


def _events(plan: Plan) -> list[dict[str, Any]]:
    """A project's events: generic ones over weeks, viewing sessions of the last days, Life Stream
    events of the last weeks, telemetry signals; ids by family and position."""
    rng = random.Random(plan.seed)
    events: list[dict[str, Any]] = []

    def add(family: str, i: int, user: str | int, kind: str, source: str, at: datetime, props: dict) -> None:
        event_id = str(uuid.uuid5(_IDS, f"{family}-{i}"))
        events.append(
            {
                "event_id": event_id,
                "user_id": user,
                "type": kind,
                "source": source,
                "timestamp": at.isoformat(),
                "properties": props,
            }
        )

    def back(days: int) -> timedelta:
        return timedelta(days=rng.randrange(days), hours=rng.randrange(24), minutes=rng.randrange(60))

    for i in range(plan.generic):
        props: dict[str, Any] = {"country": rng.choice(COUNTRIES), "plan": rng.choice(["free", "pro"])}
        if i % 4 == 0:  # a PostHog-style group of the sender (GET /stats/groups)
            props["$groups"] = {"company": f"{plan.seed}-c{i % 3}"}
        user = plan.users[i % len(plan.users)]
        add("generic", i, user, rng.choice(GENERIC_TYPES), "generic", NOW - back(plan.generic_days), props)
    for i, user in enumerate(plan.early):
        at = NOW - timedelta(days=36 + i % 3, hours=rng.randrange(24))
        add("early", i, user, "signup", "generic", at, {"country": "UA", "plan": "free"})
    n = 0
    for s in range(plan.sessions):
        movie, session = rng.choice(MOVIES), rng.choice([f"s{s}", None])
        begin = NOW - timedelta(days=rng.randrange(6), hours=1 + rng.randrange(20), minutes=rng.randrange(60))
        steps = [("start", 0), ("progress", rng.randrange(60, 3000))]
        if rng.random() < 0.6:
            steps.append(("finish", steps[-1][1] + rng.randrange(1, 600)))
        for k, (kind, position) in enumerate(steps):
            props = {"movie_id": movie, "position_seconds": position}
            if session:  # without one, the movie is the session
                props["session_id"] = session
            add(
                "viewing",
                n,
                plan.viewers[s % len(plan.viewers)],
                kind,
                "viewing",
                begin + k * timedelta(minutes=20),
                props,
            )
            n += 1
    assert plan.life_events < 60
    for i in range(plan.life_events):
        kind = rng.choice(["geo", "purchase", "social", "activity", "health"])
        # A second of its own: no two Life Stream events of a user at the same moment.
        at = NOW - timedelta(
            days=rng.randrange(20), hours=rng.randrange(24), minutes=rng.randrange(60), seconds=i
        )
        add("life", i, plan.lifers[i % len(plan.lifers)], kind, "lifestream", at, _life_properties(rng, kind))
    n = 0
    for crm_user, count in plan.telemetry.items():
        for _ in range(count):
            props = {
                "prosthesis_type": rng.choice(["hand", "leg", "arm"]),
                "muscle_group": rng.choice(["forearm", "thigh"]),
                "signal_frequency": rng.choice([150, 175, 200]),
                "signal_duration": rng.choice([800, 1200, 1500]),
                "signal_amplitude": rng.choice([1.25, 2.5, 3.75]),
            }
            add("telemetry", n, crm_user, "signal", "telemetry", NOW - back(25), props)
            n += 1
    return events


def _life_properties(rng: random.Random, kind: str) -> dict[str, Any]:
    if kind == "geo":
        lat, lon = rng.choice(PLACES)
        return {"lat": lat, "lon": lon}
    if kind == "purchase":
        props: dict[str, Any] = {"item": rng.choice(["coffee", "book", "bread"])}
        props["amount"] = rng.choice([2.5, 4.25, 12.0, 7.75])
        place = rng.choice(["Cafe", "Shop", ""])
        return {**props, "place": place} if place else props
    if kind == "social":
        person = rng.choice(["p1", "p2", "p3", ""])
        props = {"action": rng.choice(["met", "called", "texted"])}
        return {**props, "person_id": person} if person else props
    if kind == "activity":
        return {
            "activity": rng.choice(["run", "walk", "swim"]),
            "duration_minutes": rng.choice([15.0, 30.0, 45.5]),
        }
    return {"metric": rng.choice(["pulse", "steps"]), "value": rng.choice([60.0, 72.0, 80.5, 1000.0])}


def _parsed(events: list[dict[str, Any]]) -> list[Sent]:
    return [
        Sent(
            event_id=e["event_id"],
            user=str(e["user_id"]),
            type=e["type"],
            source=e["source"],
            ts=datetime.fromisoformat(e["timestamp"]),
            props=e["properties"],
        )
        for e in events
    ]


# --- The world: both projects' events stored through the real path --------------------------------


@dataclass
class World:
    components: Components
    events: dict[str, list[Sent]]  # per project, as sent


def _ingest(functions: dict[str, LocalFunction], key: str, events: list[dict[str, Any]]) -> None:
    response = functions["ingest"].invoke(http_event("ingest_v1_events.json", {"events": events}, key=key))
    body = json.loads(response["body"])
    assert response["statusCode"] == 202 and body["accepted"] == len(events), body


def _consume(functions: dict[str, LocalFunction], components: Components) -> None:
    settings = components.settings
    reader = EmbeddedQueue(settings.queue_path, settings.kafka_topic).reader("isolation-test")
    while records := reader.poll(max_records=500, timeout_s=0):
        assert functions["consume"].invoke(event_from_records(records))["batchItemFailures"] == []
        reader.commit(records)


def _load_crm(components: Components) -> None:
    """The CRM users of both projects, as the Reports Backend's importer leaves them: the same user id
    in both, a different person in each."""
    rows = [(project, user, who) for project, plan in PLANS.items() for user, who in plan.crm.items()]
    registered = pa.array([NOW - timedelta(days=400)] * len(rows), pa.timestamp("s", tz="UTC"))
    components.warehouse.insert_arrow(
        "users",
        pa.table(
            {
                "project_id": [project for project, _, _ in rows],
                "user_id": pa.array([user for _, user, _ in rows], pa.int64()),
                "user_uuid": [str(uuid.uuid5(_IDS, f"{p}-{u}")) for p, u, _ in rows],
                "name": [name for _, _, (name, _) in rows],
                "email": [email for _, _, (_, email) in rows],
                "registration_ts": registered,
                "registered_at": registered,
            }
        ),
    )


@pytest.fixture(scope="module")
def stored(
    chdb_dir: Path, tmp_path_factory: pytest.TempPathFactory, functions: dict[str, LocalFunction]
) -> Iterator[World]:
    """Both projects' events, stored through ingest and consume, and their CRM users; the database is
    dropped and the components closed afterwards."""
    settings = isolated_settings(tmp_path_factory.mktemp("isolation-home"), chdb_dir, prefix="iso")
    with opened_components(settings, serve=functions) as components:
        sent = {project: _events(plan) for project, plan in PLANS.items()}
        ours, theirs = ({e["event_id"] for e in events} for events in sent.values())
        assert len(ours & theirs) > 100  # the same client event ids in both projects
        # Given both projects' events sent with their write keys, interleaved on the one queue
        for start in range(0, max(len(events) for events in sent.values()), 100):
            for project, events in sent.items():
                if chunk := events[start : start + 100]:
                    _ingest(functions, WRITE_KEYS[project], chunk)
        _consume(functions, components)
        _load_crm(components)
        # (every event is stored in its project, the shared event ids in both)
        counts = components.warehouse.query("SELECT project_id, count() AS n FROM events GROUP BY project_id")
        assert {r["project_id"]: r["n"] for r in counts.to_pylist()} == {p: len(e) for p, e in sent.items()}
        yield World(components, {project: _parsed(events) for project, events in sent.items()})


@pytest.fixture
def world(stored: World, functions: dict[str, LocalFunction]) -> World:
    hand(stored.components, functions)  # other tests hand the shared functions their own parts
    return stored


# --- The figures each project's own events give ----------------------------------------------------

Pick = Callable[[Sent], bool]


def _everything(event: Sent) -> bool:
    return True


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _month(day: date) -> date:
    return day.replace(day=1)


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _active(events: list[Sent], pick: Pick, period: Callable[[date], date], starts: list[date]) -> list[int]:
    users: dict[date, set[str]] = defaultdict(set)
    for e in events:
        if pick(e):
            users[period(e.day)].add(e.user)
    return [len(users[first]) for first in starts]


def _dau(events: list[Sent], start: date, end: date, pick: Pick = _everything) -> list[activity.DailyUsers]:
    days = _days(start, end)
    return [
        activity.DailyUsers(date=d, unique_users=n)
        for d, n in zip(days, _active(events, pick, lambda d: d, days), strict=True)
    ]


def _groups(events: list[Sent], start: date, end: date, group_type: str) -> list[groups.ActiveGroups]:
    """Groups of ``group_type`` (events' $groups: {type: key}) with a member active, per day."""
    members: dict[str, set[str]] = {}
    for e in events:
        said = e.props.get("$groups")
        if isinstance(said, dict) and isinstance(said.get(group_type), str):
            members.setdefault(e.user, set()).add(said[group_type])
    active: dict[date, set[str]] = {}
    for e in events:
        active.setdefault(e.day, set()).update(members.get(e.user, set()))
    return [
        groups.ActiveGroups(period_start=d, unique_groups=len(active.get(d, ()))) for d in _days(start, end)
    ]


def _wau(events: list[Sent], start: date, end: date) -> list[activity.WeeklyUsers]:
    weeks = sorted({_monday(d) for d in _days(start, end)})
    return [
        activity.WeeklyUsers(week=w, unique_users=n)
        for w, n in zip(weeks, _active(events, _everything, _monday, weeks), strict=True)
    ]


def _mau(events: list[Sent], start: date, end: date) -> list[activity.MonthlyUsers]:
    months = sorted({_month(d) for d in _days(start, end)})
    return [
        activity.MonthlyUsers(month=m, unique_users=n)
        for m, n in zip(months, _active(events, _everything, _month, months), strict=True)
    ]


def _top(
    events: list[Sent], start: date, end: date, limit: int, pick: Pick = _everything
) -> list[activity.EventCount]:
    counts = Counter(e.type for e in events if start <= e.day <= end and pick(e))
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [activity.EventCount(event_type=t, count=n) for t, n in ranked]


def _retention(
    events: list[Sent], start: date, windows: int, pick: Pick = _everything
) -> list[dict[str, Any]]:
    first = start + timedelta(days=(7 - start.weekday()) % 7)
    last = _monday(TODAY)
    weeks: dict[str, set[date]] = defaultdict(set)
    for e in events:
        if pick(e):
            weeks[e.user].add(_monday(e.day))
    rows = []
    for i in range((last - first).days // 7 + 1):
        cohort = first + timedelta(weeks=i)
        members = [user for user, active in weeks.items() if min(active) == cohort]
        if not members:
            continue
        row: dict[str, Any] = {"cohort_week": cohort.isoformat(), "week_0": len(members)}
        for k in range(1, windows + 1):
            week = cohort + timedelta(weeks=k)
            back = sum(week in weeks[user] for user in members)
            row[f"week_{k}"] = round(100 * back / len(members), 2) if week <= last else None
        rows.append(row)
    return rows


def _viewing(events: list[Sent], days: int) -> list[Sent]:
    since = TODAY - timedelta(days=days)
    return [e for e in events if e.source == "viewing" and e.day >= since]


def _rate(done: int, of: int) -> float:
    return round(done / of * 100, 2) if of else 0.0


def _popular(events: list[Sent], days: int, limit: int) -> viewing.PopularContent:
    per_movie: dict[str, list[Sent]] = defaultdict(list)
    for e in _viewing(events, days):
        per_movie[e.props["movie_id"]].append(e)
    items = []
    for movie, seen in per_movie.items():
        views = sum(e.type == "start" for e in seen)
        finishes = sum(e.type == "finish" for e in seen)
        if views:
            items.append(
                viewing.PopularItem(
                    movie_id=movie,
                    total_views=views,
                    unique_viewers=len({e.user for e in seen}),
                    completion_rate=_rate(finishes, views),
                )
            )
    items = sorted(items, key=lambda item: (-item.total_views, item.movie_id))[:limit]
    return viewing.PopularContent(items=items, period_days=days, total_items=len(items))


def _user_viewing(events: list[Sent], user: str, days: int) -> viewing.UserViewingStats:
    sessions: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])  # starts, finishes, furthest
    for e in _viewing(events, days):
        if e.user == user:
            movie = e.props["movie_id"]
            session = sessions[(e.props.get("session_id") or movie, movie)]
            session[0] += e.type == "start"
            session[1] += e.type == "finish"
            session[2] = max(session[2], e.props["position_seconds"])
    watched: dict[str, int] = defaultdict(int)
    for (_, movie), (_, _, furthest) in sessions.items():
        watched[movie] += furthest
    started = sum(s[0] for s in sessions.values())
    finished = sum(s[1] for s in sessions.values())
    return viewing.UserViewingStats(
        user_id=user,
        movies_started=started,
        movies_finished=finished,
        unique_movies_watched=len(watched),
        total_watch_time_seconds=sum(watched.values()),
        completion_rate=_rate(finished, started),
        period_days=days,
        most_watched_movie_id=min(watched.items(), key=lambda kv: (-kv[1], kv[0]))[0] if watched else None,
    )


def _trends(events: list[Sent], days: int) -> viewing.ViewingTrends:
    by_day: dict[date, list[Sent]] = defaultdict(list)
    for e in _viewing(events, days):
        by_day[e.day].append(e)
    trends = []
    for day in _days(TODAY - timedelta(days=days), TODAY):
        views = sum(e.type == "start" for e in by_day[day])
        finishes = sum(e.type == "finish" for e in by_day[day])
        trends.append(
            viewing.DailyTrend(
                date=day,
                total_views=views,
                unique_viewers=len({e.user for e in by_day[day]}),
                completed_views=finishes,
                completion_rate=_rate(finishes, views),
            )
        )
    return viewing.ViewingTrends(trends=trends, period_days=days)


def _peak_hours(events: list[Sent], days: int) -> viewing.PeakHours:
    by_hour: dict[int, list[Sent]] = defaultdict(list)
    for e in _viewing(events, days):
        by_hour[e.ts.hour].append(e)
    hours = [
        viewing.HourActivity(hour=hour, events_count=len(seen), unique_users=len({e.user for e in seen}))
        for hour, seen in by_hour.items()
    ]
    return viewing.PeakHours(hours=sorted(hours, key=lambda h: (-h.events_count, h.hour)), period_days=days)


def _life(events: list[Sent], user: str) -> list[Sent]:
    return [e for e in events if e.source == "lifestream" and e.user == user]


def _stream_page(events: list[Sent], user: str, limit: int, offset: int) -> lifestream.StreamPage:
    mine = sorted(_life(events, user), key=lambda e: (-e.ts.timestamp(), e.event_id))
    page = mine[offset : offset + limit]
    following = offset + len(page)
    return lifestream.StreamPage(
        user_id=user,
        events=[
            lifestream.StreamEvent(event_id=e.event_id, type=e.type, ts=e.ts, properties=e.props)
            for e in page
        ],
        total=len(mine),
        limit=limit,
        offset=offset,
        next_offset=following if following < len(mine) else None,
    )


def _stream_stats(events: list[Sent], user: str) -> lifestream.StreamStats:
    by_type: dict[str, list[datetime]] = defaultdict(list)
    for e in _life(events, user):
        by_type[e.type].append(e.ts)
    stats = sorted(
        (
            lifestream.TypeStats(type=t, count=len(ts), first=min(ts), last=max(ts))
            for t, ts in by_type.items()
        ),
        key=lambda s: (-s.count, s.type),
    )
    return lifestream.StreamStats(
        user_id=user,
        total_events=sum(s.count for s in stats),
        first_event=min((s.first for s in stats), default=None),
        last_event=max((s.last for s in stats), default=None),
        by_type=stats,
    )


def _cents(amounts: list[float]) -> float:
    return float(round(sum((Decimal(str(a)) for a in amounts), Decimal(0)), 2))


def _spend(purchases: list[Sent], key: str) -> list[lifestream.Spend]:
    groups: dict[str, list[float]] = defaultdict(list)
    for e in purchases:
        if e.props.get(key, ""):
            groups[e.props[key]].append(e.props["amount"])
    spends = [lifestream.Spend(name=name, count=len(a), spent=_cents(a)) for name, a in groups.items()]
    return sorted(spends, key=lambda s: (-s.spent, s.name))[: lifestream.TOP]


def _memory(events: list[Sent], user: str, start: date, end: date) -> lifestream.MemorySummary:
    mine = [e for e in _life(events, user) if start <= e.day <= end]
    of = {
        kind: [e for e in mine if e.type == kind]
        for kind in ("geo", "purchase", "social", "activity", "health")
    }
    visits: dict[tuple[float, float], list[datetime]] = defaultdict(list)
    for e in of["geo"]:
        visits[(round(e.props["lat"], 3), round(e.props["lon"], 3))].append(e.ts)
    places = sorted(
        (
            lifestream.Place(lat=la, lon=lo, visits=len(t), first_visit=min(t), last_visit=max(t))
            for (la, lo), t in visits.items()
        ),
        key=lambda p: (-p.visits, p.lat, p.lon),
    )[: lifestream.TOP]
    met: dict[str, Counter[str]] = defaultdict(Counter)
    for e in of["social"]:
        if e.props.get("person_id"):
            met[e.props["person_id"]][e.props["action"]] += 1
    people = sorted(
        (
            lifestream.Person(person_id=p, interactions=sum(a.values()), actions=dict(a))
            for p, a in met.items()
        ),
        key=lambda p: (-p.interactions, p.person_id),
    )[: lifestream.TOP]
    kinds: dict[str, list[float]] = defaultdict(list)
    for e in of["activity"]:
        kinds[e.props["activity"]].append(e.props["duration_minutes"])
    metrics: dict[str, list[float]] = defaultdict(list)
    for e in of["health"]:
        metrics[e.props["metric"]].append(e.props["value"])
    return lifestream.MemorySummary(
        user_id=user,
        start=start,
        end=end,
        total_events=len(mine),
        events_by_type=dict(Counter(e.type for e in mine)),
        places=places,
        purchases=lifestream.Purchases(
            count=len(of["purchase"]),
            total_spent=_cents([e.props["amount"] for e in of["purchase"]]),
            by_item=_spend(of["purchase"], "item"),
            by_place=_spend(of["purchase"], "place"),
        ),
        people=people,
        activity=lifestream.Activity(
            sessions=len(of["activity"]),
            total_minutes=_cents([e.props["duration_minutes"] for e in of["activity"]]),
            by_activity=sorted(
                (
                    lifestream.ActivityKind(activity=k, sessions=len(m), minutes=_cents(m))
                    for k, m in kinds.items()
                ),
                key=lambda k: (-k.sessions, k.activity),
            ),
        ),
        health=[
            lifestream.HealthMetric(metric=m, count=len(v), avg=round(fmean(v), 2), min=min(v), max=max(v))
            for m, v in sorted(metrics.items())
        ],
    )


def _telemetry(
    events: list[Sent], crm: dict[int, tuple[str, str]], user: int
) -> telemetry.TelemetryReport | None:
    if user not in crm:
        return None  # 404: the project's CRM has no such user
    by_type: dict[str, list[Sent]] = defaultdict(list)
    for e in events:
        if e.source == "telemetry" and e.user == str(user):
            by_type[e.props["prosthesis_type"]].append(e)
    stats = [
        telemetry.ProsthesisStats(
            prosthesis_type=kind,
            events_count=len(seen),
            total_duration=sum(e.props["signal_duration"] for e in seen),
            avg_amplitude=round(fmean(e.props["signal_amplitude"] for e in seen), 2),
            avg_frequency=round(fmean(e.props["signal_frequency"] for e in seen), 2),
        )
        for kind, seen in sorted(by_type.items())
    ]
    name, email = crm[user]
    return telemetry.TelemetryReport(
        user_name=name,
        user_email=email,
        total_events=sum(s.events_count for s in stats),
        total_duration=sum(s.total_duration for s in stats),
        prosthesis_stats=stats,
    )


# --- Asking the report handler ------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    route: str  # the manifest's "METHOD /path/{param}"
    path: str
    query: str  # GET: the query string; POST: the JSON body's user_id
    expected: Any  # the answer's model(s); None: 404


def _ask(functions: dict[str, LocalFunction], key: str, route: str, path: str, query: str) -> dict[str, Any]:
    """The report function's raw answer to ``route`` at ``path`` with ``query``, sent with ``key``."""
    method, template = route.split(" ", 1)
    if method == "POST":
        event = http_event("report_telemetry.json", {"user_id": int(query)}, key=key)
    else:
        event = load_event("report_dau.json", key)
        event["routeKey"] = event["requestContext"]["routeKey"] = route
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
        event["rawQueryString"] = query
        event["queryStringParameters"] = dict(parse_qsl(query))
        event["pathParameters"] = {
            pattern[1:-1]: part
            for part, pattern in zip(path.split("/"), template.split("/"), strict=True)
            if pattern.startswith("{")
        }
    response: dict[str, Any] = functions["report"].invoke(event)
    return response


def _json(value: Any) -> Any:
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else value


def _cases(events: list[Sent], crm: dict[int, tuple[str, str]]) -> list[Case]:
    """Every report route, asked as a project's client would, with what its ``events`` give."""
    start, end = TODAY - timedelta(days=40), TODAY
    span = {"from": start.isoformat(), "to": end.isoformat()}
    cohorts = {"start_date": (TODAY - timedelta(days=42)).isoformat(), "windows": 4}
    summary = {"from": (TODAY - timedelta(days=29)).isoformat(), "to": TODAY.isoformat()}
    ua: Pick = lambda e: e.props.get("country") == "UA"  # noqa: E731 - the rollup's country column
    pro: Pick = lambda e: e.props.get("plan") == "pro"  # noqa: E731 - no rollup keeps it: the events table
    bought: Pick = lambda e: e.type == "purchase"  # noqa: E731
    cases = [
        Case("GET /stats/dau", "/stats/dau", urlencode(span), _dau(events, start, end)),
        Case(
            "GET /stats/dau",
            "/stats/dau",
            urlencode({**span, "segment": "properties.country:UA"}),
            _dau(events, start, end, ua),
        ),
        Case(
            "GET /stats/dau",
            "/stats/dau",
            urlencode({**span, "segment": "properties.plan:pro"}),
            _dau(events, start, end, pro),
        ),
        Case("GET /stats/wau", "/stats/wau", urlencode(span), _wau(events, start, end)),
        Case(
            "GET /stats/groups",
            "/stats/groups",
            urlencode({**span, "group_type": "company"}),
            _groups(events, start, end, "company"),
        ),
        Case("GET /stats/mau", "/stats/mau", urlencode(span), _mau(events, start, end)),
        Case(
            "GET /stats/top-events",
            "/stats/top-events",
            urlencode({**span, "limit": 20}),
            _top(events, start, end, 20),
        ),
        Case(
            "GET /stats/top-events",
            "/stats/top-events",
            urlencode({**span, "limit": 20, "segment": "properties.plan:pro"}),
            _top(events, start, end, 20, pro),
        ),
        Case(
            "GET /stats/retention",
            "/stats/retention",
            urlencode(cohorts),
            _retention(events, TODAY - timedelta(days=42), 4),
        ),
        Case(
            "GET /stats/retention",
            "/stats/retention",
            urlencode({**cohorts, "segment": "event_type:purchase"}),
            _retention(events, TODAY - timedelta(days=42), 4, bought),
        ),
        Case(
            "GET /api/v1/analytics/content/popular",
            "/api/v1/analytics/content/popular",
            "days=7&limit=10",
            _popular(events, 7, 10),
        ),
        Case("GET /api/v1/analytics/trends", "/api/v1/analytics/trends", "days=7", _trends(events, 7)),
        Case(
            "GET /api/v1/analytics/peak-hours",
            "/api/v1/analytics/peak-hours",
            "days=7",
            _peak_hours(events, 7),
        ),
    ]
    viewers = sorted({u for plan in PLANS.values() for u in plan.viewers} | {NOBODY})
    cases += [
        Case(
            "GET /api/v1/analytics/user/{user_id}/stats",
            f"/api/v1/analytics/user/{user}/stats",
            "days=30",
            _user_viewing(events, user, 30),
        )
        for user in viewers
    ]
    for user in sorted({u for plan in PLANS.values() for u in plan.lifers} | {NOBODY}):
        cases += [
            Case(
                "GET /api/v1/stream/events/{user_id}",
                f"/api/v1/stream/events/{user}",
                "limit=6&offset=2",
                _stream_page(events, user, 6, 2),
            ),
            Case(
                "GET /api/v1/stream/stats/{user_id}",
                f"/api/v1/stream/stats/{user}",
                "",
                _stream_stats(events, user),
            ),
            Case(
                "GET /api/v1/search/memory/{user_id}/summary",
                f"/api/v1/search/memory/{user}/summary",
                urlencode(summary),
                _memory(events, user, TODAY - timedelta(days=29), TODAY),
            ),
        ]
    telemetry_users = sorted({u for plan in PLANS.values() for u in plan.crm} | {TELEMETRY_NOBODY})
    cases += [
        Case("POST /report", "/report", str(user), _telemetry(events, crm, user)) for user in telemetry_users
    ]
    return cases


def _differences(got: Any, want: Any, at: str = "$") -> list[str]:
    """Where ``got`` differs from ``want``: exactly, but floats to the cent (both round to two decimals,
    and a float sum or average may land either side of a half cent)."""
    if isinstance(want, float) or isinstance(got, float):
        close = (
            isinstance(got, int | float)
            and isinstance(want, int | float)
            and math.isclose(got, want, abs_tol=0.006)
        )
        return [] if close else [f"{at}: {got!r} != {want!r}"]
    if isinstance(want, dict) and isinstance(got, dict):
        if got.keys() != want.keys():
            return [f"{at}: keys {sorted(got)} != {sorted(want)}"]
        return [d for k in want for d in _differences(got[k], want[k], f"{at}.{k}")]
    if isinstance(want, list) and isinstance(got, list):
        if len(got) != len(want):
            return [f"{at}: {len(got)} items != {len(want)}: {got!r} != {want!r}"]
        return [
            d
            for i, (g, w) in enumerate(zip(got, want, strict=True))
            for d in _differences(g, w, f"{at}[{i}]")
        ]
    return [] if got == want else [f"{at}: {got!r} != {want!r}"]


# Report routes of the manifest that others scope and test: the habits graph's (tests/mining), the
# insights and cohorts (tests/insights/test_projects.py), the memory search (tests/memory/test_route.py),
# the console's last events (tests/console/test_console_apis.py).
NOT_HERE = {
    "GET /v1/events/latest",
    "GET /api/v1/stream/patterns/{user_id}",
    "POST /api/v1/search/memory",
    *(
        f"POST /api/v1/insights/{kind}"
        for kind in ("trends", "funnel", "paths", "stickiness", "lifecycle", "retention")
    ),
    "POST /api/v1/cohorts",
    "GET /api/v1/cohorts",
}


def test_each_project_reads_only_its_own_figures_on_every_report_route(
    world: World, functions: dict[str, LocalFunction]
) -> None:
    report = load_manifest()["report"]
    read_routes = {route.key for route in report.http} - {route.key for route in report.public} - NOT_HERE
    differences: list[str] = []
    for project, plan in PLANS.items():
        # Given a project's own events (the other project's have the same user and event ids)
        cases = _cases(world.events[project], plan.crm)
        assert {case.route for case in cases} == read_routes, "every read route of the manifest is asked"
        for case in cases:
            # When its secret key asks a report route
            response = _ask(functions, KEYS[project], case.route, case.path, case.query)
            # Then the answer is what its own events give, nothing of the other project's
            asked = f"{project} {case.route} {case.path}?{case.query}"
            if case.expected is None:
                if response["statusCode"] != 404:
                    differences.append(f"{asked}: {response['statusCode']} instead of 404")
                continue
            if response["statusCode"] != 200:
                differences.append(f"{asked}: {response['statusCode']} {response.get('body')}")
                continue
            got = json.loads(response["body"])
            differences += [f"{asked}: {d}" for d in _differences(got, _json(case.expected))]
    assert not differences, "\n".join(differences)


def test_the_projects_figures_differ_so_a_leak_would_show(world: World) -> None:
    # Given the answers each project's own events give, route by route
    ours, theirs = (_cases(world.events[p], plan.crm) for p, plan in PLANS.items())
    for mine, other in zip(ours, theirs, strict=True):
        if NOBODY in mine.path or mine.query == str(TELEMETRY_NOBODY):
            continue  # a person of neither project has no figures in either
        # Then they differ: a report of one project with the other's events in it would show
        assert _json(mine.expected) != _json(other.expected), (mine.route, mine.path, mine.query)


PERSONAL = [
    ("GET /api/v1/analytics/user/{user_id}/stats", "/api/v1/analytics/user/{}/stats", "days=30"),
    ("GET /api/v1/stream/events/{user_id}", "/api/v1/stream/events/{}", "limit=6&offset=2"),
    ("GET /api/v1/stream/stats/{user_id}", "/api/v1/stream/stats/{}", ""),
    ("GET /api/v1/search/memory/{user_id}/summary", "/api/v1/search/memory/{}/summary", "period=month"),
    ("POST /report", "/report", "{}"),
]


@pytest.mark.parametrize(
    ("asking", "owner", "person", "nobody"),
    [
        (DEFAULT_PROJECT, OTHER_PROJECT, ONLY_OTHER, NOBODY),
        (OTHER_PROJECT, DEFAULT_PROJECT, ONLY_DEFAULT, NOBODY),
    ],
)
@pytest.mark.parametrize(("route", "path", "query"), PERSONAL, ids=[p[0] for p in PERSONAL])
def test_a_person_of_another_project_is_answered_as_an_unknown_person(
    world: World,
    functions: dict[str, LocalFunction],
    asking: str,
    owner: str,
    person: str,
    nobody: str,
    route: str,
    path: str,
    query: str,
) -> None:
    if route == "POST /report":  # the Reports Backend's users are numbers
        person, nobody = (
            str(TELEMETRY_ONLY_OTHER if owner == OTHER_PROJECT else TELEMETRY_ONLY_DEFAULT),
            str(TELEMETRY_NOBODY),
        )

    def ask(project: str, user: str) -> dict[str, Any]:
        return _ask(functions, KEYS[project], route, path.format(user), query.format(user))

    # Given a person only the owner project has: its own key finds figures for them
    theirs = ask(owner, person)
    assert theirs["statusCode"] == 200, theirs
    assert theirs["body"].replace(person, nobody) != ask(owner, nobody)["body"]
    # When the other project's secret key asks for that person, and for a person of neither project
    leaked, unknown = ask(asking, person), ask(asking, nobody)
    # Then both answers are the same, status and body, but for the id asked about
    assert leaked["statusCode"] == unknown["statusCode"]
    assert leaked["body"].replace(person, nobody) == unknown["body"]
    assert leaked["body"] != theirs["body"]


# --- Guards for the next route or query ----------------------------------------------------------------

# A table's name, or the {events} marker (segments.with_segments: `events` or rows of events_by_property,
# each read for the project bound as {project:String}).
_TABLE_READ = r"\b(?:FROM|JOIN)\s+(?!\()(\{events\}|[A-Za-z_]\w*)"


def _sql_of(module: ModuleType) -> list[str]:
    """The SQL text of a report module: every string literal with a SELECT in it."""
    tree = ast.parse(inspect.getsource(module))
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "SELECT" in node.value
    ]


@pytest.mark.parametrize(
    "module", [activity, retention, viewing, telemetry, lifestream], ids=lambda m: m.__name__
)
def test_every_table_a_report_reads_is_read_for_one_project(module: ModuleType) -> None:
    # Given each query of a report module
    queries = _sql_of(module)
    assert queries
    for sql in queries:
        # Then it names the project (as a bound parameter) once for every table it reads
        reads = re.findall(_TABLE_READ, sql)
        assert reads, sql
        assert sql.count("project_id = {project:String}") >= len(reads), sql


@pytest.mark.parametrize(
    "module", [report_routes, viewing_routes, telemetry_routes, lifestream_routes], ids=lambda m: m.__name__
)
def test_every_read_route_passes_the_callers_project(module: ModuleType) -> None:
    # Given each route function of the module that takes a secret key
    routes = [
        fn
        for _, fn in inspect.getmembers(module, inspect.isfunction)
        if fn.__module__ == module.__name__ and access.required_access(fn) == "secret"
    ]
    assert routes
    for fn in routes:
        # Then it takes the caller's project too (from the key: the one project its reports may read)
        dependencies = [
            getattr(marker, "dependency", None)
            for hint in get_type_hints(fn, include_extras=True).values()
            for marker in getattr(hint, "__metadata__", ())
        ]
        assert access.reader_project in dependencies, fn.__name__
