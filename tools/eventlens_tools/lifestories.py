"""Life Stream persons who live by a timetable, so that every question about their life has a known
answer (the memory search's evaluation, tests and bench).

Each person lives ``weeks`` weeks up to ``now`` in their own timezone: home at night, work on weekday
days, the gym on Tuesday and Thursday evenings, a coffee on weekday mornings, a run on Monday,
Wednesday and Friday mornings, yoga on Sunday, groceries on Saturday, steps and sleep every day.
Around it, lunches and dinners with named friends (``social`` events, ``action: "meet"``, with
``person_id`` and ``person_name``), calls that are not meetings, and one weekend trip to a named
city. Home and work points carry no place name (the Pattern Miner names them: Home, Work); the gym,
the trip and every purchase's shop are named by the events. The daily step count carries the
person's ``timezone`` (their timezone property, as a phone's SDK sends it).

``LifeStory.events`` is the whole truth about a person: a question's right answer is computed from
it (``eventlens_tools.memory_eval``), never read back from eventlens.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pyarrow as pa


@dataclass(frozen=True)
class Friend:
    name: str
    person_id: str


@dataclass(frozen=True)
class PersonPlan:
    """Who a person is and what shapes their weeks."""

    key: str
    timezone: str
    currency: str
    home: tuple[float, float]
    work: tuple[float, float]
    gym: tuple[float, float]
    coffee_prices: tuple[str, ...]  # weekday lattes, in turn
    friends: tuple[Friend, ...]  # [0] lunches every Friday, [1] every other Wednesday, [2] dinners
    trip_city: str
    trip_sight: str
    trip_saturday: date  # the weekend away (Saturday and Sunday)
    trip_coords: tuple[float, float]


@dataclass(frozen=True)
class PlantedEvent:
    """One event as sent, and what it means: for a geo point with no place name, the place it is at
    (``truth_place``, as the Pattern Miner will name it)."""

    event_id: str
    type: str
    at: datetime  # UTC
    properties: dict[str, Any]
    truth_place: str | None = None

    @property
    def place(self) -> str | None:
        """The place a geo point is at: the one it names, else the planted truth."""
        named = self.properties.get("place")
        return str(named) if named else self.truth_place


@dataclass
class LifeStory:
    user_id: str
    plan: PersonPlan
    now: datetime
    events: list[PlantedEvent] = field(default_factory=list)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.plan.timezone)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def envelopes(self) -> list[dict[str, Any]]:
        """The events in eventlens's envelope (``POST /v1/events``)."""
        return [
            {
                "event_id": event.event_id,
                "user_id": self.user_id,
                "type": event.type,
                "timestamp": event.at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                "source": "lifestream",
                "properties": event.properties,
            }
            for event in self.events
        ]


# Three persons: Kyiv (hryvnias), Berlin (euros) and London on UTC (dollars), each with friends of their own.
PLANS = (
    PersonPlan(
        key="kyiv",
        timezone="Europe/Kyiv",
        currency="UAH",
        home=(50.4501, 30.5234),
        work=(50.4650, 30.4950),
        gym=(50.4300, 30.5600),
        coffee_prices=("65.00", "70.50", "58.25", "72.10"),
        friends=(
            Friend("Olena", "person-olena"),
            Friend("Taras", "person-taras"),
            Friend("Petro", "person-petro"),
            Friend("Iryna", "person-iryna"),
            Friend("Mykola", "person-mykola"),
        ),
        trip_city="Lviv",
        trip_sight="Rynok Square",
        trip_saturday=date(2026, 3, 14),
        trip_coords=(49.8419, 24.0315),
    ),
    PersonPlan(
        key="berlin",
        timezone="Europe/Berlin",
        currency="EUR",
        home=(52.5200, 13.4050),
        work=(52.5070, 13.3900),
        gym=(52.5300, 13.4200),
        coffee_prices=("3.20", "3.50", "2.90", "3.80"),
        friends=(
            Friend("Anna", "person-anna"),
            Friend("Max", "person-max"),
            Friend("Lena", "person-lena"),
            Friend("Jonas", "person-jonas"),
            Friend("Mia", "person-mia"),
        ),
        trip_city="Dresden",
        trip_sight="Zwinger",
        trip_saturday=date(2026, 3, 7),
        trip_coords=(51.0504, 13.7373),
    ),
    PersonPlan(
        key="london",
        timezone="UTC",
        currency="USD",
        home=(51.5072, -0.1276),
        work=(51.5155, -0.0922),
        gym=(51.4975, -0.1357),
        coffee_prices=("4.75", "5.25", "4.50"),
        friends=(
            Friend("Emma", "person-emma"),
            Friend("Oliver", "person-oliver"),
            Friend("Grace", "person-grace"),
            Friend("Harry", "person-harry"),
            Friend("Chloe", "person-chloe"),
        ),
        trip_city="Brighton",
        trip_sight="Brighton Pier",
        trip_saturday=date(2026, 2, 21),
        trip_coords=(50.8225, -0.1372),
    ),
)
WEEKS = 8
GROCERIES = ("412.30", "388.00", "455.75", "399.90", "420.15", "376.40", "431.05", "402.60")
SLEEP = ("7.5", "6.8", "8.1", "7.2", "6.5", "7.9", "7.0")


