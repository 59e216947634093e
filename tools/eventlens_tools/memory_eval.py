"""The memory search's evaluation set: questions in Russian, Ukrainian and English about the planted
persons of ``lifestories``, each judged against the truth computed from the planted events.

An answer is exactly right when its intent and period are the expected ones and its text holds every
expected fact, in the form the answers write it (an exact sum with its currency, each person met with
the time, each place, each habit with its hour …), and none of the facts it must not (a friend not met,
a place not visited); when nothing happened, it says "nothing found" in the question's language.

``QUESTIONS`` holds Life Stream's six example questions for each person and paraphrases of them and
of the other intents; ``NOW`` is the moment they are asked (a Wednesday).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from eventlens_tools.lifestories import PLANS, LifeStory, PlantedEvent, decimal_amount

NOW = datetime(2026, 3, 18, 15, 0, tzinfo=UTC)
TODAY = date(2026, 3, 18)

# Local days, first and last inclusive (None: from the beginning).
PERIODS: dict[str, tuple[date | None, date]] = {
    "today": (TODAY, TODAY),
    "yesterday": (date(2026, 3, 17), date(2026, 3, 17)),
    "weekend": (date(2026, 3, 14), date(2026, 3, 15)),
    "last_friday": (date(2026, 3, 13), date(2026, 3, 13)),
    "saturday": (date(2026, 3, 14), date(2026, 3, 14)),
    "this_week": (date(2026, 3, 16), date(2026, 3, 22)),
    "last_week": (date(2026, 3, 9), date(2026, 3, 15)),
    "this_month": (date(2026, 3, 1), date(2026, 3, 31)),
    "last_month": (date(2026, 2, 1), date(2026, 2, 28)),
    "past_month": (date(2026, 2, 17), TODAY),
    "past_week": (date(2026, 3, 12), TODAY),
    "past_10_days": (date(2026, 3, 9), TODAY),
    "all": (None, TODAY),
    "habits": (TODAY - timedelta(days=89), TODAY),
    "mar_13": (date(2026, 3, 13), date(2026, 3, 13)),
    "mar_10": (date(2026, 3, 10), date(2026, 3, 10)),
    "mar_07": (date(2026, 3, 7), date(2026, 3, 7)),
    "feb_21": (date(2026, 2, 21), date(2026, 2, 21)),
}
# What each purchase topic is, in the planted items (the truth's own list, not eventlens's lexicon).
TOPIC_ITEMS: dict[str, frozenset[str]] = {
    "coffee": frozenset({"Latte", "Cappuccino", "Espresso"}),
    "groceries": frozenset({"Groceries"}),
    "books": frozenset({"Book"}),
    "taxi": frozenset(),
}
MEALS = {"breakfast": (6, 11), "lunch": (11, 16), "dinner": (17, 24)}
HABIT_ITEMS = ("Latte", "running", "yoga", "Groceries")
NOT_HABITS = ("Cappuccino", "Espresso", "Book", "walk")


@dataclass(frozen=True)
class EvalQuestion:
    person: str  # a plan's key
    language: str
    question: str
    intent: str
    period: str  # a key of PERIODS
    meal: str | None = None
    topic: str | None = None  # a key of TOPIC_ITEMS; None: every purchase

    @property
    def needs_graph(self) -> bool:
        """Whether the right answer names places only the Pattern Miner names (Home, Work)."""
        return self.intent == "where"


def _six(person: str) -> list[EvalQuestion]:
    """Life Stream's own six example questions (000's README), asked by ``person``."""
    return [
        EvalQuestion(person, "ru", "С кем я обедал в прошлую пятницу?", "meet", "last_friday", meal="lunch"),
        EvalQuestion(person, "ru", "Где я был в выходные?", "where", "weekend"),
        EvalQuestion(
            person, "ru", "Сколько я потратил на кофе за месяц?", "spend", "past_month", topic="coffee"
        ),
        EvalQuestion(person, "ru", "С кем я чаще всего встречаюсь?", "top_people", "all"),
        EvalQuestion(person, "ru", "Какие у меня привычки?", "habits", "habits"),
        EvalQuestion(person, "ru", "Где я был сегодня?", "where", "today"),
    ]


QUESTIONS: list[EvalQuestion] = [
    *_six("kyiv"),
    EvalQuestion("kyiv", "ru", "Что я делал вчера?", "activity", "yesterday"),
    EvalQuestion("kyiv", "ru", "С кем я ужинал в субботу?", "meet", "saturday", meal="dinner"),
    EvalQuestion(
        "kyiv",
        "ru",
        "Сколько я потратил на продукты в прошлом месяце?",
        "spend",
        "last_month",
        topic="groceries",
    ),
    EvalQuestion("kyiv", "ru", "Где я был 10.03?", "where", "mar_10"),
    EvalQuestion("kyiv", "ru", "С кем я встречался на этой неделе?", "meet", "this_week"),
    EvalQuestion("kyiv", "ru", "Сколько я потратил на такси за неделю?", "spend", "past_week", topic="taxi"),
    EvalQuestion("kyiv", "uk", "З ким я обідав минулої п'ятниці?", "meet", "last_friday", meal="lunch"),
    EvalQuestion("kyiv", "uk", "Де я був на вихідних?", "where", "weekend"),
    EvalQuestion(
        "kyiv", "uk", "Скільки я витратив на каву за місяць?", "spend", "past_month", topic="coffee"
    ),
    EvalQuestion("kyiv", "uk", "З ким я найчастіше зустрічаюся?", "top_people", "all"),
    EvalQuestion("kyiv", "uk", "Які в мене звички?", "habits", "habits"),
    EvalQuestion("kyiv", "uk", "Де я був сьогодні?", "where", "today"),
    EvalQuestion("kyiv", "uk", "Що я робив минулого тижня?", "activity", "last_week"),
    EvalQuestion("kyiv", "uk", "З ким я вечеряв у суботу?", "meet", "saturday", meal="dinner"),
    EvalQuestion(
        "kyiv", "uk", "Скільки я витратив на продукти цього місяця?", "spend", "this_month", topic="groceries"
    ),
    EvalQuestion("kyiv", "uk", "Де я був 13 березня?", "where", "mar_13"),
    EvalQuestion("kyiv", "uk", "Що я робив учора?", "activity", "yesterday"),
    *_six("berlin"),
    EvalQuestion(
        "berlin", "en", "Who did I have lunch with last Friday?", "meet", "last_friday", meal="lunch"
    ),
    EvalQuestion("berlin", "en", "Where was I at the weekend?", "where", "weekend"),
    EvalQuestion(
        "berlin",
        "en",
        "How much did I spend on coffee in the past month?",
        "spend",
        "past_month",
        topic="coffee",
    ),
    EvalQuestion("berlin", "en", "Who do I meet most often?", "top_people", "all"),
    EvalQuestion("berlin", "en", "What are my habits?", "habits", "habits"),
    EvalQuestion("berlin", "en", "Where have I been today?", "where", "today"),
    EvalQuestion("berlin", "en", "What did I do yesterday?", "activity", "yesterday"),
    EvalQuestion(
        "berlin", "en", "Who did I have dinner with on Saturday?", "meet", "saturday", meal="dinner"
    ),
    EvalQuestion(
        "berlin",
        "en",
        "How much did I spend on groceries last week?",
        "spend",
        "last_week",
        topic="groceries",
    ),
    EvalQuestion("berlin", "en", "Where was I on 13 March?", "where", "mar_13"),
    EvalQuestion("berlin", "en", "Who did I meet this week?", "meet", "this_week"),
    EvalQuestion(
        "berlin", "en", "How much did I spend on books this month?", "spend", "this_month", topic="books"
    ),
    EvalQuestion("berlin", "en", "Where was I on 2026-03-07?", "where", "mar_07"),
    *_six("london"),
    EvalQuestion(
        "london", "en", "Who did I have lunch with last Friday?", "meet", "last_friday", meal="lunch"
    ),
    EvalQuestion("london", "en", "Where was I last weekend?", "where", "weekend"),
    EvalQuestion(
        "london", "en", "How much have I spent on coffee this month?", "spend", "this_month", topic="coffee"
    ),
    EvalQuestion("london", "en", "Who do I see the most?", "top_people", "all"),
    EvalQuestion("london", "en", "What routines do I have?", "habits", "habits"),
    EvalQuestion("london", "en", "What did I do last week?", "activity", "last_week"),
    EvalQuestion("london", "uk", "З ким я обідав минулої п'ятниці?", "meet", "last_friday", meal="lunch"),
    EvalQuestion("london", "uk", "Де я був на вихідних?", "where", "weekend"),
    EvalQuestion(
        "london", "uk", "Скільки я витратив на каву минулого місяця?", "spend", "last_month", topic="coffee"
    ),
    EvalQuestion("london", "uk", "З ким я найчастіше зустрічаюся?", "top_people", "all"),
    EvalQuestion("london", "uk", "Які в мене звички?", "habits", "habits"),
    EvalQuestion("london", "uk", "Де я був сьогодні?", "where", "today"),
    EvalQuestion("london", "uk", "Що я робив учора?", "activity", "yesterday"),
    EvalQuestion("london", "uk", "З ким я вечеряв минулої суботи?", "meet", "saturday", meal="dinner"),
    EvalQuestion("london", "uk", "Де я був 21 лютого?", "where", "feb_21"),
    EvalQuestion("london", "uk", "Скільки я витратив за останні 10 днів?", "spend", "past_10_days"),
]

# How the answers write what the truth checks, per language.
_NOTHING = {"en": "Nothing found", "ru": "Ничего не найдено", "uk": "Нічого не знайдено"}
_MEETINGS = {
    "en": ("1 meeting", "{n} meetings"),
    "ru": ("встреч: 1", "встреч: {n}"),
    "uk": ("зустрічей: 1", "зустрічей: {n}"),
}
_PURCHASES = {
    "en": ("1 purchase", "{n} purchases"),
    "ru": ("покупок: 1", "покупок: {n}"),
    "uk": ("покупок: 1", "покупок: {n}"),
}
_AROUND = {"en": "around", "ru": "около", "uk": "близько"}
_MINUTES = {"en": "min", "ru": "мин", "uk": "хв"}
_SESSIONS = {
    "en": "{n} times, {m} min in total",
    "ru": "раз: {n}, всего {m} мин",
    "uk": "разів: {n}, усього {m} хв",
}
_ONE_SESSION = {
    "en": "1 time, {m} min in total",
    "ru": "раз: 1, всего {m} мин",
    "uk": "разів: 1, усього {m} хв",
}
_PLACE_NAMES = {"ru": {"Home": "Дом", "Work": "Работа"}, "uk": {"Home": "Дім", "Work": "Робота"}}
_WEEKDAYS_PHRASE = {"en": "on weekdays", "ru": "по будням", "uk": "у будні"}


@dataclass(frozen=True)
class Expected:
    must: list[str]
    must_not: list[str]
    nothing: bool


@dataclass(frozen=True)
class Verdict:
    right: bool
    problems: list[str]


def local_window(story: LifeStory, period: str) -> tuple[datetime | None, datetime]:
    """A period's local days as instants [start, end)."""
    first, last = PERIODS[period]
    zone = story.zone
    end = datetime.combine(last + timedelta(days=1), time(), zone)
    start = datetime.combine(first, time(), zone) if first else None
    return start, end


