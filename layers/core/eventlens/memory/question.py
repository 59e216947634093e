"""A question understood: its language, intent and local period, and what it narrows the answer to
(a meal, a purchase topic). Rules only (``language``, ``intents``, ``periods``); tested question by
question in tests/memory.

A question that names no period gets its intent's: the last 7 days (where, meet, activity), the last
30 days (spend), the whole history (top_people, ``start`` None), the Pattern Miner's lookback
(habits, whatever period is named: habits are mined over it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from eventlens.memory.intents import Intent, Meal, Topic, detect_intent, detect_meal, detect_topic
from eventlens.memory.language import Language, detect_language, normalized
from eventlens.memory.periods import Period, find_period

DEFAULT_DAYS: dict[str, int] = {"where": 7, "meet": 7, "activity": 7, "spend": 30, "unknown": 7}
HABITS_LOOKBACK_DAYS = 90  # the Pattern Miner's (eventlens.mining.miner.LOOKBACK_DAYS)


@dataclass(frozen=True)
class ParsedQuestion:
    language: Language
    intent: Intent
    start: datetime | None  # local, naive; None: from the first event
    end: datetime  # local, naive, exclusive
    period_named: bool
    meal: Meal | None
    topic: Topic | None


def parse_question(question: str, now: datetime) -> ParsedQuestion:
    """What ``question`` asks, its period in the local time of ``now`` (naive, the person's clock)."""
    text = normalized(question)
    language = detect_language(text)
    intent = detect_intent(text)
    period = find_period(text, now)
    named = period is not None and intent != "habits"
    start, end = _period(intent, period if named else None, now)
    return ParsedQuestion(
        language=language,
        intent=intent,
        start=start,
        end=end,
        period_named=named,
        meal=detect_meal(text) if intent == "meet" else None,
        topic=detect_topic(text, language) if intent == "spend" else None,
    )


def _period(intent: Intent, period: Period | None, now: datetime) -> tuple[datetime | None, datetime]:
    if period is not None:
        return period.start, period.end
    tomorrow = datetime.combine(now.date() + timedelta(days=1), time())
    if intent == "top_people":
        return None, tomorrow
    days = HABITS_LOOKBACK_DAYS if intent == "habits" else DEFAULT_DAYS[intent]
    return tomorrow - timedelta(days=days), tomorrow