class _Planter:
    def __init__(self, story: LifeStory, seed: int) -> None:
        self.story = story
        self.rng = random.Random(seed)

    def at(self, day: date, hour: int, minute: int = 0, jitter: int = 8) -> datetime | None:
        """A local time of ``day`` (jittered a few minutes) as UTC; None when it is after now."""
        local = datetime.combine(day, time(hour, minute), self.story.zone)
        local += timedelta(minutes=self.rng.randint(-jitter, jitter))
        moment = local.astimezone(UTC)
        return moment if moment <= self.story.now else None

    def event(
        self, moment: datetime | None, kind: str, truth_place: str | None = None, **properties: Any
    ) -> None:
        if moment is None:
            return
        event_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        self.story.events.append(PlantedEvent(event_id, kind, moment, properties, truth_place))

    def geo(
        self, moment: datetime | None, where: tuple[float, float], place: str | None, truth: str | None
    ) -> None:
        point: dict[str, Any] = {
            "lat": round(where[0] + self.rng.gauss(0, 0.0002), 6),
            "lon": round(where[1] + self.rng.gauss(0, 0.0002), 6),
        }
        if place:
            point["place"] = place
        self.event(moment, "geo", truth, **point)


def plant_story(plan: PersonPlan, now: datetime, seed: int = 7, user_id: str | None = None) -> LifeStory:
    """``plan``'s person (user id ``story-<plan key>`` unless given) living ``WEEKS`` weeks up to ``now``
    (see the module doc); the same seed plants the same events, ids included."""
    story = LifeStory(user_id or f"story-{plan.key}", plan, now)
    planter = _Planter(story, seed)
    today = now.astimezone(story.zone).date()
    first = today - timedelta(days=WEEKS * 7 - 1)
    for offset in range(WEEKS * 7):
        _plant_day(planter, plan, first + timedelta(days=offset), offset)
    story.events.sort(key=lambda event: (event.at, event.event_id))
    return story


def _away(plan: PersonPlan, day: date) -> bool:
    """Whether the person is on their weekend trip that day (Saturday and Sunday, back Sunday night)."""
    return day in (plan.trip_saturday, plan.trip_saturday + timedelta(days=1))


def _plant_day(p: _Planter, plan: PersonPlan, day: date, offset: int) -> None:
    weekday = day.weekday()
    week = offset // 7
    if not _away(plan, day):
        p.geo(p.at(day, 6, 0), plan.home, None, "Home")
    p.event(
        p.at(day, 7, 15, jitter=0), "health", metric="sleep_hours", value=float(SLEEP[offset % len(SLEEP)])
    )
    if weekday < 5:
        _plant_workday(p, plan, day, offset, week)
    elif _away(plan, day):
        _plant_trip_day(p, plan, day)
    else:
        _plant_weekend_day(p, plan, day, week)
    # The phone's daily step count carries its timezone: the person's timezone property.
    steps = 5000 + (offset * 1373) % 7000
    p.event(p.at(day, 21, 0, jitter=0), "health", metric="steps", value=steps, timezone=plan.timezone)
    if not (_away(plan, day) and weekday == 5):
        p.geo(p.at(day, 23, 0), plan.home, None, "Home")