def _in(event: PlantedEvent, start: datetime | None, end: datetime) -> bool:
    return (start is None or event.at >= start) and event.at < end


def _clock(story: LifeStory, moment: datetime) -> str:
    return story.local(moment).strftime("%H:%M")


def _place_text(name: str, language: str) -> str:
    return _PLACE_NAMES.get(language, {}).get(name, name)


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")


def _amount(value: Decimal) -> str:
    return f"{value:.2f}" if value == value.quantize(Decimal("0.01")) else format(value.normalize(), "f")


def expected(question: EvalQuestion, story: LifeStory) -> Expected:
    """What the right answer to ``question`` holds, from ``story``'s planted events."""
    start, end = local_window(story, question.period)
    events = [event for event in story.events if _in(event, start, end)]
    truth = {
        "where": _where,
        "meet": _meet,
        "top_people": _top_people,
        "spend": _spend,
        "habits": _habits,
        "activity": _activity,
    }[question.intent]
    return truth(question, story, events)


def _where(question: EvalQuestion, story: LifeStory, events: list[PlantedEvent]) -> Expected:
    every = {event.place for event in story.events if event.type == "geo"}
    visited = {event.place for event in events if event.type == "geo"}
    language = question.language
    return Expected(
        must=[_place_text(str(place), language) for place in sorted(visited, key=str)],
        must_not=[_place_text(str(place), language) for place in sorted(every - visited, key=str)],
        nothing=not visited,
    )


