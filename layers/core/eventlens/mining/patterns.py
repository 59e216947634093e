"""Finding places, routines and habits in one user's history (times of day are UTC).

- A **place** is a DBSCAN cluster (haversine metric, radius ``EPS_M``) of the user's geo points
  with at least ``min_cluster_size`` points; its visits are the distinct hours spent there.
- A **routine** is a place visited at the same hour on the same weekdays in at least
  ``MIN_ROUTINE_WEEKS`` distinct weeks ("Work on weekdays around 09:00").
- A **habit** is a purchase or activity done at a typical hour on at least ``min_cluster_size``
  days over ``MIN_ROUTINE_WEEKS`` weeks ("Latte around 09:00"); its confidence is the share of the
  user's active days on which it happened.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel

from eventlens.mining.history import GeoPoint, History, Occurrence

EARTH_RADIUS_M = 6_371_008.8
EPS_M = 150.0
MIN_ROUTINE_WEEKS = 3
# Share of a habit's occurrences that fall within an hour of its typical hour.
MIN_HOUR_SHARE = 0.6
MIN_HABIT_CONFIDENCE = 0.1  # a habit kept on one day a week in seven (0.14) counts
NIGHT_HOURS = frozenset({21, 22, 23, 0, 1, 2, 3, 4, 5, 6})
WORK_HOURS = range(8, 19)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class Place(BaseModel):
    key: str
    name: str
    lat: float
    lon: float
    visits: int


class Routine(BaseModel):
    key: str
    name: str
    place: str
    weekdays: list[str]
    hour: int
    weeks: int


class Habit(BaseModel):
    key: str
    name: str
    kind: Literal["purchase", "activity"]
    item: str
    hour: int
    days: int
    confidence: float


class Insight(BaseModel):
    """A sentence about a habit, a routine or the places (``eventlens.mining.insights``)."""

    key: str
    kind: Literal["habit", "routine", "places"]
    text: str
    confidence: float | None
    generated_by: Literal["rules", "language_model"] = "rules"


class UserPatterns(BaseModel):
    user_id: str
    source: Literal["graph", "warehouse"]
    discovered_at: datetime | None
    places: list[Place]
    routines: list[Routine]
    habits: list[Habit]
    insights: list[Insight] = []


def nearest_hour(ts: datetime) -> int:
    """The hour a moment is 'around': 08:50 and 09:10 are both around 09:00."""
    return (ts + timedelta(minutes=30)).hour


def _hour_distance(a: int, b: int) -> int:
    return min((a - b) % 24, (b - a) % 24)


def find_places(points: list[GeoPoint], min_cluster_size: int) -> list[tuple[Place, list[GeoPoint]]]:
    """The user's places, most visited first, each with the points that fell in it."""
    if len(points) < min_cluster_size:
        return []
    import numpy as np  # heavy imports: only the miner needs them
    from sklearn.cluster import DBSCAN

    coords = np.radians([[p.lat, p.lon] for p in points])
    labels = DBSCAN(
        eps=EPS_M / EARTH_RADIUS_M, min_samples=min_cluster_size, metric="haversine", algorithm="ball_tree"
    ).fit_predict(coords)
    clusters: dict[int, list[GeoPoint]] = defaultdict(list)
    for point, label in zip(points, labels, strict=True):
        if label >= 0:
            clusters[int(label)].append(point)
    found = []
    for members in clusters.values():
        visits = len({(p.ts.date(), p.ts.hour) for p in members})
        if visits >= min_cluster_size:
            found.append((visits, members))
    found.sort(key=lambda pair: -pair[0])
    return _named(found)


