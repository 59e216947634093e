"""How a route gets its function's ``Components``: handed in by the handler, per invocation.

The handler binds its parts once at import and puts them in the resolver's context before each
resolve (``app.append_context(parts=parts)``; Powertools clears the context afterwards). A route
takes them as a parameter, ``parts: Parts``, resolved by Powertools' ``Depends`` from the context of
the resolver that is answering. ``router.context`` would not do: it is the context of the last
resolver that included the router, and in one process several do (the local runtime's warm
containers of a function, the report function's OpenAPI document).
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.request import Request

from eventlens.components import Components


def handed_parts(request: Request) -> Components:
    """The ``Components`` the handler put in this invocation's context."""
    parts: Components = request.context["parts"]
    return parts


Parts = Annotated[Components, Depends(handed_parts)]
