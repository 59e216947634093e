"""What a route asks of its caller: ``WriterParts`` on the ingest routes, ``ReaderParts`` on every
read route (``Parts`` alone only on the public ones: /health, /docs, /openapi.json).

Each is the function's ``Components``, handed over only after the caller passed, in this order: the
per-IP rate limit (before the key is looked at, so guessing keys is limited too), the key from
``Authorization: Bearer <key>`` (401 missing, unknown or revoked; 403 a write key on a read route),
then the per-key rate limit (429 with Retry-After). Who the caller is (``Principal``: the project
and the key) is left in the request's context as ``principal``; the project always comes from it,
never from a parameter or a body field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, get_type_hints

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.request import Request

from eventlens.api.parts import handed_parts
from eventlens.components import Components
from eventlens.keys import KeyKind, Principal, bearer_key
from eventlens.ratelimit import Limit, RateLimiter

# The reference systems' routes: their clients send no key, so a project may opt in to take them
# keyless. eventlens's own routes (/v1/events, erasure, …) always take a key.
REFERENCE_INGEST_ROUTES = frozenset(
    {
        "/events",
        "/collect",
        "/api/v1/stream/ingest",
        "/api/v1/stream/ingest/single",
        "/api/v1/analytics/events",
    }
)
REFERENCE_READ_ROUTES = frozenset(
    {
        "/stats/dau",
        "/stats/wau",
        "/stats/mau",
        "/stats/top-events",
        "/stats/retention",
        "/api/v1/analytics/content/popular",
        "/api/v1/analytics/user/<user_id>/stats",
        "/api/v1/analytics/trends",
        "/api/v1/analytics/peak-hours",
        "/api/v1/stream/events/<user_id>",
        "/api/v1/stream/stats/<user_id>",
        "/api/v1/search/memory/<user_id>/summary",
        "/api/v1/stream/patterns/<user_id>",
        "/report",
        "/services",
        "/users",
        "/predict",
        "/predict/<service_name>",
    }
)


def admit(
    parts: Components, headers: Mapping[str, str], client_ip: str, need: KeyKind, route: str = ""
) -> Principal:
    """The caller, if it may pass: the per-IP limit, the key, the per-key limit (see the module doc).
    Without a key, on a reference system's ``route``, the project that opted in to keyless routes."""
    settings = parts.settings
    if settings.rate_limit_per_ip:
        _limiter(parts).check(f"ip:{client_ip}", Limit(settings.rate_limit_per_ip))
    keyless_route = route in (REFERENCE_READ_ROUTES if need == "secret" else REFERENCE_INGEST_ROUTES)
    principal = parts.keys.principal(bearer_key(dict(headers)), need, keyless_route)
    if settings.rate_limit_per_key:
        _limiter(parts).check(f"key:{principal.key_id}", Limit(settings.rate_limit_per_key))
    return principal


def _admitted(request: Request, need: KeyKind) -> Components:
    parts = handed_parts(request)
    client = source_ip(request.resolved_event)
    request.context["principal"] = admit(parts, request.headers, client, need, request.route)
    return parts


def writer_parts(request: Request) -> Components:
    return _admitted(request, "write")


def reader_parts(request: Request) -> Components:
    return _admitted(request, "secret")


def required_access(route_function: Callable[..., Any]) -> KeyKind | None:
    """What key a route function asks for (``WriterParts``/``ReaderParts``), None on a public one."""
    for hint in get_type_hints(route_function, include_extras=True).values():
        for marker in getattr(hint, "__metadata__", ()):
            dependency = getattr(marker, "dependency", None)
            if dependency is writer_parts:
                return "write"
            if dependency is reader_parts:
                return "secret"
    return None


def _limiter(parts: Components) -> RateLimiter:
    try:
        return parts.rate_limiter
    except OSError as exc:  # its store cannot be opened (an unwritable home): count nothing now
        from eventlens.observability import logger

        logger.warning("rate limit not checked: its store cannot be opened", extra={"reason": str(exc)})
        return RateLimiter(_Uncounted())


class _Uncounted:
    def take(self, client: str, window_start: int, limit: int, expires_at: int) -> bool:
        return True


def source_ip(event: Any) -> str:
    """The client address API Gateway saw (``requestContext.http.sourceIp``)."""
    try:
        return str(event.request_context.http.source_ip) or "unknown"
    except (AttributeError, KeyError):
        return "unknown"


WriterParts = Annotated[Components, Depends(writer_parts)]
ReaderParts = Annotated[Components, Depends(reader_parts)]


def caller(request: Request) -> Principal:
    """Who was admitted to this request (set by ``WriterParts``/``ReaderParts``)."""
    principal: Principal = request.context["principal"]
    return principal


def writer_project(request: Request, parts: WriterParts) -> str:
    return caller(request).project_id


def reader_project(request: Request, parts: ReaderParts) -> str:
    return caller(request).project_id


# The caller's project, from its key: every domain call of a route is scoped by it. Each admits the
# caller itself (Powertools runs a dependency once per request), so a route cannot read the
# project without having checked the key.
WriterProject = Annotated[str, Depends(writer_project)]
ReaderProject = Annotated[str, Depends(reader_project)]
