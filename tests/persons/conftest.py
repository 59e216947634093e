"""Persons stitched from the SDKs' identity calls, stored through the real path, shared by the tests.

Anonymous visitors browse, sign up on a later day and go on under their known id, each person telling
eventlens so in one of the ways clients do: a ``/v1/events`` event carrying ``$anonymous_id`` (as
Segment's anonymousId beside a userId), Segment's identify and alias calls on ``/v1/batch``, PostHog's
``$identify``, ``$create_alias`` and ``$merge_dangerously`` on ``/batch/``. Some aliases chain
(anonymous → anonymous → known) with the links arriving in reverse order; some merges arrive after
every other event was stored; two known persons are merged late; some visitors never sign up; some
clients send ids PostHog refuses to merge ("null", "anonymous"). Traits come as ``$set`` and
``$set_once``, some from the anonymous id before the merge. Delivery has its troubles: every consume
batch is delivered twice, events are sent again later, late events come after newer days are stored.

The other project receives the same events (same ids) without their identity calls, plus one merge of
its own, so a merge in one project must never show in the other.

``dataset`` runs twice: the events sent in the order they happened, and shuffled (merges before the
events they join, chains in any order): the persons and every figure must not depend on it.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from eventlens.components import Components
from eventlens.keys import DEFAULT_PROJECT
from eventlens.manifest import HttpRoute
from eventlens.msk import event_from_records
from eventlens.queue import EmbeddedQueue
from eventlens.settings import Settings
from eventlens_tools.local.apigw import http_api_event
from eventlens_tools.local.invoke import LocalFunction
from tests.conftest import OTHER_PROJECT, OTHER_WRITE_KEY, TEST_WRITE_KEY, hand, http_event, isolated_settings
from tests.persons.reference import Event

END = datetime(2025, 11, 15, 23, tzinfo=UTC)
DAYS = 70
PERSONS = 72
BATCH = 400  # records a consume batch takes
MOVIES = ["m1", "m2", "m3", "m4", "m5"]
COUNTRIES = ["UA", "PL", "DE"]
IDENTITY_TYPES = ("$identify", "$create_alias", "$merge_dangerously")


@dataclass(frozen=True)
class Sent:
    """One event as stored (``event``), the route that carries it, and whether it comes late."""

    event: Event
    via: str  # "v1", "segment" or "posthog"
    late: bool = False


@dataclass
class Dataset:
    components: Components
    settings: Settings
    events: dict[str, list[Event]]  # each project's distinct events
    order: str


def day_at(day: int, rng: random.Random, hour: int | None = None) -> datetime:
    """A moment of day ``day`` of the history (0 = the first), whole milliseconds."""
    base = (END - timedelta(days=DAYS - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    seconds = (hour * 3600 + rng.randrange(3600)) if hour is not None else rng.randrange(86_400)
    return base + timedelta(days=day, seconds=seconds, milliseconds=rng.randrange(1000))


def _event(
    user: str, kind: str, at: datetime, properties: dict[str, Any] | None = None, source: str = "generic"
) -> Event:
    return Event(str(uuid.uuid4()), user, kind, at, source, properties or {})


def _browsing(user: str, days: list[int], country: str, rng: random.Random, via: str) -> list[Sent]:
    """Page views and clicks on ``days``; a third of the visitors also watch movies (/v1/events)."""
    sent = []
    for day in days:
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(["page_view", "click", "search"])
            properties: dict[str, Any] = {"country": country, "page": f"/p/{rng.randint(1, 4)}"}
            if via == "segment" and user.startswith("anon-"):  # sent with an anonymousId only
                properties["$anonymous_id"] = user
            sent.append(Sent(_event(user, kind, day_at(day, rng), properties), via))
        if rng.random() < 0.35:
            movie, at = rng.choice(MOVIES), day_at(day, rng, hour=rng.choice([19, 20, 21]))
            for step, kind in enumerate(["start", "progress", "finish"][: rng.randint(1, 3)]):
                properties = {"movie_id": movie, "position_seconds": 600 * step}
                moment = at + timedelta(minutes=10 * step)
                sent.append(Sent(_event(user, kind, moment, properties, "viewing"), "v1"))
    return sent


def person_events(k: int, rng: random.Random) -> list[Sent]:
    """Person ``k``'s events: anonymous browsing, a sign-up that says who they are (one of eight
    ways, by ``k % 8``), then browsing under their known id."""
    known, anon, second = f"u{k:03d}", f"anon-{k:03d}-a", f"anon-{k:03d}-b"
    country = COUNTRIES[k % len(COUNTRIES)]
    first = rng.randrange(DAYS - 25)
    signup = first + rng.randrange(1, 8)
    before = sorted(rng.sample(range(first, signup + 1), k=min(3, signup - first + 1)))
    after = sorted(rng.sample(range(signup, min(DAYS, signup + 25)), k=min(6, DAYS - signup)))
    plan = rng.choice(["free", "pro"])
    way = k % 8
    anon_via = {1: "segment", 3: "segment", 2: "posthog", 4: "posthog"}.get(way, "v1")
    sent = _browsing(anon, before, country, rng, anon_via)
    at = day_at(signup, rng, hour=12)
    if way == 0:  # /v1/events with Segment's anonymousId beside the user id, and traits
        sent.append(Sent(_event(known, "signup", at, {"$anonymous_id": anon, "$set": {"plan": plan}}), "v1"))
    elif way == 1:  # Segment identify, then track calls carrying both ids (the same pair again)
        sent.append(
            Sent(_event(known, "$identify", at, {"$set": {"plan": plan}, "$anonymous_id": anon}), "segment")
        )
        later = day_at(after[-1], rng)
        sent.append(
            Sent(_event(known, "checkout", later, {"$anonymous_id": anon, "country": country}), "segment")
        )
    elif way == 2:  # PostHog $identify with $set and $set_once; an older $set from the anonymous id
        properties = {
            "$anon_distinct_id": anon,
            "$set": {"plan": plan},
            "$set_once": {"first_plan": plan},
            "$groups": {"company": f"c{k % 3}"},
        }
        sent.append(Sent(_event(known, "$identify", at, properties), "posthog"))
        early = day_at(before[0], rng)
        sent.append(
            Sent(_event(anon, "pricing", early, {"$set": {"plan": "trial", "seen": True}}), "posthog")
        )
    elif way == 3:  # a chain of Segment aliases: anon → second → known, the first link sent late
        sent += _browsing(second, [signup], country, rng, "segment")
        link = day_at(max(first, signup - 1), rng)
        sent.append(Sent(_event(second, "$create_alias", link, {"$previous_id": anon}), "segment", late=True))
        sent.append(Sent(_event(known, "$create_alias", at, {"$previous_id": second}), "segment"))
    elif way == 4:  # PostHog alias (distinct_id the old id) and $merge_dangerously of a second device
        sent += _browsing(second, after[:2], country, rng, "posthog")
        alias = {"distinct_id": anon, "alias": known}
        sent.append(Sent(_event(anon, "$create_alias", at, alias), "posthog"))
        merge_at = day_at(after[-1], rng)
        sent.append(Sent(_event(known, "$merge_dangerously", merge_at, {"alias": second}), "posthog"))
    elif way == 5:  # the merge comes after everything else was stored
        sent.append(
            Sent(
                _event(known, "signup", at, {"$anonymous_id": anon, "$set_once": {"plan": plan}}),
                "v1",
                late=True,
            )
        )
    elif way == 6:  # a visitor who never signs up (the known id is someone else), traits on an event
        profile = {"plan": "basic", "name": f"Visitor {k}"}
        sent.append(Sent(_event(anon, "profile", day_at(before[-1], rng), profile), "v1"))
    else:  # ids PostHog refuses to merge: no merge; a plan on an event, and an older $set_once of it
        sent.append(Sent(_event(known, "signup", at, {"$anonymous_id": "null", "plan": "pro"}), "v1"))
        sent.append(Sent(_event(known, "$identify", at, {"$anon_distinct_id": "anonymous"}), "posthog"))
        sent.append(
            Sent(_event(known, "settings", day_at(first, rng), {"$set_once": {"plan": "free"}}), "v1")
        )
    sent += _browsing(known, after, country, rng, {1: "segment", 2: "posthog"}.get(way, "v1"))
    # A tenth of the older browsing arrives late (after newer days are stored).
    return [replace(s, late=True) if not s.late and rng.random() < 0.1 else s for s in sent]


def world(seed: int = 11) -> list[Sent]:
    """Every person's events, two known persons merged late, and a group call or two."""
    rng = random.Random(seed)
    sent = [s for k in range(PERSONS) for s in person_events(k, rng)]
    merge_at = day_at(DAYS - 5, rng)
    sent.append(Sent(_event("u008", "$merge_dangerously", merge_at, {"alias": "u017"}), "posthog", late=True))
    for k in range(0, PERSONS, 9):
        group = {"$group_id": f"g{k % 4}", "$group_set": {"name": f"Group {k % 4}"}}
        sent.append(Sent(_event(f"u{k:03d}", "$groupidentify", day_at(DAYS - 3, rng), group), "segment"))
    return sent


