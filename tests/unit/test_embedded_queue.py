"""The embedded queue: durable, partitioned, at-least-once, and whole after a crash."""

from __future__ import annotations

from pathlib import Path

from eventlens.queue import EmbeddedQueue


def _all(queue: EmbeddedQueue, group: str = "g") -> list[bytes]:
    return [r.value for r in queue.reader(group).poll(max_records=10_000, timeout_s=0)]


def test_records_of_one_key_stay_in_order_on_one_partition(tmp_path: Path) -> None:
    queue = EmbeddedQueue(tmp_path, "events", partitions=4)
    queue.publish([(f"user-{i % 3}".encode(), f"{i}".encode()) for i in range(30)])
    records = queue.reader("g").poll(max_records=100, timeout_s=0)
    by_key: dict[bytes, list[tuple[int, int, int]]] = {}
    for record in records:
        by_key.setdefault(record.key, []).append((record.partition, record.offset, int(record.value)))
    for seen in by_key.values():
        assert len({partition for partition, _, _ in seen}) == 1
        assert [value for _, _, value in seen] == sorted(value for _, _, value in seen)
    assert len(records) == 30


def test_uncommitted_records_are_delivered_again_after_a_restart(tmp_path: Path) -> None:
    # Given ten records, of which a consumer committed the first four
    queue = EmbeddedQueue(tmp_path, "events", partitions=1)
    queue.publish([(b"k", str(i).encode()) for i in range(10)])
    reader = queue.reader("g")
    first = reader.poll(max_records=4, timeout_s=0)
    reader.commit(first)
    reader.poll(max_records=6, timeout_s=0)  # handed out, never committed (the consumer died)
    # When a new consumer of the group starts
    again = EmbeddedQueue(tmp_path, "events", partitions=1).reader("g").poll(max_records=100, timeout_s=0)
    # Then it gets exactly the six that were not committed
    assert [r.value for r in again] == [str(i).encode() for i in range(4, 10)]


def test_rewind_hands_out_the_uncommitted_batch_again(tmp_path: Path) -> None:
    queue = EmbeddedQueue(tmp_path, "events", partitions=1)
    queue.publish([(b"k", b"a"), (b"k", b"b")])
    reader = queue.reader("g")
    assert [r.value for r in reader.poll(10, 0)] == [b"a", b"b"]
    reader.rewind()
    assert [r.value for r in reader.poll(10, 0)] == [b"a", b"b"]
    assert reader.lag() == 2


def test_a_torn_write_is_cut_and_nothing_after_it_is_lost(tmp_path: Path) -> None:
    # Given a log whose writer crashed halfway through a frame
    queue = EmbeddedQueue(tmp_path, "events", partitions=1)
    queue.publish([(b"k", b"whole-1"), (b"k", b"whole-2")])
    with open(queue.partition_path(0), "ab") as log:
        log.write(b"\x00\x00\x00\x09partial")
    # Then readers stop before the torn frame
    assert _all(queue) == [b"whole-1", b"whole-2"]
    # When a new writer opens the log and publishes
    EmbeddedQueue(tmp_path, "events", partitions=1).publish([(b"k", b"after-crash")])
    # Then the torn bytes are gone and every whole record is readable, in order
    assert _all(queue, "fresh") == [b"whole-1", b"whole-2", b"after-crash"]
