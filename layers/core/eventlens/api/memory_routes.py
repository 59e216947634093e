"""Life Stream's memory search: ``POST /api/v1/search/memory`` answers a person's question about their
own life from the caller's project's events and habits graph (``eventlens.memory``)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from eventlens.api.access import ReaderParts, ReaderProject
from eventlens.api.errors import answers
from eventlens.memory.models import MemoryAnswer, MemoryQuestion

router = APIGatewayHttpRouter()

_USER = "550e8400-e29b-41d4-a716-446655440000"


def _examples(**named: dict[str, Any]) -> dict[str, Any]:
    return {name: {"summary": name.replace("_", " "), "value": value} for name, value in named.items()}


# Life Stream's own example questions, and one in each other language.
EXAMPLES = _examples(
    lunch_last_friday={"user_id": _USER, "question": "С кем я обедал в прошлую пятницу?"},
    where_at_the_weekend={"user_id": _USER, "question": "Где я был в выходные?", "timezone": "Europe/Moscow"},
    coffee_this_month={"user_id": _USER, "question": "Сколько я потратил на кофе за месяц?"},
    whom_i_meet_most={"user_id": _USER, "question": "С кем я чаще всего встречаюсь?"},
    my_habits={"user_id": _USER, "question": "Какие у меня привычки?"},
    where_today={"user_id": _USER, "question": "Где я был сегодня?"},
    ukrainian_last_week={
        "user_id": _USER,
        "question": "Що я робив минулого тижня?",
        "timezone": "Europe/Kyiv",
    },
    english_dinner={"user_id": _USER, "question": "Who did I have dinner with yesterday?"},
)


@router.post("/api/v1/search/memory", responses=answers(400, 413, 415, 503))
def post_memory_search(
    parts: ReaderParts,
    project: ReaderProject,
    question: Annotated[MemoryQuestion, Body(openapi_examples=EXAMPLES)],
) -> MemoryAnswer:
    """Answer a question about a person's own life (Russian, Ukrainian or English): where they were,
    whom they met or had lunch or dinner with, how much they spent on something, whom they meet most,
    their habits and routines, what they did. The answer states only what the evidence shows (each
    event and graph fact listed with its id and time), in the question's language, over the period the
    question names in the person's timezone; without a habits graph, from the events alone."""
    # The search itself is imported here: the report function's other routes never load it.
    from eventlens.memory.findings import Sources
    from eventlens.memory.search import search_memory

    sources = Sources(parts.warehouse, parts.graph, parts.settings)
    return search_memory(sources, project, question, parts.chat_model)
