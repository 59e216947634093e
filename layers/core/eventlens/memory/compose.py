"""The answer in words, in the question's language, saying only what the findings hold.

Every number, name, date and time in an answer is a value of the evidence (sums as exact decimals with
their currency, names as the events or the graph give them, times in the person's timezone) or of the
question's period; when nothing was found the answer says so first: "Nothing found", "Ничего не
найдено", "Нічого не знайдено". Without a habits graph the answer ends by saying it came from the
events alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal

from eventlens.memory.findings import Doing, Findings, PlaceVisit
from eventlens.memory.intents import MEAL_HOURS
from eventlens.memory.language import Language
from eventlens.memory.question import ParsedQuestion
from eventlens.mining.patterns import WEEKDAYS, Habit, Routine

# A period of up to this many days is told day by day; a longer one is summed up.
DAY_BY_DAY = 3

_WEEKDAY_NAMES = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "ru": ("понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье"),
    "uk": ("понеділок", "вівторок", "середа", "четвер", "п'ятниця", "субота", "неділя"),
}
# "on Friday": the weekday after its preposition.
_ON_WEEKDAY = {
    "en": tuple(f"on {day}" for day in _WEEKDAY_NAMES["en"]),
    "ru": (
        "в понедельник",
        "во вторник",
        "в среду",
        "в четверг",
        "в пятницу",
        "в субботу",
        "в воскресенье",
    ),
    "uk": ("у понеділок", "у вівторок", "у середу", "у четвер", "у п'ятницю", "у суботу", "у неділю"),
}
_MONTH_NAMES = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "ru": (
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ),
    "uk": (
        "січня",
        "лютого",
        "березня",
        "квітня",
        "травня",
        "червня",
        "липня",
        "серпня",
        "вересня",
        "жовтня",
        "листопада",
        "грудня",
    ),
}
_SHORT_WEEKDAYS = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "ru": ("пн", "вт", "ср", "чт", "пт", "сб", "вс"),
    "uk": ("пн", "вт", "ср", "чт", "пт", "сб", "нд"),
}

_TEXT: dict[str, dict[Language, str]] = {
    "nothing": {"en": "Nothing found", "ru": "Ничего не найдено", "uk": "Нічого не знайдено"},
    "from_to": {"en": "from {a} to {b}", "ru": "с {a} по {b}", "uk": "з {a} по {b}"},
    "ever": {"en": "over your whole history", "ru": "за всё время", "uk": "за весь час"},
    "and": {"en": "and", "ru": "и", "uk": "і"},
    "no_graph": {
        "en": "(Answered from the events alone: no habits graph is configured.)",
        "ru": "(Ответ только по событиям: граф привычек не настроен.)",
        "uk": "(Відповідь лише за подіями: граф звичок не налаштовано.)",
    },
    "where": {"en": "Where you were {period}", "ru": "Где вы были {period}", "uk": "Де ви були {period}"},
    "where_none": {
        "en": "no record of places {period}",
        "ru": "нет записей о местах {period}",
        "uk": "немає записів про місця {period}",
    },
    "days": {"en": "{n} days", "ru": "дней: {n}", "uk": "днів: {n}"},
    "one_day": {"en": "1 day", "ru": "дней: 1", "uk": "днів: 1"},
    "met": {
        "en": "Whom you met{meal} {period}",
        "ru": "С кем вы встречались{meal} {period}",
        "uk": "З ким ви зустрічалися{meal} {period}",
    },
    "met_none": {
        "en": "no meetings{meal} {period}",
        "ru": "нет встреч{meal} {period}",
        "uk": "немає зустрічей{meal} {period}",
    },
    "breakfast": {"en": " at breakfast", "ru": " за завтраком", "uk": " за сніданком"},
    "lunch": {"en": " at lunch", "ru": " в обед", "uk": " в обід"},
    "dinner": {"en": " at dinner", "ru": " за ужином", "uk": " за вечерею"},
    "top": {
        "en": "Whom you meet most {period}",
        "ru": "Чаще всего вы встречаетесь {period}",
        "uk": "Найчастіше ви зустрічаєтеся {period}",
    },
    "meetings": {"en": "{n} meetings", "ru": "встреч: {n}", "uk": "зустрічей: {n}"},
    "one_meeting": {"en": "1 meeting", "ru": "встреч: 1", "uk": "зустрічей: 1"},
    "top_none": {"en": "no meetings {period}", "ru": "нет встреч {period}", "uk": "немає зустрічей {period}"},
    "spent_on": {
        "en": "You spent {sum} on {topic} {period}",
        "ru": "Вы потратили {sum} на {topic} {period}",
        "uk": "Ви витратили {sum} на {topic} {period}",
    },
    "spent": {
        "en": "You spent {sum} {period}",
        "ru": "Вы потратили {sum} {period}",
        "uk": "Ви витратили {sum} {period}",
    },
    "purchases": {"en": "{n} purchases", "ru": "покупок: {n}", "uk": "покупок: {n}"},
    "one_purchase": {"en": "1 purchase", "ru": "покупок: 1", "uk": "покупок: 1"},
    "spent_none_on": {
        "en": "no purchases matching “{topic}” {period}",
        "ru": "нет покупок по запросу «{topic}» {period}",
        "uk": "немає покупок за запитом «{topic}» {period}",
    },
    "spent_none": {
        "en": "no purchases {period}",
        "ru": "нет покупок {period}",
        "uk": "немає покупок {period}",
    },
    "habits": {"en": "Your habits", "ru": "Ваши привычки", "uk": "Ваші звички"},
    "routines": {"en": "Your routines", "ru": "Ваш распорядок", "uk": "Ваш розпорядок"},
    "habits_none": {
        "en": "no habits or routines were found in your events of the last 90 days",
        "ru": "в ваших событиях за последние 90 дней не найдено привычек и распорядка",
        "uk": "у ваших подіях за останні 90 днів не знайдено звичок і розпорядку",
    },
    "around": {"en": "around {hour}", "ru": "около {hour}", "uk": "близько {hour}"},
    "confidence": {"en": "confidence {value}", "ru": "уверенность {value}", "uk": "упевненість {value}"},
    "daily": {"en": "daily", "ru": "ежедневно", "uk": "щодня"},
    "weekdays": {"en": "on weekdays", "ru": "по будням", "uk": "у будні"},
    "weekends": {"en": "on weekends", "ru": "по выходным", "uk": "у вихідні"},
    "on_days": {"en": "on {days}", "ru": "по дням: {days}", "uk": "у дні: {days}"},
    "did": {"en": "What you did {period}", "ru": "Что вы делали {period}", "uk": "Що ви робили {period}"},
    "did_none": {
        "en": "no activities or health measurements {period}",
        "ru": "нет активностей и измерений здоровья {period}",
        "uk": "немає активностей і вимірів здоров'я {period}",
    },
    "minutes": {"en": "{n} min", "ru": "{n} мин", "uk": "{n} хв"},
    "one_session": {
        "en": "1 time, {minutes} min in total",
        "ru": "раз: 1, всего {minutes} мин",
        "uk": "разів: 1, усього {minutes} хв",
    },
    "sessions": {
        "en": "{n} times, {minutes} min in total",
        "ru": "раз: {n}, всего {minutes} мин",
        "uk": "разів: {n}, усього {minutes} хв",
    },
    "health": {"en": "Health", "ru": "Здоровье", "uk": "Здоров'я"},
    "measurements": {
        "en": "{n} measurements, {low}–{high}",
        "ru": "измерений: {n}, от {low} до {high}",
        "uk": "вимірів: {n}, від {low} до {high}",
    },
    "unknown": {
        "en": "I can tell you where you were, whom you met (or had lunch or dinner with), how much you spent "
        "on something, whom you meet most, what your habits are and what you did: ask about one of these.",
        "ru": "Я могу рассказать, где вы были, с кем встречались (обедали, ужинали), сколько потратили на "
        "что-то, с кем встречаетесь чаще всего, какие у вас привычки и что вы делали: спросите об этом.",
        "uk": "Я можу розповісти, де ви були, з ким зустрічалися (обідали, вечеряли), скільки витратили на "
        "щось, з ким зустрічаєтеся найчастіше, які у вас звички і що ви робили: запитайте про це.",
    },
}
_PLACE_NAMES = {"ru": {"Home": "Дом", "Work": "Работа"}, "uk": {"Home": "Дім", "Work": "Робота"}}
_PLACE_N = {"ru": "Место", "uk": "Місце"}


def _t(key: str, language: Language, **values: object) -> str:
    return _TEXT[key][language].format(**values)


def day_text(day: date, language: Language) -> str:
    """``Friday, 13 March 2026`` / ``пятница, 13 марта 2026`` / ``п'ятниця, 13 березня 2026``."""
    return f"{_WEEKDAY_NAMES[language][day.weekday()]}, {_date(day, language)}"


