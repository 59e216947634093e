"""The Events Analytics API's CSV import (``eventlens import-csv``): through ingest onto the embedded
queue, consumed by the real consume handler, counted by the real report handler; each file once, each
event once."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from eventlens.components import Components
from eventlens.errors import QueueUnavailable
from eventlens.importers.csv_events import LEDGER_PREFIX, CsvFileError, CsvImportResult, import_csv_events
from eventlens.msk import event_from_records
from eventlens.queue import EmbeddedQueue, EventQueue
from eventlens_tools import cli
from tests.conftest import http_event, response_json

HEADER = ("event_id", "occurred_at", "user_id", "event_type", "properties")
TYPES = ("page_view", "click", "purchase")
# Recent enough for the 3,650-day rule whenever the tests run.
FIRST_DAY = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=20)
WINDOW = (FIRST_DAY.date() - timedelta(days=1), FIRST_DAY.date() + timedelta(days=10))


def _rows(count: int, with_ids: bool = True) -> list[list[str]]:
    """``count`` good Events Analytics API rows over five users and three days; every fifth without an
    event_id."""
    return [
        [
            f"00000000-0000-4000-8000-{i:012d}" if with_ids and i % 5 else "",
            (FIRST_DAY + timedelta(days=i % 3, minutes=i)).isoformat().replace("+00:00", "Z"),
            f"user_{i % 5}",
            TYPES[i % 3],
            f'{{"country": "{"UA" if i % 2 else "PL"}", "n": {i}}}',
        ]
        for i in range(count)
    ]


def _expected(rows: Sequence[Sequence[str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row[3]] = counts.get(row[3], 0) + 1
    return counts


def _write_csv(path: Path, rows: Sequence[Sequence[str]], header: Sequence[str] = HEADER) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _consume(components: Components, functions: dict[str, Any]) -> int:
    """Hand what is on the queue to the consume function as MSK events; commit after success."""
    settings = components.settings
    reader = EmbeddedQueue(settings.queue_path, settings.kafka_topic).reader("csv-import-test")
    handed = 0
    while records := reader.poll(max_records=500, timeout_s=0):
        result = functions["consume"].invoke(event_from_records(records))
        assert result["batchItemFailures"] == []
        reader.commit(records)
        handed += len(records)
    return handed


def _top_events(functions: dict[str, Any]) -> dict[str, int]:
    start, end = WINDOW
    event = http_event("report_dau.json", query=f"from={start}&to={end}&limit=100")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/stats/top-events"
    response = functions["report"].invoke(event)
    assert response["statusCode"] == 200, response["body"]
    return {row["event_type"]: row["count"] for row in response_json(response)}


def _import(
    components: Components, path: Path, batch_size: int = 10_000, queue: EventQueue | None = None
) -> CsvImportResult:
    return import_csv_events(
        path,
        queue or components.queue,
        components.objects,
        components.settings,
        batch_size,
        project_id="default",
    )


def _ledgers(components: Components) -> list[str]:
    return list(components.objects.list(LEDGER_PREFIX))


class _QueueFailingOnPublish:
    """The embedded queue, except that its ``failing_call``-th publish is refused (a broker gone)."""

    def __init__(self, queue: EventQueue, failing_call: int) -> None:
        self.topic = queue.topic
        self._queue = queue
        self._failing_call = failing_call
        self.calls = 0

    def publish(self, records: Sequence[tuple[bytes, bytes]]) -> None:
        self.calls += 1
        if self.calls == self._failing_call:
            raise QueueUnavailable("broker unreachable")
        self._queue.publish(records)

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        pass


def test_csv_file_is_imported_and_counted_exactly(
    functions: dict[str, Any], components: Components, tmp_path: Path
) -> None:
    # Given an Events Analytics API CSV file of 250 events (a fifth of them without an event_id)
    rows = _rows(250)
    path = _write_csv(tmp_path / "events.csv", rows)
    # When it is imported in chunks of 100 rows and the queue is consumed
    result = _import(components, path, batch_size=100)
    _consume(components, functions)
    # Then every row was accepted, the ledger marks the file done, and the reports count each event once
    assert (result.skipped, result.rows_read, result.accepted, result.rejected) == (False, 250, 250, [])
    assert _ledgers(components) == [f"{LEDGER_PREFIX}{result.batch_key}.json"]
    assert _top_events(functions) == _expected(rows)


def test_same_file_again_is_skipped(
    functions: dict[str, Any], components: Components, tmp_path: Path
) -> None:
    # Given a file imported and consumed
    path = _write_csv(tmp_path / "events.csv", _rows(30))
    first = _import(components, path)
    _consume(components, functions)
    # When the same unchanged file is imported again
    again = _import(components, path)
    # Then nothing was read or published: the import says it was skipped
    assert again.skipped and again.batch_key == first.batch_key
    assert (again.rows_read, again.accepted) == (0, 0)
    assert again.imported_at == first.imported_at
    assert _consume(components, functions) == 0
    assert sum(_top_events(functions).values()) == 30


def test_touched_file_is_imported_again_but_counts_once(
    functions: dict[str, Any], components: Components, tmp_path: Path
) -> None:
    # Given a file imported and consumed (rows with and without an event_id)
    rows = _rows(40)
    path = _write_csv(tmp_path / "events.csv", rows)
    first = _import(components, path)
    _consume(components, functions)
    # When the file is touched (a new mtime, so a new batch key) and imported again
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    again = _import(components, path)
    _consume(components, functions)
    # Then it was read and published again, yet every event counts once
    assert not again.skipped and again.batch_key != first.batch_key
    assert again.accepted == 40
    assert _top_events(functions) == _expected(rows)


def test_bad_rows_are_rejected_by_line_while_good_rows_land(
    functions: dict[str, Any], components: Components, tmp_path: Path
) -> None:
    # Given a file whose rows 3, 5, 6 and 8 (lines 4, 6, 7, 9) are bad in different ways
    rows = _rows(10)
    rows[3][4] = '{"country": "UA",'  # malformed JSON properties
    rows[5][2] = ""  # no user_id
    rows[6][1] = "yesterday-ish"  # not a timestamp
    rows[8][1] = (datetime.now(UTC) + timedelta(days=2)).isoformat()  # in the future
    path = _write_csv(tmp_path / "events.csv", rows)
    # When it is imported in chunks of four rows
    result = _import(components, path, batch_size=4)
    _consume(components, functions)
    # Then each bad row is named by its line and column, and the good ones are stored
    assert result.rows_read == 10 and result.accepted == 6
    assert [(r.line, r.field) for r in result.rejected] == [
        (5, "properties"),
        (7, "user_id"),
        (8, "occurred_at"),
        (10, "occurred_at"),
    ]
    assert "not valid JSON" in result.rejected[0].reason
    assert "future" in result.rejected[3].reason
    good = [row for i, row in enumerate(rows) if i not in (3, 5, 6, 8)]
    assert _top_events(functions) == _expected(good)


def test_unknown_column_refuses_the_file_before_anything_is_published(
    components: Components, tmp_path: Path
) -> None:
    # Given a file with a column the Events Analytics API does not have
    path = _write_csv(
        tmp_path / "events.csv", [[*row, "x"] for row in _rows(5)], header=(*HEADER, "campaign")
    )
    # When it is imported
    with pytest.raises(CsvFileError, match="'campaign'"):
        _import(components, path)
    # Then nothing was published and the file is not marked done
    queue = EmbeddedQueue(components.settings.queue_path, components.settings.kafka_topic)
    assert queue.reader("csv-import-test").poll(max_records=10, timeout_s=0) == []
    assert _ledgers(components) == []


def test_import_crashed_mid_file_reruns_and_stores_each_event_once(
    functions: dict[str, Any], components: Components, tmp_path: Path
) -> None:
    # Given a file without an event_id column, whose import failed on its 2nd chunk of 10 rows
    rows = _rows(35, with_ids=False)
    path = _write_csv(tmp_path / "events.csv", [row[1:] for row in rows], header=HEADER[1:])
    failing = _QueueFailingOnPublish(components.queue, failing_call=2)
    with pytest.raises(QueueUnavailable):
        _import(components, path, batch_size=10, queue=failing)
    # Then no ledger was written, and what the first chunk published is stored
    assert _ledgers(components) == []
    _consume(components, functions)
    assert sum(_top_events(functions).values()) == 10
    # When the import runs again and the queue is consumed
    result = _import(components, path, batch_size=10)
    _consume(components, functions)
    # Then the file is done and every event is stored exactly once (the derived ids are the same)
    assert (result.skipped, result.accepted) == (False, 35)
    assert _ledgers(components) == [f"{LEDGER_PREFIX}{result.batch_key}.json"]
    assert _top_events(functions) == _expected(rows)
    stored = components.warehouse.query("SELECT count() AS n, uniqExact(event_id) AS ids FROM events")
    assert (stored.column("n")[0].as_py(), stored.column("ids")[0].as_py()) == (35, 35)


def test_cli_imports_once_and_reports_rejections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a file with one bad row, and a home of its own
    rows = _rows(3)
    rows[1][2] = ""
    path = _write_csv(tmp_path / "events.csv", rows)
    monkeypatch.setenv("EVENTLENS_HOME", str(tmp_path / "home"))
    for embedded_default in ("KAFKA_BOOTSTRAP", "EVENTLENS_BUCKET"):
        monkeypatch.delenv(embedded_default, raising=False)
    # When `eventlens import-csv` runs on it twice
    first = cli.main(["import-csv", str(path), "--batch-size", "2"])
    first_out = capsys.readouterr()
    second = cli.main(["import-csv", str(path)])
    second_out = capsys.readouterr()
    # Then the first run reports counts and the bad line, the second that the file was imported already
    assert (first, second) == (0, 0)
    assert "rows read 3, accepted 2, rejected 1" in first_out.out
    assert "line 3: user_id" in first_out.err
    assert "imported already" in second_out.out
