"""The optional language model: an OpenAI-compatible chat-completions server (a fake one, started here on
a free port: it is a third party's service) rewords the composed answer, and its wording is kept only
when every number and name in it is in the evidence."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from eventlens.components import Components
from eventlens.memory.findings import Sources
from eventlens.memory.models import MemoryQuestion
from eventlens.memory.search import search_memory
from eventlens.rephrase import OpenAICompatibleChat, open_chat_model, ungrounded
from eventlens.settings import Settings
from eventlens_tools.lifestories import PLANS, plant_story, warehouse_rows
from eventlens_tools.memory_eval import NOW
from tests.fake_llm import FakeChat, Reply, completion, fake_chat_server


@pytest.fixture
def fake_chat() -> Iterator[FakeChat]:
    with fake_chat_server() as chat:
        yield chat


@pytest.fixture
def asked(components: Components) -> MemoryQuestion:
    """The Berlin person asking whom they had lunch with last Friday (Anna, at 12:5x)."""
    story = plant_story(PLANS[1], NOW, user_id="memory-rephrase-berlin")
    components.warehouse.insert_arrow("events", warehouse_rows([story]))
    return MemoryQuestion(user_id=story.user_id, question="Who did I have lunch with last Friday?")


def _answer(components: Components, chat: FakeChat, question: MemoryQuestion, timeout_s: float = 5.0) -> Any:
    sources = Sources(components.warehouse, None, components.settings)
    model = OpenAICompatibleChat(chat.url, "test-model", "sk-test", timeout_s)
    return search_memory(sources, "default", question, model, now=NOW)


def _composed(components: Components, question: MemoryQuestion) -> str:
    sources = Sources(components.warehouse, None, components.settings)
    return search_memory(sources, "default", question, None, now=NOW).answer


def test_a_grounded_rewording_is_the_answer(
    components: Components, fake_chat: FakeChat, asked: MemoryQuestion
) -> None:
    # Given the composed answer, and a model that rewords it keeping every fact
    composed = _composed(components, asked)
    time_of_lunch = composed.split("Anna (")[1][:5]
    reworded = (
        f"On Friday, 13 March 2026 you had lunch with Anna at {time_of_lunch} "
        "(11:00–16:00 counts as lunch). Answered from the events alone: no habits graph is configured."
    )
    fake_chat.reply = completion(reworded)
    # When the question is asked with the model configured
    answer = _answer(components, fake_chat, asked)
    # Then the rewording is the answer, and the model was asked the question and the composed answer only
    assert (answer.answer, answer.generated_by) == (reworded, "language_model")
    [request] = fake_chat.asked
    assert request["path"] == "/v1/chat/completions" and request["authorization"] == "Bearer sk-test"
    assert request["model"] == "test-model" and request["messages"][0]["role"] == "system"
    assert request["messages"][1]["content"] == f"Question: {asked.question}\nAnswer: {composed}"


@pytest.mark.parametrize(
    "wording",
    [
        "On Friday, 13 March 2026 you had lunch with Anna and Max.",  # a name the evidence does not have
        "On Friday, 13 March 2026 you had lunch with Anna at 12:30 for 45 EUR.",  # numbers it does not have
        "You had lunch with Anna last Friday.",  # the date and the time lost
    ],
)
def test_a_wording_that_adds_or_loses_a_fact_falls_back_to_the_composed_answer(
    components: Components, fake_chat: FakeChat, asked: MemoryQuestion, wording: str
) -> None:
    fake_chat.reply = completion(wording)
    answer = _answer(components, fake_chat, asked)
    assert (answer.answer, answer.generated_by) == (_composed(components, asked), "composer")
    assert len(fake_chat.asked) == 1


def _late() -> tuple[int, Any]:
    time.sleep(1.5)
    return 200, {"choices": [{"message": {"content": "late"}}]}


@pytest.mark.parametrize(
    "reply",
    [
        lambda request: (500, {"error": {"message": "overloaded"}}),
        lambda request: (200, {"unexpected": True}),
        lambda request: (200, {"choices": [{"message": {"content": ""}}]}),
        lambda request: _late(),
    ],
    ids=["server-error", "not-a-completion", "empty", "too-slow"],
)
def test_a_model_that_fails_or_is_slow_leaves_the_composed_answer(
    components: Components, fake_chat: FakeChat, asked: MemoryQuestion, reply: Reply
) -> None:
    fake_chat.reply = reply
    answer = _answer(components, fake_chat, asked, timeout_s=0.5)
    assert (answer.answer, answer.generated_by) == (_composed(components, asked), "composer")


def test_the_model_is_off_unless_configured(settings: Settings) -> None:
    assert open_chat_model(settings) is None
    configured = settings.model_copy(update={"llm_url": "http://127.0.0.1:9/v1"})
    assert isinstance(open_chat_model(configured), OpenAICompatibleChat)


@pytest.mark.parametrize(
    ("reworded", "problems"),
    [
        ("Вы потратили 135,75 UAH на кофе (2 покупки).", []),  # a decimal comma is the same number
        ("Вы потратили 135.75 UAH на кофе в Starbucks (2 покупки).", ["word Starbucks"]),
        ("Вы потратили 140 UAH на кофе.", ["number 140", "lost 135.75", "lost 2"]),
        ("Ви витратили 135.75 UAH на каву, покупок: 2.", []),
    ],
)
def test_grounding_checks_numbers_and_names(reworded: str, problems: list[str]) -> None:
    composed = "Вы потратили 135.75 UAH на кофе (покупок: 2)."
    assert ungrounded(reworded, composed, ['{"item": "Latte", "amount": "65.5"}']) == problems