def other_world(sent: list[Sent]) -> list[Sent]:
    """The other project's events: the same ids and event ids, none of the identity calls or pairs, and
    one merge of its own (u001 with u002, who are two persons in the default project)."""
    keep = []
    for s in sent:
        if s.event.type in IDENTITY_TYPES:
            continue
        properties = {
            k: v for k, v in s.event.properties.items() if k not in ("$anonymous_id", "$anon_distinct_id")
        }
        keep.append(Sent(replace(s.event, properties=properties), "v1", s.late))
    rng = random.Random(3)
    merge = _event("u001", "$merge_dangerously", day_at(DAYS - 2, rng), {"alias": "u002"})
    return [*keep, Sent(merge, "v1")]


# --- the wire ---------------------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def segment_message(event: Event) -> dict[str, Any]:
    """The Segment message that is stored as ``event`` (sdk_formats: identify → $identify with traits
    as $set, alias → $create_alias with $previous_id, group → $groupidentify, anonymousId beside a
    userId → $anonymous_id)."""
    properties = dict(event.properties)
    message: dict[str, Any] = {"messageId": event.event_id, "timestamp": _iso(event.ts)}
    anonymous = properties.pop("$anonymous_id", None)
    if anonymous is not None:
        message["anonymousId"] = anonymous
    if anonymous != event.user_id:
        message["userId"] = event.user_id
    if event.type == "$identify":
        message.update(type="identify", traits=properties.pop("$set", {}))
    elif event.type == "$create_alias":
        message.update(type="alias", previousId=properties.pop("$previous_id"))
    elif event.type == "$groupidentify":
        message.update(
            type="group", groupId=properties.pop("$group_id"), traits=properties.pop("$group_set", {})
        )
    else:
        message.update(type="track", event=event.type, properties=properties)
        return message
    assert not properties, properties  # nothing else rides on these calls
    return message


