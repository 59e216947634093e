"""A realistic mixed stream of user-behaviour events, reproducible from a seed.

Users belong to one family (commerce shoppers, cinema viewers, Life Stream users, telemetry
wearers) and one activity cohort (heavy, medium, light, one-time). Each user starts somewhere in
the year, is active on a cohort-dependent share of the following days, and on an active day has a
few sessions at a family-typical hour; a session is a short chain of events whose next type depends
on the previous one (a first-order Markov chain), as in AnModel's generator.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

COHORTS = {  # share of users, share of days active, sessions per active day
    "heavy": (0.10, 0.60, 3),
    "medium": (0.30, 0.25, 2),
    "light": (0.45, 0.08, 1),
    "one_time": (0.15, 0.0, 1),
}
FAMILIES = {"commerce": 0.45, "viewing": 0.25, "lifestream": 0.22, "telemetry": 0.08}
COUNTRIES = ["UA", "PL", "DE", "US", "GB", "FR", "ES", "IT", "NL", "SE"]
COUNTRY_WEIGHTS = [30, 15, 12, 12, 8, 6, 5, 5, 4, 3]

# Commerce: next event type given the previous one.
COMMERCE_CHAIN = {
    "session_start": (["page_view", "search"], [0.7, 0.3]),
    "page_view": (["page_view", "view_item", "search", "end"], [0.35, 0.35, 0.1, 0.2]),
    "search": (["view_item", "page_view", "end"], [0.6, 0.2, 0.2]),
    "view_item": (["add_to_cart", "view_item", "page_view", "end"], [0.25, 0.35, 0.2, 0.2]),
    "add_to_cart": (["purchase", "view_item", "end"], [0.45, 0.3, 0.25]),
    "purchase": (["page_view", "end"], [0.3, 0.7]),
}
LIFESTREAM_TYPES = ["geo", "purchase", "social", "health", "activity"]
LIFESTREAM_WEIGHTS = [50, 15, 10, 15, 10]
PLACES = [
    ("Home", 50.4501, 30.5234),
    ("Office", 50.4547, 30.5238),
    ("Gym", 50.4420, 30.5100),
    ("Cafe", 50.4480, 30.5200),
    ("Park", 50.4600, 30.5300),
]


@dataclass(frozen=True)
class GeneratedUser:
    user_id: str
    family: str
    cohort: str
    country: str
    first_day: int


def generate_events(
    users: int, days: int = 365, seed: int = 7, end: datetime | None = None, max_events: int | None = None
) -> Iterator[dict[str, Any]]:
    """Events in eventlens's envelope (for ``POST /v1/events``), user by user.

    ``end`` is the last moment of history (default: now); events fall in the ``days`` before it.
    """
    rng = random.Random(seed)
    end = end or datetime.now(UTC)
    start = end - timedelta(days=days)
    produced = 0
    end_text = _timestamp(end)
    movies = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(500)]
    items = [f"item_{i}" for i in range(2000)]
    for user in _users(rng, users, days):
        active_days = _active_days(rng, user, days)
        for day in active_days:
            for _ in range(COHORTS[user.cohort][2] if rng.random() < 0.8 else 1):
                moment = start + timedelta(
                    days=day, hours=_session_hour(rng, user.family), minutes=rng.uniform(0, 59)
                )
                if moment >= end:
                    continue
                for event in _session(rng, user, moment, movies, items):
                    if event["timestamp"] > end_text:  # a session running past the end of history
                        continue
                    yield event
                    produced += 1
                    if max_events is not None and produced >= max_events:
                        return


def _users(rng: random.Random, count: int, days: int) -> Iterator[GeneratedUser]:
    cohorts = list(COHORTS)
    cohort_weights = [COHORTS[c][0] for c in cohorts]
    families = list(FAMILIES)
    family_weights = list(FAMILIES.values())
    for _ in range(count):
        yield GeneratedUser(
            user_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            family=rng.choices(families, family_weights)[0],
            cohort=rng.choices(cohorts, cohort_weights)[0],
            country=rng.choices(COUNTRIES, COUNTRY_WEIGHTS)[0],
            first_day=int(rng.betavariate(1.2, 2.0) * (days - 1)),
        )


def _active_days(rng: random.Random, user: GeneratedUser, days: int) -> list[int]:
    share = COHORTS[user.cohort][1]
    rest = [d for d in range(user.first_day + 1, days) if rng.random() < share]
    return [user.first_day, *rest]


def _session_hour(rng: random.Random, family: str) -> int:
    peaks = {"viewing": (20, 2.5), "commerce": (13, 4.0), "lifestream": (12, 5.0), "telemetry": (10, 3.0)}
    mean, spread = peaks[family]
    return int(min(23, max(0, rng.gauss(mean, spread))))


def _session(
    rng: random.Random, user: GeneratedUser, moment: datetime, movies: list[str], items: list[str]
) -> Iterator[dict[str, Any]]:
    session_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if user.family == "commerce":
        state = "session_start"
        while state != "end":
            yield _event(
                rng,
                user,
                state,
                moment,
                "commerce",
                {
                    "session_id": session_id,
                    "region": f"{user.country}-{rng.randint(1, 30):02d}",
                    "country": user.country,
                    "item_id": rng.choice(items),
                    "price": round(rng.uniform(2, 300), 2),
                },
            )
            moment += timedelta(seconds=rng.uniform(5, 120))
            choices, weights = COMMERCE_CHAIN[state]
            state = rng.choices(choices, weights)[0]
    elif user.family == "viewing":
        movie = rng.choice(movies)
        length = rng.choice([1800, 5400, 7200])
        yield _event(
            rng,
            user,
            "start",
            moment,
            "viewing",
            {"movie_id": movie, "position_seconds": 0, "session_id": session_id, "country": user.country},
        )
        watched = int(length * rng.betavariate(2, 1.2))
        for position in range(600, watched, 600):
            yield _event(
                rng,
                user,
                "progress",
                moment + timedelta(seconds=position),
                "viewing",
                {
                    "movie_id": movie,
                    "position_seconds": position,
                    "session_id": session_id,
                    "country": user.country,
                },
            )
        if watched > length * 0.9:
            yield _event(
                rng,
                user,
                "finish",
                moment + timedelta(seconds=length),
                "viewing",
                {
                    "movie_id": movie,
                    "position_seconds": length,
                    "session_id": session_id,
                    "country": user.country,
                },
            )
    elif user.family == "lifestream":
        for _ in range(rng.randint(1, 5)):
            kind = rng.choices(LIFESTREAM_TYPES, LIFESTREAM_WEIGHTS)[0]
            yield _event(
                rng, user, kind, moment, "lifestream", _lifestream_properties(rng, kind, user.country)
            )
            moment += timedelta(minutes=rng.uniform(5, 90))
    else:
        for _ in range(rng.randint(2, 6)):
            yield _event(
                rng,
                user,
                "signal",
                moment,
                "telemetry",
                {
                    "prosthesis_type": rng.choice(["arm", "hand", "leg"]),
                    "muscle_group": rng.choice(["biceps", "triceps", "forearm", "quadriceps"]),
                    "signal_frequency": rng.randint(120, 240),
                    "signal_duration": rng.randint(50, 5000),
                    "signal_amplitude": round(rng.uniform(0.5, 5.0), 3),
                    "country": user.country,
                },
            )
            moment += timedelta(seconds=rng.uniform(1, 60))


def _lifestream_properties(rng: random.Random, kind: str, country: str) -> dict[str, Any]:
    if kind == "geo":
        name, lat, lon = rng.choice(PLACES)
        return {
            "lat": round(lat + rng.gauss(0, 0.0005), 6),
            "lon": round(lon + rng.gauss(0, 0.0005), 6),
            "country": country,
        }
    if kind == "purchase":
        item, place = rng.choice([("Latte", "Starbucks"), ("Groceries", "Silpo"), ("Book", "Yakaboo")])
        return {"item": item, "amount": round(rng.uniform(50, 900), 2), "place": place, "country": country}
    if kind == "social":
        return {
            "action": rng.choice(["meet", "call", "message"]),
            "person_id": f"person_{rng.randint(1, 40)}",
            "country": country,
        }
    if kind == "health":
        metric, low, high = rng.choice([("heart_rate", 55, 160), ("steps", 0, 20000), ("sleep_hours", 4, 10)])
        return {"metric": metric, "value": round(rng.uniform(low, high), 1), "country": country}
    return {
        "activity": rng.choice(["run", "walk", "yoga", "cycling"]),
        "duration_minutes": rng.randint(10, 90),
        "country": country,
    }


def _event(
    rng: random.Random,
    user: GeneratedUser,
    kind: str,
    moment: datetime,
    source: str,
    properties: dict[str, Any],
) -> dict[str, Any]:
    return {
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "user_id": user.user_id,
        "type": kind,
        "timestamp": _timestamp(moment),
        "source": source,
        "properties": properties,
    }


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
