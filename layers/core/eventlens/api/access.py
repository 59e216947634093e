"""What a route asks of its caller: ``WriterParts`` on the ingest routes, ``ReaderParts`` on every
read route (``Parts`` alone only on the public ones: /health, /docs, /openapi.json).

Each is the function's ``Components``, handed over only after the caller passed, in this order: the
per-IP rate limit (before the key is looked at, so guessing keys is limited too), the key from
``Authorization: Bearer <key>`` (401 missing, unknown or revoked; 403 a write key on a read route),
then the per-key rate limit (429 with Retry-After). Who the caller is (``Principal``: the project
and the key) is left in the request's context as ``principal``; the project always comes from it,
never from a parameter or a body field.

The analytics SDKs' routes (``SDK_INGEST_ROUTES``: Segment's, PostHog's, Snowplow's) take the write
key where those SDKs send it: HTTP Basic with the key as user name, an ``X-Write-Key`` header, or a
field of the body (``writeKey``, ``api_key``). Their dependencies (``eventlens.api.sdk_routes``) call
the same ``admit``, marked ``admitting("write")``; the body is read for a key only after the per-IP
limit passed, and a key is never logged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar, get_type_hints

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.request import Request

from eventlens.api.parts import handed_parts
from eventlens.components import Components
from eventlens.errors import Unauthorized
from eventlens.keys import KeyKind, Principal, bearer_key, sdk_header_key
from eventlens.ratelimit import Limit, RateLimiter

_Dependency = TypeVar("_Dependency", bound=Callable[..., Any])

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
        "/api/v1/search/memory",
        "/api/v1/stream/patterns/<user_id>",
        "/report",
        "/services",
        "/users",
        "/predict",
        "/predict/<service_name>",
    }
)

# The analytics SDKs' ingest routes (eventlens.api.sdk_routes): their SDKs send the write key in a
# header of their own or in the body, so API Gateway's authorizer (which reads Authorization: Bearer)
# is not in front of them; their function checks the key (infra/api.py).
SDK_INGEST_ROUTES = frozenset(
    {
        # Segment's HTTP Tracking API (Segment, RudderStack, Jitsu)
        "/v1/batch",
        "/v1/track",
        "/v1/identify",
        "/v1/page",
        "/v1/screen",
        "/v1/group",
        "/v1/alias",
        # PostHog's capture, the trailing slash optional
        *(
            f"{path}{slash}"
            for path in ("/batch", "/e", "/capture", "/i/v0/e", "/track")
            for slash in ("", "/")
        ),
        # Snowplow's tracker protocol
        "/com.snowplowanalytics.snowplow/tp2",
        "/i",
    }
)
SDK_KEY_PLACES = (
    "send the project's write key as your SDK does: in the body (writeKey, api_key), as the HTTP Basic "
    "user name, in X-Write-Key, or as Authorization: Bearer <key>"
)


def admit(
    parts: Components,
    headers: Mapping[str, str],
    client_ip: str,
    need: KeyKind,
    route: str = "",
    key_in_body: Callable[[], str | None] | None = None,
) -> Principal:
    """The caller, if it may pass: the per-IP limit, the key, the per-key limit (see the module doc).
    Without a key, on a reference system's ``route``, the project that opted in to keyless routes.

    On an SDK's route (``key_in_body`` given) the key may also come as that SDK sends it (see
    ``sdk_header_key``), or in the body: ``key_in_body`` reads it there, after the per-IP limit and
    only when no header carried a key."""
    settings = parts.settings
    if settings.rate_limit_per_ip:
        _limiter(parts).check(f"ip:{client_ip}", Limit(settings.rate_limit_per_ip))
    keyless_route = route in (REFERENCE_READ_ROUTES if need == "secret" else REFERENCE_INGEST_ROUTES)
    if key_in_body is None:
        presented = bearer_key(dict(headers))
    else:
        presented = sdk_header_key(dict(headers)) or key_in_body()
        if not presented:
            raise Unauthorized("authorization", SDK_KEY_PLACES)
    principal = parts.keys.principal(presented, need, keyless_route)
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


# Dependencies that admit their caller themselves (through ``admit``), and the key each asks for.
_ADMITTING: dict[Callable[..., Any], KeyKind] = {}


def admitting(kind: KeyKind) -> Callable[[_Dependency], _Dependency]:
    """Mark a route dependency that admits its caller through ``admit`` with a key of ``kind``, so
    that ``required_access`` knows its routes take a key."""

    def mark(dependency: _Dependency) -> _Dependency:
        _ADMITTING[dependency] = kind
        return dependency

    return mark


def required_access(route_function: Callable[..., Any]) -> KeyKind | None:
    """What key a route function asks for (``WriterParts``/``ReaderParts``, or a dependency marked
    ``admitting``), None on a public one."""
    for hint in get_type_hints(route_function, include_extras=True).values():
        for marker in getattr(hint, "__metadata__", ()):
            dependency = getattr(marker, "dependency", None)
            if dependency is writer_parts:
                return "write"
            if dependency is reader_parts:
                return "secret"
            if dependency in _ADMITTING:
                return _ADMITTING[dependency]
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
