"""The dead-letter store: queue records consume could not store, with the reason, to list and replay.

Each dead letter is one event that could not be stored (or a whole record that is not JSON), in
object storage keyed by its queue coordinates (``dead-letters/<topic>/<partition>/<offset>-<index>.json``),
so writing one twice (a redelivered batch) leaves one. Replaying publishes its key and value to the
queue again and moves the object under ``dead-letters-replayed/``.

A dead letter belongs to the project its record would be stored in: the one the record names (ingest
writes the caller's project into each event), else ``default``, as consume files a record that names
none. Listing, replay and erasure can keep to one project.
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
# Where consume stores a record that names no project (parse_incoming.sql).
DEFAULT_PROJECT = "default"


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
    # The project the record belongs to; None when it names an empty one (it belongs to none).
    project_id: str | None = None

    @property
    def object_key(self) -> str:
        return f"{PENDING}{self.topic}/{self.partition:05d}/{self.offset:020d}-{self.index:05d}.json"

    def names_user(self, user_id: str) -> bool:
        """Whether the record is about ``user_id``: its ``user_id`` field, or, when it has none (not
        JSON, or no such field), its queue key (records are keyed by user)."""
        named = _field(self.value, "user_id")
        if isinstance(named, str) or (isinstance(named, int) and not isinstance(named, bool)):
            return str(named) == user_id
        return self.key == user_id.encode()

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
            project_id=row["project_id"] or None,
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
        value = base64.b64decode(body["value"])
        return cls(
            topic=body["topic"],
            partition=body["partition"],
            offset=body["offset"],
            index=body["index"],
            key=base64.b64decode(body["key"]),
            value=value,
            reason=body["reason"],
            failed_at=body["failed_at"],
            # A letter written before projects has none: the record's own, as consume reads it.
            project_id=body["project_id"] if "project_id" in body else project_of_record(value),
        )


def project_of_record(value: bytes) -> str | None:
    """The project consume files a record's event under: the ``project_id`` it names, else default."""
    named = _field(value, "project_id")
    if named is None:
        return DEFAULT_PROJECT
    return named if isinstance(named, str) and named else None


class DeadLetterStore:
    def __init__(self, objects: ObjectStore) -> None:
        self.objects = objects

    def put_many(self, letters: Sequence[DeadLetter]) -> None:
        for letter in letters:
            self.objects.put(letter.object_key, letter.to_json())

    def pending(self, project_id: str | None = None) -> Iterator[tuple[str, DeadLetter]]:
        """Every dead letter not yet replayed (of ``project_id`` only, when given), with its object key."""
        yield from self._letters(PENDING, project_id)

    def replay(
        self, queue: EventQueue, keys: Sequence[str] | None = None, project_id: str | None = None
    ) -> int:
        """Publish dead letters (all pending, or the named ones; of ``project_id`` only, when given)
        again; returns how many."""
        chosen = [(k, letter) for k, letter in self.pending(project_id) if keys is None or k in keys]
        if not chosen:
            return 0
        queue.publish([(letter.key, letter.value) for _, letter in chosen])
        for key, letter in chosen:
            self.objects.put(REPLAYED + key.removeprefix(PENDING), letter.to_json())
            self.objects.delete(key)
        return len(chosen)

    def erase_person(self, project_id: str, user_id: str) -> int:
        """Delete the letters, pending or replayed, of ``project_id`` that name ``user_id``; how many."""
        doomed = [
            key
            for prefix in (PENDING, REPLAYED)
            for key, letter in self._letters(prefix, project_id)
            if letter.names_user(user_id)
        ]
        for key in doomed:
            self.objects.delete(key)
        return len(doomed)

    def _letters(self, prefix: str, project_id: str | None) -> Iterator[tuple[str, DeadLetter]]:
        for key in self.objects.list(prefix):
            letter = DeadLetter.from_json(self.objects.get(key))
            if project_id is None or letter.project_id == project_id:
                yield key, letter


def erase_person_from_dead_letters(store: DeadLetterStore, project_id: str, user_id: str) -> int:
    """Erase a person of a project from the dead letters: every letter, pending or already replayed,
    whose record belongs to ``project_id`` and names ``user_id`` (``DeadLetter.names_user``) is
    deleted; returns how many. Another project's letters about a user of the same id stay. It reads
    every letter: dead letters are few, and a person's may be under any queue coordinates."""
    return store.erase_person(project_id, user_id)


def _field(value: bytes, name: str) -> Any:
    """A top-level field of a record that is a JSON object; None when it is not one or lacks it."""
    try:
        body = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return body.get(name) if isinstance(body, dict) else None


def _as_bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()
