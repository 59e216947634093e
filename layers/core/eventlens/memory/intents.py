"""What a question asks: its intent, the meal it names, the purchases it asks about. Rules, in Russian,
Ukrainian and English, over normalized text (``language.normalized``).

Intents, tried in this order (the first that matches wins):

- ``top_people``: whom do I meet most (``С кем я чаще всего встречаюсь?``);
- ``habits``: what are my habits or routines;
- ``where``: where was I;
- ``spend``: how much did I spend (on X);
- ``meet``: whom did I meet, have lunch, dinner or breakfast with;
- ``activity``: what did I do: activities (running, yoga …) and health measurements;
- ``unknown``: none of these.

A meal is a time of the person's day: breakfast 06:00–11:00, lunch 11:00–16:00, dinner 17:00–24:00
(local time), unless the meeting's event names its ``meal`` (``occasion``) itself.

A purchase topic is a set of words to find in a purchase's item, place or category (case
insensitive): the ones a known topic lists (coffee: latte, cappuccino, espresso …), else the stem of
the word the question puts after "on" / "на" / "for".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from eventlens.memory.language import Language, words

Intent = Literal["top_people", "habits", "where", "spend", "meet", "activity", "unknown"]
INTENTS: tuple[Intent, ...] = ("where", "meet", "spend", "top_people", "habits", "activity", "unknown")
Meal = Literal["breakfast", "lunch", "dinner"]
# Local hours [from, to) of each meal.
MEAL_HOURS: dict[str, tuple[int, int]] = {"breakfast": (6, 11), "lunch": (11, 16), "dinner": (17, 24)}

_PEOPLE = r"(?:who|whom|people|person|friends?|с кем|кем|кого|кто|люд\w*|друз\w*|з ким|ким|хто)"
_MOST = r"(?:most|чаще\w*|больше всего|наиболее|найчастіше|найбільше|частіше)"
_MEET = r"(?:meet|met|see|saw|встреча\w*|встреч\w*|вижу|вида\w*|бачу\w*|бачив\w*|зустріча\w*|зустр\w*)"

_PATTERNS: list[tuple[Intent, re.Pattern[str]]] = [
    (
        "top_people",
        re.compile(rf"(?:\b{_PEOPLE}\b.*\b{_MOST}\b|\b{_MOST}\b.*\b{_PEOPLE}\b|\b{_MOST}\b.*\b{_MEET})"),
    ),
    ("habits", re.compile(r"\b(?:habit\w*|routine\w*|привычк\w*|рутин\w*|распорядок|звичк\w*|розпоряд\w*)")),
    ("where", re.compile(r"\b(?:where|где|куда|де|куди|в каких местах|в яких місцях|places?)\b")),
    (
        "spend",
        re.compile(
            r"\b(?:how much|spen[dt]|paid|pay|cost|expens\w*|money|buy|bought|purchas\w*|потратил\w*|"
            r"тратил\w*|трат\w*|расход\w*|заплатил\w*|денег|купил\w*|покупк\w*|покупал\w*|витратив\w*|"
            r"витратил\w*|витрачав\w*|витрат\w*|заплатив\w*|грошей|купив\w*|купувал\w*)\b"
        ),
    ),
    (
        "meet",
        re.compile(
            rf"(?:\b{_PEOPLE}\b|\b{_MEET}|\b(?:lunch|dinner|breakfast|supper|обеда\w*|обед\w*|ужина\w*|"
            r"ужин\w*|завтрака\w*|обіда\w*|обід\w*|вечеря\w*|снідав\w*|сніданок))"
        ),
    ),
    (
        "activity",
        re.compile(
            r"\b(?:what did i do|what have i done|what i did|do|did|activit\w*|workouts?|exercis\w*|sports?|"
            r"train\w*|run\w*|steps|sleep\w*|slept|heart|health|делал\w*|занимал\w*|активност\w*|"
            r"трениров\w*|спорт\w*|бега\w*|бег|шаг\w*|сон|спал\w*|пульс|здоров\w*|робив|робила|робили|"
            r"займав\w*|займал\w*|активн\w*|тренув\w*|біг\w*|крок\w*|спав\w*|здоров'\w*)\b"
        ),
    ),
]

_MEALS: list[tuple[Meal, re.Pattern[str]]] = [
    ("breakfast", re.compile(r"\b(?:breakfast\w*|завтрака\w*|завтрак|снідав\w*|сніданок\w*|сніданк\w*)")),
    ("lunch", re.compile(r"\b(?:lunch\w*|обеда\w*|обед\w*|обіда\w*|обід\w*)")),
    ("dinner", re.compile(r"\b(?:dinner\w*|supper\w*|ужина\w*|ужин\w*|вечеря\w*|вечеря)")),
]


@dataclass(frozen=True)
class Topic:
    """What purchases a question asks about: words to find, and what to call them in each language."""

    key: str
    terms: tuple[str, ...]
    names: dict[str, str]


# Known topics: the words that name one in a question, the words to find in purchases, names.
_TOPICS: list[tuple[re.Pattern[str], Topic]] = [
    (
        re.compile(
            r"\b(?:coffee\w*|lattes?|cappuccinos?|espressos?|americanos?|кофе|кава|каву|кави|кавою|латте|лате|"
            r"капучино|эспрессо|еспресо)\b"
        ),
        Topic(
            "coffee",
            (
                "coffee",
                "latte",
                "cappuccino",
                "espresso",
                "americano",
                "flat white",
                "mocha",
                "macchiato",
                "кофе",
                "кава",
                "латте",
                "капучино",
                "эспрессо",
                "еспресо",
                "американо",
            ),
            {"en": "coffee", "ru": "кофе", "uk": "каву"},
        ),
    ),
    (
        re.compile(r"\b(?:grocer\w*|продукт\w*|supermarket\w*|супермаркет\w*)"),
        Topic(
            "groceries",
            ("grocer", "supermarket", "продукт", "супермаркет"),
            {"en": "groceries", "ru": "продукты", "uk": "продукти"},
        ),
    ),
    (
        re.compile(r"\b(?:books?|книг\w*|книж\w*)"),
        Topic("books", ("book", "книг", "книж"), {"en": "books", "ru": "книги", "uk": "книжки"}),
    ),
    (
        re.compile(r"\b(?:taxi\w*|cabs?|uber|такси|таксі)\b"),
        Topic(
            "taxi",
            ("taxi", "cab", "uber", "bolt", "такси", "таксі"),
            {"en": "taxi", "ru": "такси", "uk": "таксі"},
        ),
    ),
    (
        re.compile(r"\b(?:lunch\w*|обед\w*|обід\w*|обіди)"),
        Topic("lunch", ("lunch", "обед", "обід"), {"en": "lunch", "ru": "обеды", "uk": "обіди"}),
    ),
]
# "on X" / "на X" / "for X": the word a purchase topic is read from when no known topic matches ("за"
# is left out: "за месяц" names a time, not a purchase).
_ON_WHAT = re.compile(r"\b(?:on|for|на)\s+(?:the\s+|my\s+)?([a-zа-яёіїєґ'][\w'-]{2,})")
# Words after "on"/"на" that are not purchases (time words, fillers).
_NOT_TOPICS = words(
    "this that last past the what weekend week month year today yesterday friday monday tuesday wednesday "
    "thursday saturday sunday average неделе неделю месяц прошлой прошлую прошлом этой этом выходных "
    "выходные тижні тиждень місяць минулому минулого цьому вихідних вихідні что що"
)


def detect_intent(text: str) -> Intent:
    """The intent of a normalized question (``unknown`` when no rule matches)."""
    for intent, pattern in _PATTERNS:
        if pattern.search(text):
            return intent
    return "unknown"


def detect_meal(text: str) -> Meal | None:
    """The meal a normalized question names, if any."""
    for meal, pattern in _MEALS:
        if pattern.search(text):
            return meal
    return None


def detect_topic(text: str, language: Language) -> Topic | None:
    """What purchases a normalized question asks about; None for all of them."""
    for pattern, topic in _TOPICS:
        if pattern.search(text):
            return topic
    for found in _ON_WHAT.finditer(text):
        word = found[1]
        if word in _NOT_TOPICS or word.isdigit():
            continue
        stem = _stem(word, language)
        return Topic(stem, (stem,), {"en": word, "ru": word, "uk": word})
    return None


def _stem(word: str, language: Language) -> str:
    """A crude stem: English plurals lose their s; Russian and Ukrainian words their ending vowels."""
    if language == "en":
        return word[:-1] if word.endswith("s") and len(word) > 4 else word
    trimmed = re.sub(r"[аяоеёуюыиіїєйь]+$", "", word)
    return trimmed if len(trimmed) >= 3 else word
