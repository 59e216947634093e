"""The dead-letter store: queue records consume could not store, with the reason, to list and replay.

Each dead letter is one event that could not be stored (or a whole record that is not JSON), in
object storage keyed by its queue coordinates (``dead-letters/<topic>/<partition>/<offset>-<index>.json``),
so writing one twice (a redelivered batch) leaves one. Replaying publishes its key and value to the
queue again and moves the object under ``dead-letters-replayed/``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from eventlens.objectstore import ObjectStore
from eventlens.queue import EventQueue

PENDING = "dead-letters/"
REPLAYED = "dead-letters-replayed/"


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    index: int  # the event's place in its record, from 1
    key: bytes
    value: bytes
    reason: str
    failed_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    @property
    def object_key(self) -> str:
        return f"{PENDING}{self.topic}/{self.partition:05d}/{self.offset:020d}-{self.index:05d}.json"

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> DeadLetter:
        return cls(
            topic=row["topic"],
            partition=int(row["partition"]),
            offset=int(row["offset"]),
            index=int(row["item_index"]),
            key=_as_bytes(row["key"]),
            value=_as_bytes(row["raw"]),
            reason=row["reason"],
        )

    def to_json(self) -> bytes:
        body = asdict(self)
        body["key"] = base64.b64encode(self.key).decode()
        body["value"] = base64.b64encode(self.value).decode()
        body["value_text"] = self.value.decode("utf-8", errors="replace")  # for a person reading it
        return orjson.dumps(body)

    @classmethod
    def from_json(cls, data: bytes) -> DeadLetter:
        body = orjson.loads(data)
        return cls(
            topic=body["topic"],
            partition=body["partition"],
            offset=body["offset"],
            index=body["index"],
            key=base64.b64decode(body["key"]),
            value=base64.b64decode(body["value"]),
            reason=body["reason"],
            failed_at=body["failed_at"],
        )


class DeadLetterStore:
    def __init__(self, objects: ObjectStore) -> None:
        self.objects = objects

    def put_many(self, letters: Sequence[DeadLetter]) -> None:
        for letter in letters:
            self.objects.put(letter.object_key, letter.to_json())

    def pending(self) -> Iterator[tuple[str, DeadLetter]]:
        """Every dead letter not yet replayed, with its object key."""
        for key in self.objects.list(PENDING):
            yield key, DeadLetter.from_json(self.objects.get(key))

    def replay(self, queue: EventQueue, keys: Sequence[str] | None = None) -> int:
        """Publish dead letters (all pending, or the named ones) again; returns how many."""
        chosen = [(k, letter) for k, letter in self.pending() if keys is None or k in keys]
        if not chosen:
            return 0
        queue.publish([(letter.key, letter.value) for _, letter in chosen])
        for key, letter in chosen:
            self.objects.put(REPLAYED + key.removeprefix(PENDING), letter.to_json())
            self.objects.delete(key)
        return len(chosen)


def _as_bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()