def _named(found: list[tuple[int, list[GeoPoint]]]) -> list[tuple[Place, list[GeoPoint]]]:
    """Names: the most visited place mostly at night is Home, mostly on weekday days is Work."""
    places = []
    taken: set[str] = set()
    for rank, (visits, members) in enumerate(found, start=1):
        hours = [nearest_hour(p.ts) for p in members]
        night = sum(h in NIGHT_HOURS for h in hours) / len(hours)
        work = sum(h in WORK_HOURS and p.ts.weekday() < 5 for h, p in zip(hours, members, strict=True))
        name = f"Place {rank}"
        if night >= 0.5 and "Home" not in taken:
            name = "Home"
        elif work / len(hours) >= 0.6 and "Work" not in taken:
            name = "Work"
        taken.add(name)
        lat = sum(p.lat for p in members) / len(members)
        lon = sum(p.lon for p in members) / len(members)
        key = f"{round(lat, 4)},{round(lon, 4)}"
        places.append(
            (Place(key=key, name=name, lat=round(lat, 6), lon=round(lon, 6), visits=visits), members)
        )
    return places


def find_routines(places: list[tuple[Place, list[GeoPoint]]]) -> list[Routine]:
    """Visits to one place at one hour that recur on the same weekdays in enough distinct weeks."""
    routines = []
    for place, members in places:
        weeks: dict[tuple[int, int], set[tuple[int, int]]] = defaultdict(set)
        for point in members:
            iso = point.ts.isocalendar()
            weeks[(nearest_hour(point.ts), point.ts.weekday())].add((iso.year, iso.week))
        by_hour: dict[int, dict[int, int]] = defaultdict(dict)
        for (hour, weekday), seen in weeks.items():
            if len(seen) >= MIN_ROUTINE_WEEKS:
                by_hour[hour][weekday] = len(seen)
        for hour, days in sorted(by_hour.items()):
            weekdays = sorted(days)
            routines.append(
                Routine(
                    key=f"{place.key}:{hour}:{''.join(map(str, weekdays))}",
                    name=f"{place.name} {_days_phrase(weekdays)} around {hour:02d}:00",
                    place=place.name,
                    weekdays=[WEEKDAYS[day] for day in weekdays],
                    hour=hour,
                    weeks=min(days.values()),
                )
            )
    return routines


def _days_phrase(weekdays: list[int]) -> str:
    if weekdays == list(range(7)):
        return "daily"
    if weekdays == list(range(5)):
        return "on weekdays"
    if weekdays == [5, 6]:
        return "on weekends"
    return "on " + ", ".join(WEEKDAYS[day] for day in weekdays)


def find_habits(occurrences: list[Occurrence], active_days: int, min_cluster_size: int) -> list[Habit]:
    """Purchases and activities done at a typical hour often enough, most confident first."""
    grouped: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for occurrence in occurrences:
        grouped[(occurrence.kind, occurrence.name)].append(occurrence.ts)
    habits = []
    for (kind, name), moments in grouped.items():
        hours = [nearest_hour(ts) for ts in moments]
        typical = Counter(hours).most_common(1)[0][0]
        near = [ts for ts, hour in zip(moments, hours, strict=True) if _hour_distance(hour, typical) <= 1]
        days = {ts.date() for ts in near}
        weeks = {ts.isocalendar()[:2] for ts in near}
        confidence = len(days) / max(active_days, 1)
        if (
            len(days) >= min_cluster_size
            and len(weeks) >= MIN_ROUTINE_WEEKS
            and len(near) / len(moments) >= MIN_HOUR_SHARE
            and confidence >= MIN_HABIT_CONFIDENCE
        ):
            habits.append(
                Habit(
                    key=f"{kind}:{name}:{typical}",
                    name=f"{name} around {typical:02d}:00",
                    kind=kind,  # type: ignore[arg-type]  # history yields purchase/activity only
                    item=name,
                    hour=typical,
                    days=len(days),
                    confidence=round(confidence, 3),
                )
            )
    habits.sort(key=lambda habit: (-habit.confidence, habit.name))
    return habits


def mine_patterns(history: History, min_cluster_size: int, discovered_at: datetime) -> UserPatterns:
    """A user's places, routines and habits, as found in ``history``."""
    places = find_places(history.points, min_cluster_size)
    return UserPatterns(
        user_id=history.user_id,
        source="warehouse",
        discovered_at=discovered_at,
        places=[place for place, _ in places],
        routines=find_routines(places),
        habits=find_habits(history.occurrences, history.active_days, min_cluster_size),
    )
