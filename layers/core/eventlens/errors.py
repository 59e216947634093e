"""Domain errors. Each names the field or part at fault; ``api.errors`` maps them to HTTP statuses."""

from __future__ import annotations

from eventlens.queue import QueueUnavailable
from eventlens.warehouse import WarehouseError
from eventlens.wire_formats import PayloadError


class BatchTooLarge(ValueError):
    """A batch over the stated limit, in events or bytes (HTTP 413)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class InvalidParameter(ValueError):
    """A report parameter that cannot be used (HTTP 422)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class NotFound(LookupError):
    """What a request names does not exist, e.g. an unknown user (HTTP 404)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


__all__ = [
    "BatchTooLarge",
    "InvalidParameter",
    "NotFound",
    "PayloadError",
    "QueueUnavailable",
    "WarehouseError",
]
