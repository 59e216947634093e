"""Which language a question is in: Russian, Ukrainian or English (what Life Stream's users write).

Cyrillic text is Ukrainian or Russian by the letters only one of them has (і ї є ґ; ы э ё ъ), then by
the words only one of them uses; Russian when nothing tells them apart. Anything else is English.
"""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["ru", "uk", "en"]
LANGUAGES: tuple[Language, ...] = ("ru", "uk", "en")

_CYRILLIC = re.compile(r"[а-яёіїєґ]")
_UKRAINIAN_LETTERS = frozenset("іїєґ")
_RUSSIAN_LETTERS = frozenset("ыэёъ")
_WORD = re.compile(r"[а-яёіїєґ']+")


def words(text: str) -> frozenset[str]:
    """The space-separated words of ``text``, as a set."""
    return frozenset(text.split())


_UKRAINIAN_WORDS = words(
    "де хто ким кого що як скільки коли був була були мене мої мій моя мої я вчора сьогодні тиждень "
    "тижня тижні місяць місяця минулого минулої минулий цього цей ця витратив витратила зустрічаюсь "
    "зустрічаюся найчастіше звички робив робила обідав обідала вечеряв вечеряла на з у в за"
)
_RUSSIAN_WORDS = words(
    "где кто кем кого что как сколько когда был была были меня мои мой моя я вчера сегодня неделю "
    "недели неделе месяц месяца прошлой прошлую прошлом этой этом потратил потратила встречаюсь "
    "чаще всего привычки делал делала обедал обедала ужинал ужинала на с у в за"
)


def normalized(text: str) -> str:
    """Lower case, one kind of apostrophe (п’ятниця, пʼятниця → п'ятниця), single spaces."""
    text = text.lower().replace("’", "'").replace("ʼ", "'").replace("`", "'").replace("‘", "'")
    return " ".join(text.split())


def detect_language(text: str) -> Language:
    """The language of ``text`` (normalized or not)."""
    text = normalized(text)
    if not _CYRILLIC.search(text):
        return "en"
    ukrainian = sum(ch in _UKRAINIAN_LETTERS for ch in text)
    russian = sum(ch in _RUSSIAN_LETTERS for ch in text)
    if ukrainian != russian:
        return "uk" if ukrainian > russian else "ru"
    words = _WORD.findall(text)
    ukrainian = sum(word in _UKRAINIAN_WORDS and word not in _RUSSIAN_WORDS for word in words)
    russian = sum(word in _RUSSIAN_WORDS and word not in _UKRAINIAN_WORDS for word in words)
    return "uk" if ukrainian > russian else "ru"