def _plant_workday(p: _Planter, plan: PersonPlan, day: date, offset: int, week: int) -> None:
    weekday = day.weekday()
    if weekday in (0, 2, 4):
        p.event(p.at(day, 7, 0), "activity", activity="running", duration_minutes=30 if weekday != 4 else 45)
    price = plan.coffee_prices[offset % len(plan.coffee_prices)]
    p.event(
        p.at(day, 9, 0),
        "purchase",
        item="Latte",
        amount=float(price),
        currency=plan.currency,
        place="Coffee Point",
    )
    p.geo(p.at(day, 10, 0), plan.work, None, "Work")
    p.geo(p.at(day, 15, 0), plan.work, None, "Work")
    lunch = plan.friends[0] if weekday == 4 else plan.friends[1] if weekday == 2 and week % 2 == 0 else None
    if lunch is not None:
        p.event(p.at(day, 13, 0), "social", action="meet", person_id=lunch.person_id, person_name=lunch.name)
    if weekday in (1, 3):
        p.geo(p.at(day, 19, 0), plan.gym, "Gym", None)
    if weekday == 1 and week == 3:  # one dinner with the fourth friend, one call that is no meeting
        p.event(
            p.at(day, 19, 45),
            "social",
            action="meet",
            person_id=plan.friends[3].person_id,
            person_name=plan.friends[3].name,
        )
    if weekday == 3:
        p.event(
            p.at(day, 20, 30),
            "social",
            action="call",
            person_id=plan.friends[4].person_id,
            person_name=plan.friends[4].name,
        )


def _plant_weekend_day(p: _Planter, plan: PersonPlan, day: date, week: int) -> None:
    if day.weekday() == 5:
        p.event(
            p.at(day, 11, 0),
            "purchase",
            item="Groceries",
            amount=float(GROCERIES[week % len(GROCERIES)]),
            currency=plan.currency,
            place="Market",
        )
        if week % 2 == 1:
            friend = plan.friends[2]
            p.event(
                p.at(day, 19, 30),
                "social",
                action="meet",
                person_id=friend.person_id,
                person_name=friend.name,
            )
        if week == 5:  # a book, once
            p.event(
                p.at(day, 15, 0),
                "purchase",
                item="Book",
                amount=float(plan.coffee_prices[0]) * 4,
                currency=plan.currency,
                place="Bookshop",
            )
    else:
        p.event(p.at(day, 10, 0), "activity", activity="yoga", duration_minutes=60)


def _plant_trip_day(p: _Planter, plan: PersonPlan, day: date) -> None:
    city, sight = plan.trip_city, plan.trip_sight
    if day.weekday() == 5:
        p.geo(p.at(day, 12, 0), plan.trip_coords, city, None)
        p.geo(p.at(day, 13, 30), (plan.trip_coords[0] + 0.002, plan.trip_coords[1]), sight, None)
        p.event(
            p.at(day, 14, 0),
            "purchase",
            item="Cappuccino",
            amount=float(plan.coffee_prices[1]),
            currency=plan.currency,
            place=f"{city} Cafe",
        )
        p.event(
            p.at(day, 20, 0),
            "social",
            action="meet",
            person_id=plan.friends[0].person_id,
            person_name=plan.friends[0].name,
        )
        p.geo(p.at(day, 22, 30), plan.trip_coords, city, None)
    else:
        p.geo(p.at(day, 11, 0), plan.trip_coords, city, None)
        p.event(
            p.at(day, 11, 30),
            "purchase",
            item="Espresso",
            amount=float(plan.coffee_prices[2]),
            currency=plan.currency,
            place=f"{city} Cafe",
        )
        p.event(p.at(day, 12, 0), "activity", activity="walk", duration_minutes=90)


def generate_life_stories(now: datetime, seed: int = 7, prefix: str = "story") -> list[LifeStory]:
    """The three planned persons (``PLANS``) up to ``now``, user ids ``<prefix>-<plan key>``."""
    return [plant_story(plan, now, seed + index, f"{prefix}-{plan.key}") for index, plan in enumerate(PLANS)]


def warehouse_rows(stories: Iterable[LifeStory], project_id: str = "default") -> pa.Table:
    """The stories' events as rows of ``events`` (as consume stores them), for tests and benchmarks."""
    rows = [(story.user_id, event) for story in stories for event in story.events]
    received = datetime.now(UTC)
    return pa.table(
        {
            "project_id": [project_id] * len(rows),
            "event_id": [event.event_id for _, event in rows],
            "user_id": [user for user, _ in rows],
            "event_type": [event.type for _, event in rows],
            "ts": pa.array([event.at for _, event in rows], pa.timestamp("ms", tz="UTC")),
            "source": ["lifestream"] * len(rows),
            "properties": [orjson.dumps(event.properties).decode() for _, event in rows],
            "received_at": pa.array([received] * len(rows), pa.timestamp("ms", tz="UTC")),
        }
    )


def decimal_amount(event: PlantedEvent) -> Decimal:
    """A planted purchase's amount, exactly as written in its event."""
    return Decimal(orjson.dumps(event.properties["amount"]).decode())