def _meetings(events: list[PlantedEvent]) -> list[PlantedEvent]:
    return [e for e in events if e.type == "social" and e.properties.get("action") == "meet"]


def _friends(story: LifeStory) -> list[str]:
    return [friend.name for friend in story.plan.friends]


def _meet(question: EvalQuestion, story: LifeStory, events: list[PlantedEvent]) -> Expected:
    met = _meetings(events)
    if question.meal:
        first, until = MEALS[question.meal]
        met = [e for e in met if first <= story.local(e.at).hour < until]
    names = {str(e.properties["person_name"]) for e in met}
    return Expected(
        must=[f"{e.properties['person_name']} ({_clock(story, e.at)})" for e in met],
        must_not=[name for name in _friends(story) if name not in names],
        nothing=not met,
    )


def _top_people(question: EvalQuestion, story: LifeStory, events: list[PlantedEvent]) -> Expected:
    counts = Counter(str(e.properties["person_name"]) for e in _meetings(events))
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
    if len(ranked) > 3:
        ranked = [pair for pair in ranked if pair[1] >= ranked[2][1]]
    one, many = _MEETINGS[question.language]
    chosen = {name for name, _ in ranked}
    return Expected(
        must=[f"{name} ({one if n == 1 else many.format(n=n)})" for name, n in ranked],
        must_not=[name for name in _friends(story) if name not in chosen],
        nothing=not ranked,
    )


