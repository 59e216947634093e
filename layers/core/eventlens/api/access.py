"""Which key a route takes: ``WriteKey`` on the ingest routes, ``SecretKey`` on every read route.

A route names the access it needs as a parameter (``key: SecretKey``); Powertools' ``Depends``
reads ``Authorization: Bearer <key>`` from the request being answered and asks the function's
``Authenticator`` (``parts.keys``) who it is. A missing, unknown or revoked key is a 401, a write key
on a read route a 403. The answer names the project: routes take the project from it, never from a
parameter or a body field.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.request import Request

from eventlens.api.parts import handed_parts
from eventlens.keys import Principal, bearer_key


def write_access(request: Request) -> Principal:
    return handed_parts(request).keys.principal(bearer_key(dict(request.headers)), "write")


def secret_access(request: Request) -> Principal:
    return handed_parts(request).keys.principal(bearer_key(dict(request.headers)), "secret")


WriteKey = Annotated[Principal, Depends(write_access)]
SecretKey = Annotated[Principal, Depends(secret_access)]
