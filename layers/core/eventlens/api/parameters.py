"""Path and query parameter types the route modules share, read as their clients write them.

A path parameter arrives as API Gateway's raw path holds it: Powertools matches its routes on
``rawPath``, so ``/stream/stats/%E7%94%A8`` would reach the route as ``%E7%94%A8``, not ``用``.
``PERCENT_DECODED`` decodes it once, as API Gateway decodes ``pathParameters``.

A day or a moment is ISO 8601 text only (``2026-01-31``, ``2026-01-31T12:00:00Z``): pydantic's lax
mode reads a number as Unix time, so ``to=0.5`` would be half a second after 1970, not a mistake.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}(?!\d)")


def _percent_decoded(value: Any) -> Any:
    if not isinstance(value, str) or "%" not in value:
        return value
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError:
        raise PydanticCustomError("percent_decoding", "is not UTF-8 once percent-decoded") from None


def _iso_8601_text(value: Any) -> Any:
    if isinstance(value, str) and not _ISO_DAY.match(value):
        raise PydanticCustomError(
            "iso_8601", "must be ISO 8601 text, e.g. 2026-01-31 or 2026-01-31T12:00:00Z (not a number)"
        )
    return value


PERCENT_DECODED = BeforeValidator(_percent_decoded)
"""A path parameter's text, decoded once: ``Annotated[str, PERCENT_DECODED, Path(...)]``."""

ISO_8601 = BeforeValidator(_iso_8601_text)
"""A day or moment given as ISO 8601 text, never a number: ``Annotated[date, ISO_8601, Query(...)]``."""

CohortParameter = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        description="a saved cohort's id (POST /api/v1/cohorts): only its persons count; 404 when the project"
        " has none of that id",
        examples=["coh_4f2a9c0d1e8b7a65"],
    ),
]
"""An aggregate report's ``cohort``: the id of one of the caller's project's cohorts."""
