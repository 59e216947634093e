"""One generated dataset in two projects, stored through the real path, shared by the insight tests.

Events go through the ingest handler (each project's write key) onto the embedded queue and through
the consume function into chDB, with the troubles of real delivery: a batch redelivered whole, events
re-sent in a later batch, a duplicate inside a batch, and late events (weeks old) arriving after newer
days are stored. Beside the generated users' sessions, persons are planted for the edges each insight
must get right: steps at the same moment, a step repeated, a conversion exactly at the window's end and
one a millisecond past it, events around a DST change in Europe/Kyiv, person properties that change,
and recent behaviour for cohorts. The other project holds other events under the same user ids and,
for some, the same event ids.

The expected answers are computed in tests/insights/reference.py from the distinct events.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
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
from eventlens_tools.generator import generate_events
from eventlens_tools.local.apigw import http_api_event
from eventlens_tools.local.invoke import LocalFunction
from tests.conftest import (
    OTHER_PROJECT,
    OTHER_WRITE_KEY,
    TEST_SECRET_KEY,
    TEST_WRITE_KEY,
    hand,
    http_event,
    isolated_settings,
)
from tests.insights.reference import World, from_envelope

USERS = 150
OTHER_USERS = 60
DAYS = 75
END = datetime(2025, 11, 15, 12, tzinfo=UTC)  # the generated history's last moment
BATCH = 2_000
FUNNEL_DAY = datetime(2025, 10, 20, 10, tzinfo=UTC)
WINDOW_S = 3600


@dataclass
class Dataset:
    components: Components
    settings: Settings
    worlds: dict[str, World]  # each project's distinct events
    now: datetime  # when the data was sent (behavioural cohorts count back from about then)


def _event(user: str, kind: str, at: datetime, **properties: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "user_id": user,
        "type": kind,
        "timestamp": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "source": "generic",
        "properties": properties,
    }


def planted(now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(events sent with the rest, events sent late) of the planted persons."""
    t = FUNNEL_DAY
    s = timedelta(seconds=1)
    on_time = [
        # steps 1 and 2 at the same moment (step 2's event first in the batch), step 3 ten seconds on
        _event("plant-same-ts", "f_activate", t),
        _event("plant-same-ts", "f_signup", t),
        _event("plant-same-ts", "f_buy", t + 10 * s, amount=30),
        # step 2 exactly at the window's end converts; step 3 a millisecond past it does not
        _event("plant-boundary", "f_signup", t),
        _event("plant-boundary", "f_activate", t + WINDOW_S * s),
        _event("plant-boundary", "f_buy", t + WINDOW_S * s + timedelta(milliseconds=1), amount=12),
        # a repeated step: one f_signup is one step, two are two
        _event("plant-repeat-once", "f_signup", t),
        _event("plant-repeat-once", "f_buy", t + 5 * s, amount=7),
        _event("plant-repeat-twice", "f_signup", t),
        _event("plant-repeat-twice", "f_signup", t + s),
        # strict: another event between the steps breaks the chain
        _event("plant-strict", "f_signup", t),
        _event("plant-strict", "x_other", t + s),
        _event("plant-strict", "f_activate", t + 2 * s),
        _event("plant-strict", "f_buy", t + 3 * s, amount=99.5),
        # unordered: the steps backwards
        _event("plant-backwards", "f_buy", t, amount=5),
        _event("plant-backwards", "f_activate", t + s),
        _event("plant-backwards", "f_signup", t + 2 * s),
        # a second start: the first is too long before step 2, the second is not
        _event("plant-two-starts", "f_signup", t),
        _event("plant-two-starts", "f_signup", t + 3000 * s),
        _event("plant-two-starts", "f_activate", t + 4000 * s),
        # several attempts: times from the latest steps before the first arrival at each step
        _event("plant-many", "f_signup", t),
        _event("plant-many", "f_activate", t + 100 * s),
        _event("plant-many", "f_signup", t + 200 * s),
        _event("plant-many", "f_activate", t + 300 * s),
        _event("plant-many", "f_buy", t + 500 * s, amount=1),
        # around the DST change in Europe/Kyiv (2025-10-26 04:00 EEST → 03:00 EET, 01:00 UTC)
        _event("plant-dst-a", "dst_ping", datetime(2025, 10, 25, 21, 30, tzinfo=UTC)),  # 00:30 on the 26th
        _event("plant-dst-b", "dst_ping", datetime(2025, 10, 25, 20, 59, 59, 999000, tzinfo=UTC)),  # the 25th
        _event("plant-dst-c", "dst_ping", datetime(2025, 10, 26, 0, 30, tzinfo=UTC)),  # 03:30 EEST
        _event("plant-dst-c", "dst_ping", datetime(2025, 10, 26, 1, 30, tzinfo=UTC)),  # 03:30 EET
        _event(
            "plant-dst-d", "dst_ping", datetime(2025, 10, 26, 21, 59, 59, tzinfo=UTC)
        ),  # 23:59:59 the 26th
        _event("plant-dst-d", "dst_ping", datetime(2025, 10, 26, 22, tzinfo=UTC)),  # 00:00 the 27th
        # person properties that change: the latest value counts
        _event("plant-pp-1", "profile", datetime(2025, 10, 1, tzinfo=UTC), plan="free", seats=1),
        _event("plant-pp-1", "profile", datetime(2025, 10, 10, tzinfo=UTC), plan="pro", seats=5),
        _event("plant-pp-2", "profile", datetime(2025, 10, 1, tzinfo=UTC), plan="pro", seats=3),
        _event("plant-pp-2", "profile", datetime(2025, 10, 12, tzinfo=UTC), plan="free"),
        _event("plant-pp-3", "profile", datetime(2025, 10, 2, tzinfo=UTC), plan="pro", seats=9),
        _event("plant-pp-3", "f_signup", datetime(2025, 10, 20, 9, tzinfo=UTC)),
        # recent behaviour, for cohorts of the last days
        *(_event("plant-recent-1", "c_ping", now - timedelta(days=d)) for d in (1, 2, 3)),
        _event("plant-recent-2", "c_ping", now - timedelta(days=1)),
        *(_event("plant-recent-3", "c_ping", now - timedelta(days=d)) for d in (40, 41, 42)),
    ]
    late = [
        _event("plant-late", "f_signup", t + 30 * s),
        _event("plant-late", "f_activate", t + 90 * s),
        _event("plant-late", "dst_ping", datetime(2025, 10, 26, 2, tzinfo=UTC)),
    ]
    return on_time, late


