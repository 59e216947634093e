"""The persons step stays exact under faults, as the rest of consume: with the warehouse failing before
or after any one statement of a batch's store (the identity statements included), and the batch then
delivered again, the mapping, the overlaps and every persons figure equal the reference's."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path
from typing import Any

from eventlens.components import Components
from eventlens.consume import store_records
from eventlens.errors import WarehouseError
from eventlens.identity import LABELS
from eventlens.ingest import ingest_events
from eventlens.keys import DEFAULT_PROJECT
from eventlens.queue import EmbeddedQueue, QueuedRecord
from eventlens.reports import activity, retention, viewing
from eventlens.settings import Settings
from tests.conftest import isolated_settings, opened_components
from tests.persons import reference
from tests.persons.conftest import DAYS, END, world
from tests.persons.reference import Persons
from tests.reliability.test_crash_exact_consume import FailingWarehouse

LAST = END.date()
FIRST = LAST - timedelta(days=DAYS - 1)


def _batches(tmp_path: Path) -> tuple[list[list[QueuedRecord]], list[reference.Event]]:
    """The world's events through ingest (each as /v1/events takes it), in shuffled requests of 25."""
    sent = world(seed=29)
    events = [s.event for s in sent]
    random.Random(8).shuffle(events)
    queue = EmbeddedQueue(tmp_path / "queue", "raw-events")
    settings = Settings(EVENTLENS_HOME=Path("/nonexistent"))
    for start in range(0, len(events), 25):
        chunk = [e.envelope() for e in events[start : start + 25]]
        ingest_events(chunk, queue, settings, project_id=DEFAULT_PROJECT)
    records = queue.reader("consume").poll(max_records=1_000_000, timeout_s=0)
    queue.close()
    size = max(1, len(records) // 90)
    distinct = sorted(set(events), key=lambda e: (e.ts, e.event_id))
    return [records[i : i + size] for i in range(0, len(records), size)], distinct


_OVERLAPS = f"""
SELECT toString(o.period) AS period, o.start AS start, l.person_id AS person, o.extra AS extra
FROM (SELECT period, start, person, extra FROM person_overlaps FINAL
      WHERE project_id = {{project:String}} AND extra > 0) AS o
INNER JOIN (
    SELECT DISTINCT person_id, reinterpretAsUInt128(sipHash128(person_id)) AS hash FROM ({LABELS})
) AS l ON l.hash = o.person
ORDER BY ALL
"""


def _overlaps(events: list[reference.Event], people: Persons) -> list[dict[str, Any]]:
    """Per period and person active under several ids: how many ids more than one."""
    ids: dict[tuple[str, Any, str], set[str]] = {}
    for e in events:
        for period in ("day", "week", "month"):
            key = (period, reference.period_start(period, e.day), people.of(e.user_id))
            ids.setdefault(key, set()).add(e.user_id)
    rows = [
        {"period": p, "start": s, "person": who, "extra": len(active) - 1}
        for (p, s, who), active in ids.items()
        if len(active) > 1
    ]
    return sorted(rows, key=lambda r: (r["period"], r["start"], r["person"]))


def test_a_warehouse_failure_at_any_statement_leaves_the_persons_exact(
    tmp_path: Path, chdb_dir: Path
) -> None:
    with opened_components(isolated_settings(tmp_path / "a", chdb_dir, "pfaulty")) as faulty:
        _run(faulty, tmp_path)


def _run(faulty: Components, tmp_path: Path) -> None:
    # Given batches of identity-heavy events, and how many statements the first batches' stores take
    batches, events = _batches(tmp_path)
    warehouse = faulty.warehouse
    most = 0
    for records in batches[:8]:
        counter = FailingWarehouse(warehouse, fail_at=0, after=False)
        store_records(records, counter, faulty.dead_letters)
        most = max(most, counter.calls)
    assert most >= 20

    # When each later batch is stored with the warehouse failing at one statement (each statement in
    # turn, before and after it ran), and the batch is then delivered again as Kafka would
    faults = [(k, after) for k in range(1, most + 5) for after in (False, True)]
    failed = 0
    for index, records in enumerate(batches[8:]):
        fail_at, after = faults[index % len(faults)]
        try:
            store_records(records, FailingWarehouse(warehouse, fail_at, after), faulty.dead_letters)
        except WarehouseError:
            failed += 1
        store_records(records, warehouse, faulty.dead_letters)

    # Then most stores failed part way, and the mapping, the overlaps and the figures are the reference's
    assert failed > len(batches) // 2
    people = Persons(events)
    rows = warehouse.query(LABELS, {"project": DEFAULT_PROJECT}).to_pylist()
    assert {r["distinct_id"]: r["person_id"] for r in rows} == people.merged()
    assert warehouse.query(_OVERLAPS, {"project": DEFAULT_PROJECT}).to_pylist() == _overlaps(events, people)
    for period, report in (("day", activity.dau), ("week", activity.wau), ("month", activity.mau)):
        got = [r.unique_users for r in report(warehouse, DEFAULT_PROJECT, FIRST, LAST, [])]
        assert got == reference.active_persons(events, people, period, FIRST, LAST), period
    got_retention = retention.retention_cohorts(warehouse, DEFAULT_PROJECT, FIRST, 4, [], LAST)
    assert got_retention == reference.retention(events, people, FIRST, 4, LAST)
    trends = viewing.trends(warehouse, DEFAULT_PROJECT, 30, LAST).model_dump(mode="json")["trends"]
    assert trends == reference.viewing(events, people, 30, LAST)["trends"]
