"""The outside systems one function talks to, built once from settings and kept while warm.

A handler binds one ``Components`` at import (``parts = Components(get_settings())``) and hands it
to its domain functions; the local runtime hands its one to every function it loads instead. Each
part is opened on first use, and its client library imported then, so a function only connects to
and loads what it touches (ingest: the queue alone, no pyarrow or chDB); a part that failed to open
is tried again on the next use (a broker that was down may be back).
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING

from eventlens.settings import Settings

if TYPE_CHECKING:
    from eventlens.deadletter import DeadLetterStore
    from eventlens.keys import Authenticator
    from eventlens.mining.graph import GraphStore
    from eventlens.objectstore import ObjectStore
    from eventlens.privacy import PrivacyStore, Suppressions
    from eventlens.queue import EventQueue
    from eventlens.ratelimit import RateLimiter
    from eventlens.rephrase import ChatModel
    from eventlens.warehouse import Warehouse


PERSONS_MIGRATION = 9  # migrations/0009_persons.sql


class Components:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()

    @cached_property
    def queue(self) -> EventQueue:
        from eventlens.queue import open_queue

        return open_queue(self.settings)

    @cached_property
    def warehouse(self) -> Warehouse:
        from eventlens.schema import migrate
        from eventlens.warehouse import open_warehouse

        with self._lock:
            warehouse = open_warehouse(self.settings)
            applied = migrate(warehouse, self.settings.retention_days, self.settings.clickhouse_cluster)
            if PERSONS_MIGRATION in applied:  # the pairs of events stored before it, stitched once
                from eventlens.identity import stitch_all

                stitch_all(warehouse)
            return warehouse

    @cached_property
    def objects(self) -> ObjectStore:
        from eventlens.objectstore import open_object_store

        return open_object_store(self.settings)

    @cached_property
    def keys(self) -> Authenticator:
        """Who a request's API key says it is (projects and keys, cached per container)."""
        from eventlens.errors import KeyStoreUnavailable
        from eventlens.keys import Authenticator, open_key_store

        try:
            return Authenticator(open_key_store(self.settings))
        except (OSError, RuntimeError) as exc:  # e.g. an unwritable home: not cached, tried again
            if isinstance(exc, KeyStoreUnavailable):
                raise
            raise KeyStoreUnavailable(f"cannot open API keys: {type(exc).__name__}") from exc

    @cached_property
    def privacy(self) -> PrivacyStore:
        """Suppressed persons and the erasure audit log (beside the keys: SQLite here, DynamoDB on AWS)."""
        from eventlens.privacy import open_privacy_store

        return open_privacy_store(self.settings)

    @cached_property
    def suppressions(self) -> Suppressions:
        """The suppressed persons, re-read by consume only when they changed."""
        from eventlens.privacy import Suppressions

        return Suppressions(self.privacy)

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        """Request counters shared by every process and container (SQLite here, DynamoDB on AWS)."""
        from eventlens.ratelimit import open_rate_limiter

        return open_rate_limiter(self.settings)  # an unopenable store raises; tried again next request

    @cached_property
    def dead_letters(self) -> DeadLetterStore:
        from eventlens.deadletter import DeadLetterStore

        return DeadLetterStore(self.objects)

    @cached_property
    def graph(self) -> GraphStore | None:
        """The habits graph (Neo4j) when ``NEO4J_URI`` is set, None otherwise."""
        if not self.settings.neo4j_uri:
            return None
        from eventlens.mining.graph import Neo4jGraphStore

        return Neo4jGraphStore(
            self.settings.neo4j_uri, self.settings.neo4j_user, self.settings.neo4j_password
        )

    @cached_property
    def chat_model(self) -> ChatModel | None:
        """The optional language model that rewords composed answers (``EVENTLENS_LLM_URL``), or None."""
        from eventlens.rephrase import open_chat_model

        return open_chat_model(self.settings)

    def health(self, on_lambda: bool = False) -> dict[str, str]:
        """Each dependency and its state: connected, down (and why, credentials masked), or not
        configured. ``on_lambda``: a queue or object store without settings is not configured (their
        embedded stand-ins have no place on Lambda). The whole check is ``eventlens.health``."""
        from eventlens.health import NOT_CONFIGURED, dependency_state

        configured = {
            "queue": not on_lambda or bool(self.settings.kafka_bootstrap),
            "object_store": not on_lambda or bool(self.settings.bucket),
            "graph": bool(self.settings.neo4j_uri),
        }
        checks = {
            "warehouse": lambda: self.warehouse.ping(),
            "queue": lambda: self.queue.ping(),
            "object_store": lambda: self.objects.ping(),
            "graph": lambda: self.graph is not None and self.graph.ping(),
        }
        return {
            name: dependency_state(check) if configured.get(name, True) else NOT_CONFIGURED
            for name, check in checks.items()
        }

    def close(self) -> None:
        for name in ("queue", "warehouse", "graph"):
            part = self.__dict__.pop(name, None)
            if part is not None:
                part.close()