def _ingest(functions: dict[str, LocalFunction], events: list[dict[str, Any]], key: str) -> None:
    response = functions["ingest"].invoke(http_event("ingest_v1_events.json", {"events": events}, key=key))
    body = json.loads(response["body"])
    distinct = len({e["event_id"] for e in events})
    assert response["statusCode"] == 202 and body["accepted"] == distinct, body


def _consume(functions: dict[str, LocalFunction], settings: Settings, redeliver: bool = False) -> None:
    reader = EmbeddedQueue(settings.queue_path, settings.kafka_topic).reader("insights-test")
    while records := reader.poll(max_records=BATCH, timeout_s=0):
        for _ in range(2 if redeliver else 1):  # at-least-once: the same MSK batch again
            result = functions["consume"].invoke(event_from_records(records))
            assert result["batchItemFailures"] == []
        reader.commit(records)


def _deliver(
    functions: dict[str, LocalFunction],
    settings: Settings,
    events: list[dict[str, Any]],
    late: list[dict[str, Any]],
    key: str,
) -> None:
    """Send ``events`` with duplicates in batches and again, consume (each batch twice), then ``late``."""
    rng = random.Random(5)
    for start in range(0, len(events), BATCH):
        chunk = events[start : start + BATCH]
        _ingest(functions, chunk + chunk[:3], key)  # a duplicate inside the batch
    _consume(functions, settings, redeliver=True)
    _ingest(functions, rng.sample(events, min(300, len(events))), key)  # re-sent, already stored
    _consume(functions, settings)
    _ingest(functions, late, key)
    _consume(functions, settings)