def _spend(question: EvalQuestion, story: LifeStory, events: list[PlantedEvent]) -> Expected:
    bought = [e for e in events if e.type == "purchase"]
    if question.topic is not None:
        bought = [e for e in bought if e.properties["item"] in TOPIC_ITEMS[question.topic]]
    total = sum((decimal_amount(e) for e in bought), Decimal(0))
    one, many = _PURCHASES[question.language]
    count = one if len(bought) == 1 else many.format(n=len(bought))
    return Expected(
        must=[f"{_amount(total)} {story.plan.currency}", f"({count})"] if bought else [],
        must_not=[],
        nothing=not bought,
    )


def _utc_hour(story: LifeStory, events: list[PlantedEvent], kind: str, name: str) -> int:
    """The UTC hour (rounded to the nearest) most of a planted habit's occurrences fall at."""
    hours = Counter(
        (e.at + timedelta(minutes=30)).hour
        for e in events
        if e.type == kind and name in (e.properties.get("item"), e.properties.get("activity"))
    )
    return hours.most_common(1)[0][0]


def _habits(question: EvalQuestion, story: LifeStory, events: list[PlantedEvent]) -> Expected:
    language = question.language
    utc = "" if story.plan.timezone == "UTC" else " UTC"
    must = []
    for item in HABIT_ITEMS:
        kind = "purchase" if item[0].isupper() else "activity"
        must.append(f"{item} {_AROUND[language]} {_utc_hour(story, events, kind, item):02d}:00{utc}")
    work_hours = sorted({(e.at + timedelta(minutes=30)).hour for e in events if e.place == "Work"})
    for hour in work_hours:
        work = _place_text("Work", language)
        must.append(f"{work} {_WEEKDAYS_PHRASE[language]} {_AROUND[language]} {hour:02d}:00{utc}")
    return Expected(must=must, must_not=list(NOT_HABITS), nothing=False)


