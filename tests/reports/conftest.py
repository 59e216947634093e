"""One generated dataset, stored through the real path, shared by the report tests of a module.

Events go through the ingest handler onto the embedded queue and through the consume function into
chDB, with the troubles of real delivery: a batch redelivered whole, events re-sent in a later batch,
a duplicate inside a batch, and late events (days old) arriving after newer days are stored. The
expected answers are computed with pandas from the distinct events, independently of ClickHouse.

Each module runs twice: on the events as delivered, and after three persons were erased
(``DELETE /v1/persons/{user_id}``) — the expected answers then come from the remaining events only.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from eventlens.components import Components
from eventlens.msk import event_from_records
from eventlens.queue import EmbeddedQueue
from eventlens.settings import Settings
from eventlens_tools.generator import generate_events
from eventlens_tools.local.invoke import LocalFunction
from tests.conftest import hand, http_event, isolated_settings, load_event

USERS = 80
DAYS = 120
BATCH = 2_000


@dataclass
class Dataset:
    components: Components
    settings: Settings
    events: pd.DataFrame  # the distinct events, one row per event_id, with parsed properties
    today: date


def _frame(events: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(events)
    frame["ts"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame["day"] = frame["ts"].dt.date
    frame["country"] = frame["properties"].map(lambda p: p.get("country", ""))
    return frame.rename(columns={"type": "event_type"})


def _ingest(functions: dict[str, LocalFunction], events: list[dict[str, Any]]) -> None:
    response = functions["ingest"].invoke(http_event("ingest_v1_events.json", {"events": events}))
    body = json.loads(response["body"])
    distinct = len({e["event_id"] for e in events})
    assert response["statusCode"] == 202 and body["accepted"] == distinct, body
    assert len(body["duplicates"]) == len(events) - distinct, body


def _consume(functions: dict[str, LocalFunction], settings: Settings, redeliver: bool = False) -> None:
    reader = EmbeddedQueue(settings.queue_path, settings.kafka_topic).reader("reports-test")
    while records := reader.poll(max_records=BATCH, timeout_s=0):
        for _ in range(2 if redeliver else 1):  # at-least-once: the same MSK batch again
            result = functions["consume"].invoke(event_from_records(records))
            assert result["batchItemFailures"] == []
        reader.commit(records)


def _erase(functions: dict[str, LocalFunction], user: str) -> None:
    event = load_event("persons_erase.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/v1/persons/{user}"
    event["pathParameters"] = {"user_id": user}
    response = functions["persons"].invoke(event)
    assert response["statusCode"] == 200, response


def _erased_persons(events: list[dict[str, Any]]) -> list[str]:
    """The most active Life Stream and viewing persons, and one more: whom the erasure run erases."""
    frame = pd.DataFrame(events)
    busiest = [
        frame[frame["source"] == source]["user_id"].value_counts().index[0]
        for source in ("lifestream", "viewing")
    ]
    others = sorted(set(frame["user_id"]) - set(busiest))
    return [*busiest, others[len(others) // 2]]


@pytest.fixture(scope="module", params=["delivered", "after erasure"])
def dataset(
    request: pytest.FixtureRequest,
    chdb_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    functions: dict[str, LocalFunction],
) -> Iterator[Dataset]:
    settings = isolated_settings(tmp_path_factory.mktemp("reports-home"), chdb_dir, prefix="reports")
    parts = Components(settings)
    hand(parts, functions)
    now = datetime.now(UTC)
    events = list(generate_events(USERS, days=DAYS, seed=23, end=now))
    rng = random.Random(5)
    cutoff = now.timestamp() - 20 * 86_400
    # Late: a tenth of the events older than 20 days arrive after everything else.
    late = [
        e
        for e in events
        if datetime.fromisoformat(e["timestamp"]).timestamp() < cutoff and rng.random() < 0.1
    ]
    late_ids = {e["event_id"] for e in late}
    on_time = [e for e in events if e["event_id"] not in late_ids]
    for start in range(0, len(on_time), BATCH):
        chunk = on_time[start : start + BATCH]
        _ingest(functions, chunk + chunk[:3])  # a duplicate inside the batch
    _consume(functions, settings, redeliver=True)
    _ingest(functions, rng.sample(on_time, 300))  # re-sent events, already stored
    _consume(functions, settings)
    _ingest(functions, late)
    _consume(functions, settings)
    if request.param == "after erasure":
        erased = _erased_persons(events)
        for user in erased:
            _erase(functions, user)
        events = [e for e in events if e["user_id"] not in erased]
    yield Dataset(parts, settings, _frame(events), now.date())
    parts.warehouse.command(f"DROP DATABASE IF EXISTS {settings.clickhouse_database}")
    parts.close()


@pytest.fixture
def reports(dataset: Dataset, functions: dict[str, LocalFunction]) -> Dataset:
    """The dataset, its components handed to the manifest's functions (what their handlers use)."""
    hand(dataset.components, functions)
    return dataset