def _split_late(events: list[dict[str, Any]], seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A tenth of the events older than 20 days before END, to arrive after everything else."""
    rng = random.Random(seed)
    cutoff = (END - timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%S")
    late = [e for e in events if e["timestamp"] < cutoff and rng.random() < 0.1]
    late_ids = {e["event_id"] for e in late}
    return [e for e in events if e["event_id"] not in late_ids], late


@pytest.fixture(scope="package")
def dataset(
    chdb_dir: Path, tmp_path_factory: pytest.TempPathFactory, functions: dict[str, LocalFunction]
) -> Iterator[Dataset]:
    settings = isolated_settings(tmp_path_factory.mktemp("insights-home"), chdb_dir, prefix="insights")
    parts = Components(settings)
    hand(parts, functions)
    now = datetime.now(UTC)
    ours = list(generate_events(USERS, days=DAYS, seed=23, end=END))
    plant, plant_late = planted(now)
    on_time, late = _split_late(ours + plant, seed=5)
    _deliver(functions, settings, on_time, late + plant_late, TEST_WRITE_KEY)
    # The other project: other users' events under the same ids, some with our event ids
    theirs = list(generate_events(OTHER_USERS, days=DAYS, seed=99, end=END))
    for mine, other in zip(ours[:200], theirs[:200], strict=True):
        other["event_id"] = mine["event_id"]
    other_users = {e["user_id"] for e in theirs}
    renamed = dict(zip(sorted(other_users), sorted({e["user_id"] for e in ours}), strict=False))
    for e in theirs:
        e["user_id"] = renamed.get(e["user_id"], e["user_id"])
    their_plant = [
        _event("plant-same-ts", "f_signup", FUNNEL_DAY + timedelta(minutes=5)),
        _event("plant-boundary", "f_signup", FUNNEL_DAY),
        _event("plant-boundary", "f_activate", FUNNEL_DAY + timedelta(seconds=10)),
        _event("plant-pp-1", "profile", datetime(2025, 10, 11, tzinfo=UTC), plan="enterprise"),
        _event("plant-recent-2", "c_ping", now - timedelta(days=2)),
    ]
    their_on_time, their_late = _split_late(theirs + their_plant, seed=6)
    _deliver(functions, settings, their_on_time, their_late, OTHER_WRITE_KEY)
    worlds = {
        DEFAULT_PROJECT: World(
            from_envelope(e) for e in {e["event_id"]: e for e in ours + plant + plant_late}.values()
        ),
        OTHER_PROJECT: World(
            from_envelope(e) for e in {e["event_id"]: e for e in theirs + their_plant}.values()
        ),
    }
    yield Dataset(parts, settings, worlds, now)
    parts.warehouse.command(f"DROP DATABASE IF EXISTS {settings.clickhouse_database}")
    parts.close()


@pytest.fixture
def insights(dataset: Dataset, functions: dict[str, LocalFunction]) -> Dataset:
    """The dataset, its components handed to the manifest's functions (what their handlers use)."""
    hand(dataset.components, functions)
    return dataset


def ask(
    functions: dict[str, LocalFunction],
    path: str,
    body: Any = None,
    key: str = TEST_SECRET_KEY,
    method: str = "POST",
    raw: bytes | None = None,
) -> tuple[int, Any]:
    """``method path`` through the report function, as API Gateway hands it over: (status, JSON)."""
    payload = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    headers = [("authorization", f"Bearer {key}"), ("content-type", "application/json")]
    event = http_api_event(method, path, "", headers, payload, HttpRoute(method, path), {})
    response = functions["report"].invoke(event)
    text = response.get("body") or "null"
    return response["statusCode"], json.loads(text)


def differences(got: Any, want: Any, at: str = "$", rel: float = 1e-9) -> list[str]:
    """Where ``got`` (an answer) differs from ``want`` (the reference): numbers within ``rel``."""
    if isinstance(want, float) and isinstance(got, int | float) and not isinstance(got, bool):
        return [] if abs(got - want) <= rel * max(1.0, abs(want)) else [f"{at}: {got!r} != {want!r}"]
    if isinstance(want, dict) and isinstance(got, dict):
        missing = [f"{at}.{k}: missing" for k in want if k not in got]
        return missing + [d for k in want if k in got for d in differences(got[k], want[k], f"{at}.{k}", rel)]
    if isinstance(want, list) and isinstance(got, list):
        if len(got) != len(want):
            return [f"{at}: {len(got)} items != {len(want)}"]
        return [
            d
            for i, (g, w) in enumerate(zip(got, want, strict=True))
            for d in differences(g, w, f"{at}[{i}]", rel)
        ]
    return [] if got == want else [f"{at}: {got!r} != {want!r}"]
