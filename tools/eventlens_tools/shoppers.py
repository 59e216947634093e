"""Commerce shoppers whose behaviour carries learnable signal, as AnModel's generator plants it.

Each shopper belongs to a cohort (heavy, medium, light, one-time) that sets how often they browse
and how often they form a *purchase intent*. An intent on day p shows up as a burst: one to three
days of focused sessions before p (item views, carts left without buying), then on p a session
that ends in a purchase. Casual browsing in between follows a different Markov chain that rarely
reaches the cart. Promo windows raise intents and browsing for everyone; shoppers churn after a
cohort-dependent lifetime. So whether a shopper buys in the next days is predictable from recency,
frequency, the recent trend and the order of event types — but not perfectly.

The output is eventlens's event envelope with ``source = "commerce"`` (``POST /v1/events``), and
:func:`warehouse_rows` turns it into ``events`` rows for tests and benchmarks.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

COHORTS = {  # share of shoppers, casual sessions per day, intents per 30 days, mean lifetime days
    "heavy": (0.15, 0.60, 1.5, 300),
    "medium": (0.30, 0.30, 0.8, 200),
    "light": (0.40, 0.12, 0.4, 120),
    "one_time": (0.15, 0.0, 0.0, 1),
}
PROMO_WINDOWS = 6  # windows of 3–6 days per year with more intents and browsing
PROMO_LIFT = 2.5

Chain = dict[str, tuple[list[str], list[float]]]
CASUAL: Chain = {
    "session_start": (["page_view", "search"], [0.75, 0.25]),
    "page_view": (["page_view", "view_item", "search", "end"], [0.35, 0.25, 0.1, 0.3]),
    "search": (["view_item", "page_view", "end"], [0.45, 0.25, 0.3]),
    "view_item": (["view_item", "page_view", "add_to_cart", "end"], [0.25, 0.32, 0.03, 0.4]),
    "add_to_cart": (["view_item", "purchase", "end"], [0.4, 0.05, 0.55]),
    "purchase": (["end"], [1.0]),
}
BROWSING_FOR_INTENT: Chain = {  # the days before a purchase: searching, comparing, carts left behind
    "session_start": (["search", "view_item"], [0.6, 0.4]),
    "page_view": (["view_item", "search", "end"], [0.5, 0.2, 0.3]),
    "search": (["view_item", "search", "end"], [0.7, 0.15, 0.15]),
    "view_item": (["view_item", "add_to_cart", "search", "end"], [0.35, 0.35, 0.1, 0.2]),
    "add_to_cart": (["view_item", "end"], [0.5, 0.5]),
}
BUYING: Chain = {
    "session_start": (["search", "view_item"], [0.5, 0.5]),
    "search": (["view_item"], [1.0]),
    "view_item": (["view_item", "add_to_cart"], [0.3, 0.7]),
    "add_to_cart": (["purchase", "view_item"], [0.85, 0.15]),
    "purchase": (["page_view", "end"], [0.25, 0.75]),
    "page_view": (["end"], [1.0]),
}
COUNTRIES = ["UA", "PL", "DE", "US", "GB"]
COUNTRY_WEIGHTS = [40, 20, 15, 15, 10]
ITEMS = 400


@dataclass(frozen=True)
class Shopper:
    user_id: str
    cohort: str
    country: str
    first_day: int
    last_day: int


def generate_shopper_events(
    users: int, days: int = 365, seed: int = 11, end: datetime | None = None
) -> Iterator[dict[str, Any]]:
    """Commerce events for ``users`` shoppers over the ``days`` before ``end`` (default: now)."""
    rng = random.Random(seed)
    end = end or datetime.now(UTC)
    start = end - timedelta(days=days)
    promos = _promo_days(rng, days)
    prices = [round(min(900.0, 8 + rng.paretovariate(1.6) * 12), 2) for _ in range(ITEMS)]
    for shopper in _shoppers(rng, users, days):
        for day, chain in _session_plan(rng, shopper, promos):
            moment = start + timedelta(days=day, hours=min(23.0, max(0.0, rng.gauss(14, 4))))
            if moment >= end:
                continue
            yield from _session(rng, shopper, moment, chain, prices, end)


def warehouse_rows(events: Iterable[dict[str, Any]], received_at: datetime | None = None) -> pa.Table:
    """Envelope events → rows of the ``events`` table (what consume would store)."""
    import orjson

    received = received_at or datetime.now(UTC)
    columns: dict[str, list[Any]] = {
        name: [] for name in ("event_id", "user_id", "event_type", "ts", "source", "properties")
    }
    for event in events:
        columns["event_id"].append(event["event_id"])
        columns["user_id"].append(event["user_id"])
        columns["event_type"].append(event["type"])
        columns["ts"].append(event["timestamp"])
        columns["source"].append(event["source"])
        columns["properties"].append(orjson.dumps(event["properties"]).decode())
    ts = pa.array(columns.pop("ts"), pa.string()).cast(pa.timestamp("ms", tz="UTC"))
    table = pa.table(columns).append_column("ts", ts)
    received_column = pa.array([received] * table.num_rows, pa.timestamp("ms", tz="UTC"))
    return table.append_column("received_at", received_column)


def _shoppers(rng: random.Random, count: int, days: int) -> Iterator[Shopper]:
    cohorts = list(COHORTS)
    weights = [COHORTS[c][0] for c in cohorts]
    for _ in range(count):
        cohort = rng.choices(cohorts, weights)[0]
        first = int(rng.betavariate(1.1, 1.6) * (days - 1))
        lifetime = int(rng.expovariate(1 / COHORTS[cohort][3])) + 1
        yield Shopper(
            user_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            cohort=cohort,
            country=rng.choices(COUNTRIES, COUNTRY_WEIGHTS)[0],
            first_day=first,
            last_day=min(days - 1, first + lifetime),
        )


def _promo_days(rng: random.Random, days: int) -> set[int]:
    promos: set[int] = set()
    for _ in range(PROMO_WINDOWS):
        first = rng.randrange(days)
        promos.update(range(first, min(days, first + rng.randint(3, 6))))
    return promos


def _session_plan(rng: random.Random, shopper: Shopper, promos: set[int]) -> list[tuple[int, Chain]]:
    """Which days get which kind of session, in time order."""
    _, casual_rate, intents_per_30, _ = COHORTS[shopper.cohort]
    plan: list[tuple[int, Chain]] = [(shopper.first_day, CASUAL)]
    if shopper.cohort == "one_time":
        if rng.random() < 0.3:
            plan.append((shopper.first_day, BUYING))
        return plan
    # Each shopper has a personal rhythm around the cohort's; how much one browses says little
    # about how often one buys (window shoppers exist), so frequency alone predicts poorly.
    casual_rate *= rng.lognormvariate(0, 0.6)
    intent_rate = intents_per_30 / 30 * rng.lognormvariate(0, 0.7)
    for day in range(shopper.first_day + 1, shopper.last_day + 1):
        lift = PROMO_LIFT if day in promos else 1.0
        if rng.random() < casual_rate * lift:
            plan.append((day, CASUAL))
        if rng.random() < intent_rate * lift:
            for before in range(rng.choice([1, 2, 3, 3, 4]), 0, -1):
                if rng.random() < 0.9 and day - before >= shopper.first_day:
                    plan.extend((day - before, BROWSING_FOR_INTENT) for _ in range(rng.choice([1, 1, 2])))
            plan.append((day, BUYING))
    plan.sort(key=lambda entry: entry[0])
    return plan


def _session(
    rng: random.Random, shopper: Shopper, moment: datetime, chain: Chain, prices: list[float], end: datetime
) -> Iterator[dict[str, Any]]:
    session_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    region = f"{shopper.country}-{rng.randint(1, 30):02d}"
    state = "session_start"
    item = _item(rng)
    steps = 0
    while state != "end" and moment < end and steps < 30:
        properties: dict[str, Any] = {"session_id": session_id, "region": region, "country": shopper.country}
        if state in ("view_item", "add_to_cart", "purchase"):
            if state == "view_item" and rng.random() < 0.5:
                item = _item(rng)
            properties["item_id"] = f"item_{item}"
            properties["price"] = prices[item]
        yield {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "user_id": shopper.user_id,
            "type": state,
            "timestamp": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "source": "commerce",
            "properties": properties,
        }
        moment += timedelta(seconds=rng.uniform(5, 150))
        choices, weights = chain[state]
        state = rng.choices(choices, weights)[0]
        steps += 1


def _item(rng: random.Random) -> int:
    return min(ITEMS - 1, int(rng.paretovariate(1.2)) - 1)