def _date(day: date, language: Language) -> str:
    return f"{day.day} {_MONTH_NAMES[language][day.month - 1]} {day.year}"


def period_text(start: datetime | None, end: datetime, language: Language) -> str:
    """The period as a phrase: one day (``on Friday, 13 March 2026``), a span of days, or all time."""
    if start is None:
        return _t("ever", language)
    first, last = start.date(), (end - timedelta(microseconds=1)).date()
    if first == last:
        return f"{_ON_WEEKDAY[language][first.weekday()]}, {_date(first, language)}"
    return _t("from_to", language, a=_date(first, language), b=_date(last, language))


def amount_text(value: Decimal) -> str:
    """An exact amount: two decimals (cents) unless it has more."""
    return f"{value:.2f}" if value == value.quantize(Decimal("0.01")) else format(value.normalize(), "f")


def number_text(value: Decimal | None) -> str:
    if value is None:
        return "?"
    return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")


def _clock(moment: datetime) -> str:
    return moment.strftime("%H:%M")


def _span(first: datetime, last: datetime) -> str:
    return _clock(first) if _clock(first) == _clock(last) else f"{_clock(first)}–{_clock(last)}"


def place_name(name: str, language: Language) -> str:
    """A place's name; the Pattern Miner's own names (Home, Work, Place N) in the question's language."""
    if language == "en":
        return name
    if name in _PLACE_NAMES[language]:
        return _PLACE_NAMES[language][name]
    if name.startswith("Place ") and name[6:].isdigit():
        return f"{_PLACE_N[language]} {name[6:]}"
    return name


