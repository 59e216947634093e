"""An optional language model that rewords an answer eventlens composed, never adding a fact.

Off by default. With ``EVENTLENS_LLM_URL`` set, an OpenAI-compatible chat-completions endpoint is
asked (``POST {url}/chat/completions``: OpenAI, a local server such as llama.cpp's or vLLM's, or
Gemini's OpenAI-compatible endpoint, ``https://generativelanguage.googleapis.com/v1beta/openai``) to
reword the composed answer in the question's language. Only the question and the composed answer are
sent, nothing else of the person's data.

Its wording is kept only when it is grounded: every number in it is one of the composed answer's or
the evidence's, every number of the composed answer is still in it, and every capitalized word (a
name, a place, a month) is a word of the answer, the question or the evidence, or a common
sentence-opening word. Otherwise, or when the model cannot be reached in time, the composed answer
stands.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterable
from typing import Any, Protocol

import orjson

from eventlens.memory.language import words
from eventlens.observability import logger
from eventlens.settings import Settings


class LanguageModelError(RuntimeError):
    """The model could not be asked, or answered something that is not a chat completion."""


class ChatModel(Protocol):
    def complete(self, messages: list[dict[str, str]]) -> str:
        """The model's reply to ``messages`` (OpenAI's roles: system, user)."""


class OpenAICompatibleChat:
    """A chat-completions endpoint (OpenAI's API shape) over HTTP, with the standard library."""

    def __init__(self, url: str, model: str, api_key: str | None = None, timeout_s: float = 5.0) -> None:
        self._endpoint = url.rstrip("/") + "/chat/completions"
        self._model = model
        self._api_key = api_key
        self._timeout_s = timeout_s

    def complete(self, messages: list[dict[str, str]]) -> str:
        body = orjson.dumps({"model": self._model, "messages": messages, "temperature": 0})
        headers = {"content-type": "application/json"}
        if self._api_key:
            headers["authorization"] = f"Bearer {self._api_key}"
        request = urllib.request.Request(self._endpoint, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:  # noqa: S310 (configured URL)
                reply: Any = orjson.loads(response.read())
            content = reply["choices"][0]["message"]["content"]
        except (urllib.error.URLError, TimeoutError, OSError, orjson.JSONDecodeError) as exc:
            raise LanguageModelError(f"the language model cannot be asked: {type(exc).__name__}") from exc
        except (KeyError, IndexError, TypeError) as exc:
            raise LanguageModelError("the language model's reply is not a chat completion") from exc
        if not isinstance(content, str) or not content.strip():
            raise LanguageModelError("the language model's reply is empty")
        return content.strip()


def open_chat_model(settings: Settings) -> ChatModel | None:
    """The configured model, or None (the default: no model, answers as composed)."""
    if not settings.llm_url:
        return None
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    return OpenAICompatibleChat(settings.llm_url, settings.llm_model, key, settings.llm_timeout_s)


_LANGUAGE_NAMES = {"ru": "Russian", "uk": "Ukrainian", "en": "English"}
_INSTRUCTIONS = (
    "You reword short answers about a person's own life, addressed to that person. Rewrite the answer you "
    "are given in {language}, naturally, in one short paragraph. Keep every fact exactly as written: every "
    "number, amount, currency, name, place, date and time. Add nothing that is not in the answer: no new "
    "fact, number, name, place, date, time or advice. Reply with the reworded answer only."
)

# A number as written (13, 4.50, 13:05, 1,5); commas between digits read as decimal points.
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
_CAPITALIZED = re.compile(r"(?<![\w'])[A-ZА-ЯЁІЇЄҐ][\w'’-]*")
_WORD = re.compile(r"[\w'’-]+")
# Words any sentence may open with (capitalized there, so not taken for names).
_OPENERS = words(
    "you your yours on in at the this that these there it yes no last yesterday today here during between "
    "from over overall total and but also i we so then after before altogether in all "
    "вы ваш ваша ваши вас вам в во на с со за это там да нет вчера сегодня всего итого и но также я "
    "тогда после до а ещё еще "
    "ви ваш ваша ваші вас вам у в на з із за це там так ні вчора сьогодні всього загалом і й але також я "
    "тоді після до а ще"
)


def _numbers(text: str) -> set[str]:
    return {re.sub(r"(?<=\d),(?=\d)", ".", number) for number in _NUMBER.findall(text)}


def ungrounded(reworded: str, composed: str, grounds: Iterable[str]) -> list[str]:
    """What in ``reworded`` is not grounded: numbers and capitalized words found in neither the
    ``composed`` answer nor ``grounds`` (the question, the evidence), and numbers of the composed
    answer it lost. Empty when the rewording may be used."""
    allowed_text = " ".join([composed, *grounds])
    allowed_numbers = _numbers(allowed_text)
    allowed_words = {word.lower() for word in _WORD.findall(allowed_text)}
    problems = [f"number {n}" for n in sorted(_numbers(reworded) - allowed_numbers)]
    problems += [f"lost {n}" for n in sorted(_numbers(composed) - _numbers(reworded))]
    for word in _CAPITALIZED.findall(reworded):
        lowered = word.lower().strip("'’-")
        if lowered not in allowed_words and lowered not in _OPENERS:
            problems.append(f"word {word}")
    return problems


def grounded_rewording(
    model: ChatModel | None, question: str, composed: str, language: str, grounds: Iterable[str]
) -> str | None:
    """The model's rewording of ``composed`` (the answer to ``question``; none: a statement of its
    own) when it is grounded (see the module doc); None with no model, when it cannot be asked, or
    when its wording adds or loses a fact."""
    if model is None:
        return None
    messages = [
        {
            "role": "system",
            "content": _INSTRUCTIONS.format(language=_LANGUAGE_NAMES.get(language, "English")),
        },
        {"role": "user", "content": f"Question: {question}\nAnswer: {composed}" if question else composed},
    ]
    try:
        reworded = model.complete(messages)
    except LanguageModelError as exc:
        logger.warning("language model not used", extra={"reason": str(exc)})
        return None
    problems = ungrounded(reworded, composed, [question, *grounds])
    if problems:
        # What was wrong, never the text (it is the person's data).
        logger.warning(
            "language model's wording not grounded: composed answer kept", extra={"problems": len(problems)}
        )
        return None
    return reworded
