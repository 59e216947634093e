"""Life Stream's patterns route: the places, routines and habits the Pattern Miner found."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from eventlens.api.access import ReaderParts, ReaderProject
from eventlens.api.errors import answers
from eventlens.api.parameters import PERCENT_DECODED
from eventlens.mining.patterns import UserPatterns

router = APIGatewayHttpRouter()

UserId = Annotated[str, PERCENT_DECODED, Path(min_length=1, max_length=256)]


@router.get("/api/v1/stream/patterns/<user_id>", responses=answers(503))
def get_stream_patterns(parts: ReaderParts, project: ReaderProject, user_id: UserId) -> UserPatterns:
    """A user of the caller's project: their places, routines and habits, from the habits graph when
    one is configured (as the last mining run left them), otherwise mined from the warehouse for this
    request."""
    from eventlens.mining.miner import user_patterns  # the miner itself only where this route runs

    return user_patterns(parts.warehouse, parts.graph, project, user_id, parts.settings)
