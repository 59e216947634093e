"""The Pattern Miner's insights: one sentence per habit and routine, and one on places, written by rule
from what was mined (000's "AI reasoning" step, deterministic: the same history, the same words).

- A habit: how often it is kept on the days it is kept on, at which part of the day, around which hour
  ("Latte: almost every weekday morning around 09:00 UTC (confidence 0.714)"). Its days are the
  fewest weekdays holding 90% of its occurrences (all seven: every day; Monday to Friday: weekdays;
  Saturday and Sunday: weekends); how often is the share of those days, from the user's first to last
  active day, on which it happened: almost every (75% or more), most (50%), many (25%), some.
- A routine: where, on which days, around which hour, in how many weeks.
- Places: where the user spends most hours.

Hours are the miner's, UTC. An optional language model (``eventlens.rephrase``) may reword each
sentence; its wording is kept only when grounded in the sentence and the pattern it states.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from eventlens.mining.history import History, Occurrence
from eventlens.mining.patterns import WEEKDAYS, Habit, Insight, Place, Routine, nearest_hour
from eventlens.rephrase import ChatModel, grounded_rewording

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
COVERAGE = 0.9  # a habit's days: the fewest weekdays holding this share of its occurrences
FREQUENCIES = ((0.75, "almost every"), (0.5, "most"), (0.25, "many"), (0.0, "some"))


def write_insights(
    history: History, places: list[Place], routines: list[Routine], habits: list[Habit]
) -> list[Insight]:
    """The insights of what was mined from ``history``: habits first (most confident first), routines,
    then places."""
    insights = [_habit_insight(habit, history) for habit in habits]
    insights += [
        Insight(key=f"routine:{routine.key}", kind="routine", text=_routine_text(routine), confidence=None)
        for routine in routines
    ]
    if places:
        insights.append(Insight(key="places", kind="places", text=_places_text(places), confidence=None))
    return insights


def _part_of_day(hour: int) -> str:
    if 5 <= hour < 12:
        return "morning"
    if 12 <= hour < 17:
        return "afternoon"
    return "evening" if 17 <= hour < 22 else "night"


def _habit_days(history: History, habit: Habit) -> list[date]:
    """The days a habit happened on at its typical hour (give or take one), as the miner counts them."""

    def near(occurrence: Occurrence) -> bool:
        distance = abs(nearest_hour(occurrence.ts) - habit.hour) % 24
        return min(distance, 24 - distance) <= 1

    return sorted(
        {
            o.ts.date()
            for o in history.occurrences
            if o.kind == habit.kind and o.name == habit.item and near(o)
        }
    )


def _covering_weekdays(days: list[date]) -> list[int]:
    counts = Counter(day.weekday() for day in days)
    chosen: list[int] = []
    for weekday, _ in sorted(counts.items(), key=lambda pair: (-pair[1], pair[0])):
        if sum(counts[d] for d in chosen) >= COVERAGE * len(days):
            break
        chosen.append(weekday)
    return sorted(chosen)


def _days_phrase(weekdays: list[int]) -> str:
    if weekdays == list(range(7)):
        return ""
    if weekdays == list(range(5)):
        return "weekday"
    if weekdays == [5, 6]:
        return "weekend"
    names = [DAY_NAMES[day] for day in weekdays]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _habit_insight(habit: Habit, history: History) -> Insight:
    days = _habit_days(history, habit)
    weekdays = _covering_weekdays(days)
    active = sorted({o.ts.date() for o in history.occurrences} | {p.ts.date() for p in history.points})
    span = [active[0] + timedelta(days=i) for i in range((active[-1] - active[0]).days + 1)] if active else []
    eligible = sum(day.weekday() in weekdays for day in span) or 1
    share = sum(day.weekday() in weekdays for day in days) / eligible
    frequency = next(word for threshold, word in FREQUENCIES if share >= threshold)
    part = _part_of_day(habit.hour)
    which = " ".join(word for word in (_days_phrase(weekdays), part) if word)
    when = f"{frequency} {which}" if frequency == "almost every" else f"{frequency} {which}s"
    text = f"{habit.item}: {when} around {habit.hour:02d}:00 UTC (confidence {habit.confidence})"
    return Insight(key=f"habit:{habit.key}", kind="habit", text=text, confidence=habit.confidence)


def _routine_text(routine: Routine) -> str:
    days = [WEEKDAYS.index(day) for day in routine.weekdays]
    phrase = _days_phrase(days)
    on = {"": "every day", "weekday": "on weekdays", "weekend": "at weekends"}.get(phrase, f"on {phrase}")
    return f"At {routine.place} {on} around {routine.hour:02d}:00 UTC, in {routine.weeks} weeks"


def _places_text(places: list[Place]) -> str:
    shown = [f"{place.name} ({place.visits} hours)" for place in places[:3]]
    return "Most time at " + (shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}")


def reword_insights(model: ChatModel | None, insights: list[Insight]) -> list[Insight]:
    """Each insight reworded by ``model`` when its wording is grounded in the insight; as written
    otherwise (and all of them with no model)."""
    if model is None:
        return insights
    reworded = []
    for insight in insights:
        text = grounded_rewording(model, "", insight.text, "en", [])
        reworded.append(
            insight.model_copy(update={"text": text, "generated_by": "language_model"}) if text else insight
        )
    return reworded