def compose(parsed: ParsedQuestion, findings: Findings, graph_configured: bool, timezone: str) -> str:
    """The answer to ``parsed`` from ``findings``, in the question's language."""
    language = parsed.language
    period = period_text(parsed.start, parsed.end, language)
    composers: dict[str, Callable[[ParsedQuestion, Findings, str, str], str]] = {
        "where": _where,
        "meet": _meet,
        "top_people": _top_people,
        "spend": _spend,
        "habits": _habits,
        "activity": _activity,
    }
    composer = composers.get(parsed.intent)
    text = composer(parsed, findings, period, timezone) if composer else _t("unknown", language)
    if not graph_configured and parsed.intent != "unknown":
        text = f"{text} {_t('no_graph', language)}"
    return text


def _empty(language: Language, key: str, **values: object) -> str:
    return f"{_t('nothing', language)}: {_t(key, language, **values)}."


def _by_day(days: dict[date, list[str]], language: Language) -> str:
    """Items of one day as a list; of several days, each day's list after its date."""
    if len(days) == 1:
        return ", ".join(next(iter(days.values())))
    return "; ".join(f"{day_text(day, language)}: {', '.join(items)}" for day, items in days.items())


def _span_days(parsed: ParsedQuestion) -> int | None:
    if parsed.start is None:
        return None
    return (parsed.end - parsed.start).days


