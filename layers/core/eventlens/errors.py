"""Domain errors. ``api.errors`` maps them to HTTP statuses; this module imports nothing, so a
handler that only validates does not load the warehouse, the queue or the graph driver."""

from __future__ import annotations


class FieldError(ValueError):
    """An error that names the field (or part) at fault and the reason, as every error body does."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class PayloadError(FieldError):
    """The request body's outer shape is wrong; nothing in it was accepted (HTTP 400)."""


class BatchTooLarge(FieldError):
    """A batch over the stated limit, in events or bytes (HTTP 413)."""


class InvalidParameter(FieldError):
    """A report parameter that cannot be used (HTTP 422)."""


class NotFound(FieldError, LookupError):
    """What a request names does not exist, e.g. an unknown user (HTTP 404)."""


class Unauthorized(FieldError):
    """No API key, or one that is unknown, revoked or expired (HTTP 401)."""


class Forbidden(FieldError):
    """A valid key that may not do this, e.g. a write key on a read route (HTTP 403)."""


class RateLimited(FieldError):
    """Over a rate limit; ``retry_after`` seconds until the window ends (HTTP 429, Retry-After)."""

    def __init__(self, field: str, reason: str, retry_after: int) -> None:
        super().__init__(field, reason)
        self.retry_after = retry_after


class KeyStoreUnavailable(RuntimeError):
    """The store of projects and keys cannot be read now; the caller may retry later (HTTP 503)."""


class QueueUnavailable(RuntimeError):
    """The queue cannot take or give records now; the caller may retry later (HTTP 503)."""


class WarehouseError(RuntimeError):
    """The warehouse could not run a statement (down, or the statement failed) (HTTP 503)."""


class GraphError(RuntimeError):
    """The graph could not be reached or could not run a statement (HTTP 503)."""