def _activity(question: EvalQuestion, story: LifeStory, events: list[PlantedEvent]) -> Expected:
    language = question.language
    done = [e for e in events if e.type == "activity"]
    measured = [e for e in events if e.type == "health"]
    first, last = PERIODS[question.period]
    day_by_day = first is not None and (last - first).days < 3
    must = []
    if day_by_day:
        for e in done:
            minutes = e.properties["duration_minutes"]
            must.append(f"{e.properties['activity']} {minutes} {_MINUTES[language]} ({_clock(story, e.at)})")
    else:
        sessions: dict[str, list[int]] = {}
        for e in done:
            sessions.setdefault(str(e.properties["activity"]), []).append(
                int(e.properties["duration_minutes"])
            )
        for name, minutes in sessions.items():
            template = _ONE_SESSION[language] if len(minutes) == 1 else _SESSIONS[language]
            must.append(f"{name}: {template.format(n=len(minutes), m=sum(minutes))}")
    metrics: dict[str, list[Decimal]] = {}
    for e in measured:
        metrics.setdefault(str(e.properties["metric"]), []).append(Decimal(str(e.properties["value"])))
    for metric, values in metrics.items():
        must.append(metric)
        must += [_number(min(values)), _number(max(values))]
    absent = sorted({"running", "yoga", "walk"} - {str(e.properties["activity"]) for e in done})
    return Expected(must=must, must_not=absent, nothing=not done and not measured)


def _mentions(text: str, fragment: str) -> bool:
    """Whether ``fragment`` is in ``text`` as whole words (Work is not in Workshop)."""
    return re.search(rf"(?<![\w]){re.escape(fragment)}(?![\w])", text) is not None


def judge(question: EvalQuestion, story: LifeStory, answer: dict[str, Any]) -> Verdict:
    """Whether ``answer`` (the route's JSON) is exactly right (see the module doc), and if not, why."""
    problems = []
    if answer["intent"] != question.intent:
        problems.append(f"intent {answer['intent']} (expected {question.intent})")
    start, end = local_window(story, question.period)
    got_start = answer["time_range"]["from"]
    got = (
        datetime.fromisoformat(got_start) if got_start else None,
        datetime.fromisoformat(answer["time_range"]["to"]),
    )
    if got != (start, end):
        problems.append(f"period {got} (expected {(start, end)})")
    if answer["language"] != question.language:
        problems.append(f"language {answer['language']} (expected {question.language})")
    truth = expected(question, story)
    text = answer["answer"]
    said_nothing = text.startswith(_NOTHING[question.language])
    if truth.nothing != said_nothing:
        problems.append("said nothing was found" if said_nothing else "did not say nothing was found")
    problems += [f"missing {fragment!r}" for fragment in truth.must if not _mentions(text, fragment)]
    problems += [f"wrongly has {fragment!r}" for fragment in truth.must_not if _mentions(text, fragment)]
    return Verdict(not problems, problems)


def story_for(stories: list[LifeStory], person: str) -> LifeStory:
    return next(story for story in stories if story.plan.key == person)


PERSONS = tuple(plan.key for plan in PLANS)