def _where(parsed: ParsedQuestion, findings: Findings, period: str, timezone: str) -> str:
    language = parsed.language
    if not findings.days:
        return _empty(language, "where_none", period=period)
    lead = _t("where", language, period=period)
    span = _span_days(parsed)
    if span is not None and span <= DAY_BY_DAY:
        days = {
            day: [f"{place_name(v.name, language)} ({_span(v.first, v.last)})" for v in visits]
            for day, visits in findings.days.items()
        }
        return f"{lead}: {_by_day(days, language)}."
    return f"{lead}: {', '.join(_places_by_days(findings.days, language))}."


def _places_by_days(days: dict[date, list[PlaceVisit]], language: Language) -> list[str]:
    """Each place with the number of days it was visited on, most days first."""
    counts: dict[str, int] = {}
    first_seen: dict[str, datetime] = {}
    for visits in days.values():
        for visit in visits:
            counts[visit.name] = counts.get(visit.name, 0) + 1
            first_seen.setdefault(visit.name, visit.first)
    ordered = sorted(counts, key=lambda name: (-counts[name], first_seen[name]))
    return [
        f"{place_name(name, language)} ("
        + (_t("one_day", language) if counts[name] == 1 else _t("days", language, n=counts[name]))
        + ")"
        for name in ordered
    ]


def _meal_text(parsed: ParsedQuestion) -> str:
    if parsed.meal is None:
        return ""
    first, until = MEAL_HOURS[parsed.meal]
    return f"{_t(parsed.meal, parsed.language)} ({first:02d}:00–{until:02d}:00)"


def _meet(parsed: ParsedQuestion, findings: Findings, period: str, timezone: str) -> str:
    language = parsed.language
    meal = _meal_text(parsed)
    if not findings.meetings:
        return _empty(language, "met_none", meal=meal, period=period)
    days: dict[date, list[str]] = {}
    for meeting in findings.meetings:
        days.setdefault(meeting.at.date(), []).append(f"{meeting.name} ({_clock(meeting.at)})")
    return f"{_t('met', language, meal=meal, period=period)}: {_by_day(days, language)}."


def _top_people(parsed: ParsedQuestion, findings: Findings, period: str, timezone: str) -> str:
    language = parsed.language
    if not findings.ranking:
        return _empty(language, "top_none", period=period)
    people = [
        f"{name} (" + (_t("one_meeting", language) if count == 1 else _t("meetings", language, n=count)) + ")"
        for name, count in findings.ranking
    ]
    return f"{_t('top', language, period=period)}: {', '.join(people)}."


def _spend(parsed: ParsedQuestion, findings: Findings, period: str, timezone: str) -> str:
    language = parsed.language
    topic = parsed.topic.names[language] if parsed.topic else None
    if not findings.purchases:
        if topic:
            return _empty(language, "spent_none_on", topic=topic, period=period)
        return _empty(language, "spent_none", period=period)
    sums = [f"{amount_text(total)} {currency}".strip() for currency, total in sorted(findings.sums.items())]
    total = f" {_t('and', language)} ".join(sums)
    count = (
        _t("one_purchase", language)
        if findings.purchases == 1
        else _t("purchases", language, n=findings.purchases)
    )
    key = "spent_on" if topic else "spent"
    return f"{_t(key, language, sum=total, topic=topic, period=period)} ({count})."


def _hour(hour: int, timezone: str) -> str:
    """A mined hour (the Pattern Miner's hours are UTC)."""
    return f"{hour:02d}:00" + ("" if timezone == "UTC" else " UTC")


