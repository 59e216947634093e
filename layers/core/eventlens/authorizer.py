"""The HTTP API's authorizer: may the key a request presents call its route, and as which project.

API Gateway asks before it invokes the function of any route but the manifest's public ones. Which
key a route takes comes from the manifest: the routes of a function with ``access = "write"`` are
``write_routes`` (``EVENTLENS_WRITE_ROUTES``, written by the Pulumi program); every other route takes
a secret key, so a route the table misses is closed to write keys rather than open. A secret key may
call any route. The answer names the project and the key's kind, which API Gateway hands the
route's function in ``requestContext.authorizer.lambda``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from eventlens.errors import Forbidden, Unauthorized
from eventlens.keys import Authenticator, KeyKind, bearer_key


@dataclass(frozen=True)
class Authorization:
    authorized: bool
    project_id: str | None = None
    kind: KeyKind | None = None
    reason: str | None = None  # why not, for the log (the caller is told only 403)

    @property
    def context(self) -> dict[str, str]:
        """What the route's function is told about the caller (nothing when refused)."""
        if not self.authorized or self.project_id is None or self.kind is None:
            return {}
        return {"project_id": self.project_id, "kind": self.kind}


def needed_access(route_key: str, write_routes: Collection[str]) -> KeyKind:
    """The key a route takes: write on the manifest's write routes, secret on any other."""
    return "write" if route_key in write_routes else "secret"


def authorize(
    keys: Authenticator,
    route_key: str,
    headers: Mapping[str, str] | None,
    write_routes: Collection[str],
) -> Authorization:
    """Whether the ``Authorization: Bearer`` key of a request to ``route_key`` may call it.

    A missing, malformed, unknown, revoked or expired key, or a write key on a route that takes a
    secret key, is refused. A key store that cannot answer raises: the authorizer then fails and API
    Gateway refuses the request, so an outage never lets anyone in.
    """
    try:
        principal = keys.principal(bearer_key(dict(headers or {})), needed_access(route_key, write_routes))
    except (Unauthorized, Forbidden) as refused:
        return Authorization(authorized=False, reason=refused.reason)
    return Authorization(authorized=True, project_id=principal.project_id, kind=principal.kind)
