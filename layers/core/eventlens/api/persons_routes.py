"""Erasure: ``DELETE /v1/persons/{user_id}`` takes a person out of the caller's project (secret key)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.request import Request
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from eventlens.api.access import ReaderParts, ReaderProject, caller
from eventlens.api.errors import answers
from eventlens.api.parameters import PERCENT_DECODED
from eventlens.observability import count
from eventlens.persons import ErasureResult, erase_person

router = APIGatewayHttpRouter()

UserId = Annotated[str, PERCENT_DECODED, Path(min_length=1, max_length=256)]


@router.delete("/v1/persons/<user_id>", responses=answers(503))
def delete_person(
    request: Request, parts: ReaderParts, project: ReaderProject, user_id: UserId
) -> ErasureResult:
    """Erase a person from the caller's project: their events and every report figure drawn from them,
    their CRM row, their rows in exports and snapshots, their part of the habits graph and their dead
    letters; their events still in the queue or sent later are dropped until the suppression is lifted
    (`eventlens persons unsuppress`). Idempotent: asking again finishes an erasure cut short. An
    unknown person is erased too (nothing removed, and suppressed), so the answer does not tell
    whether the project knew them."""
    result = erase_person(parts, project, user_id, caller(request).key_id)
    count("PersonsErased", 1)
    return result