def _habit_text(habit: Habit, language: Language, timezone: str) -> str:
    around = _t("around", language, hour=_hour(habit.hour, timezone))
    return f"{habit.item} {around} ({_t('confidence', language, value=habit.confidence)})"


def _days_text(weekdays: list[str], language: Language) -> str:
    days = [WEEKDAYS.index(day) for day in weekdays]
    if days == list(range(7)):
        return _t("daily", language)
    if days == list(range(5)):
        return _t("weekdays", language)
    if days == [5, 6]:
        return _t("weekends", language)
    return _t("on_days", language, days=", ".join(_SHORT_WEEKDAYS[language][day] for day in days))


def _routine_text(routine: Routine, language: Language, timezone: str) -> str:
    around = _t("around", language, hour=_hour(routine.hour, timezone))
    return f"{place_name(routine.place, language)} {_days_text(routine.weekdays, language)} {around}"


def _habits(parsed: ParsedQuestion, findings: Findings, period: str, timezone: str) -> str:
    language = parsed.language
    if not findings.habits and not findings.routines:
        return f"{_t('nothing', language)}: {_t('habits_none', language)}."
    parts = []
    if findings.habits:
        habits = ", ".join(_habit_text(habit, language, timezone) for habit in findings.habits)
        parts.append(f"{_t('habits', language)}: {habits}.")
    if findings.routines:
        routines = ", ".join(_routine_text(routine, language, timezone) for routine in findings.routines)
        parts.append(f"{_t('routines', language)}: {routines}.")
    return " ".join(parts)


def _activity(parsed: ParsedQuestion, findings: Findings, period: str, timezone: str) -> str:
    language = parsed.language
    if not findings.doings:
        return _empty(language, "did_none", period=period)
    activities = [doing for doing in findings.doings if doing.kind == "activity"]
    health = [doing for doing in findings.doings if doing.kind == "health"]
    span = _span_days(parsed)
    parts = []
    if activities:
        if span is not None and span <= DAY_BY_DAY:
            days: dict[date, list[str]] = {}
            for doing in activities:
                minutes = _t("minutes", language, n=number_text(doing.value))
                days.setdefault(doing.at.date(), []).append(f"{doing.name} {minutes} ({_clock(doing.at)})")
            listed = _by_day(days, language)
        else:
            listed = ", ".join(_activity_totals(activities, language))
        parts.append(f"{_t('did', language, period=period)}: {listed}.")
    if health:
        lead = _t("health", language) if activities else f"{_t('health', language)} {period}"
        parts.append(f"{lead}: {'; '.join(_health_lines(health, language))}.")
    return " ".join(parts)


def _activity_totals(activities: list[Doing], language: Language) -> list[str]:
    sessions: dict[str, list[Decimal]] = {}
    for doing in activities:
        sessions.setdefault(doing.name, []).append(doing.value or Decimal(0))
    ordered = sorted(sessions, key=lambda name: (-len(sessions[name]), name))
    lines = []
    for name in ordered:
        total = number_text(sum(sessions[name], Decimal(0)))
        key = "one_session" if len(sessions[name]) == 1 else "sessions"
        lines.append(f"{name}: {_t(key, language, n=len(sessions[name]), minutes=total)}")
    return lines


def _health_lines(health: list[Doing], language: Language) -> list[str]:
    metrics: dict[str, list[Doing]] = {}
    for doing in health:
        metrics.setdefault(doing.name, []).append(doing)
    lines = []
    for metric in sorted(metrics):
        measured = metrics[metric]
        if len(measured) == 1:
            lines.append(f"{metric} {number_text(measured[0].value)} ({_clock(measured[0].at)})")
            continue
        values = [doing.value for doing in measured if doing.value is not None]
        low = number_text(min(values)) if values else "?"
        high = number_text(max(values)) if values else "?"
        lines.append(f"{metric}: {_t('measurements', language, n=len(measured), low=low, high=high)}")
    return lines