def posthog_event(event: Event) -> dict[str, Any]:
    """The PostHog capture event stored as ``event``."""
    return {
        "event": event.type,
        "distinct_id": event.user_id,
        "uuid": event.event_id,
        "timestamp": _iso(event.ts),
        "properties": event.properties,
    }


def send(functions: dict[str, LocalFunction], via: str, events: list[Event], key: str) -> None:
    """``events`` through the ingest function on ``via``'s route, with ``key`` as each protocol sends it."""
    if via == "v1":
        response = functions["ingest"].invoke(
            http_event("ingest_v1_events.json", {"events": [e.envelope() for e in events]}, key=key)
        )
        assert response["statusCode"] == 202, response
        return
    if via == "segment":
        path, body = "/v1/batch", {"batch": [segment_message(e) for e in events], "writeKey": key}
    else:
        path, body = "/batch/", {"api_key": key, "batch": [posthog_event(e) for e in events]}
    headers = [("content-type", "application/json")]
    request = http_api_event(
        "POST", path, "", headers, json.dumps(body).encode(), HttpRoute("POST", path), {}
    )
    response = functions["ingest"].invoke(request)
    assert response["statusCode"] == 200, response


def consume(
    functions: dict[str, LocalFunction], settings: Settings, group: str, redeliver: bool = False
) -> None:
    reader = EmbeddedQueue(settings.queue_path, settings.kafka_topic).reader(group)
    while records := reader.poll(max_records=BATCH, timeout_s=0):
        for _ in range(2 if redeliver else 1):  # at-least-once: the same MSK batch again
            result = functions["consume"].invoke(event_from_records(records))
            assert result["batchItemFailures"] == []
        reader.commit(records)


def deliver(
    functions: dict[str, LocalFunction], settings: Settings, sent: list[Sent], key: str, order: str, seed: int
) -> None:
    """Send ``sent`` in requests of up to 60 events per route (``order``: as they happened, or shuffled),
    consume every batch twice, send a sample again, then the late events."""
    rng = random.Random(seed)
    on_time = [s for s in sent if not s.late]
    late = [s for s in sent if s.late]
    for part in (on_time, late):
        part.sort(key=lambda s: (s.event.ts, s.event.event_id))
        if order == "shuffled":
            rng.shuffle(part)
    for phase, part in enumerate((on_time, late)):
        for start in range(0, len(part), 60):
            chunk = part[start : start + 60]
            for via in ("v1", "segment", "posthog"):
                events = [s.event for s in chunk if s.via == via]
                if events:
                    send(functions, via, events, key)
        consume(functions, settings, "persons-test", redeliver=phase == 0)
        if phase == 0:  # events sent again (already stored)
            again = [s.event for s in rng.sample(on_time, 40)]
            send(functions, "v1", [e for e in again if e.source == "viewing"], key)
            consume(functions, settings, "persons-test")


@pytest.fixture(scope="module", params=["as it happened", "shuffled"])
def dataset(
    request: pytest.FixtureRequest,
    chdb_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    functions: dict[str, LocalFunction],
) -> Iterator[Dataset]:
    settings = isolated_settings(tmp_path_factory.mktemp("persons-home"), chdb_dir, prefix="persons")
    parts = Components(settings)
    hand(parts, functions)
    ours = world()
    theirs = other_world(ours)
    deliver(functions, settings, ours, TEST_WRITE_KEY, request.param, seed=5)
    deliver(functions, settings, theirs, OTHER_WRITE_KEY, request.param, seed=6)
    events = {
        DEFAULT_PROJECT: sorted({s.event for s in ours}, key=lambda e: (e.ts, e.event_id)),
        OTHER_PROJECT: sorted({s.event for s in theirs}, key=lambda e: (e.ts, e.event_id)),
    }
    yield Dataset(parts, settings, events, request.param)
    parts.warehouse.command(f"DROP DATABASE IF EXISTS {settings.clickhouse_database}")
    parts.close()


@pytest.fixture
def persons(dataset: Dataset, functions: dict[str, LocalFunction]) -> Dataset:
    """The dataset, its components handed to the manifest's functions (what their handlers use)."""
    hand(dataset.components, functions)
    return dataset
