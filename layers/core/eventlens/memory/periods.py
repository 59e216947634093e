"""When a question asks about, in the person's local time: rules for Russian, Ukrainian and English.

``find_period(text, now)`` reads the first time expression a rule knows in a normalized question
(``language.normalized``) and gives its local period ``[start, end)``, whole days from midnight to
midnight; ``now`` is the person's local time (naive), which ``clock`` gets from the warehouse.

What each expression means (the rules below, most specific first):

- a date: ``2026-03-13``, ``13.03.2026``, ``13.03``, ``13 March``, ``March 13th``, ``13 марта``,
  ``13 березня`` (a year left out: the latest such day not after today); a month with a preposition,
  ``in March``, ``в марте``, ``у березні`` (the latest such month begun by today): that day or month;
- today, yesterday, the day before yesterday;
- the last N days (``за последние 10 дней``, ``last 10 days``): N days ending today;
- the weekend: the one under way on a Saturday or Sunday, else the last one; *last* weekend on a
  Saturday or Sunday is the one before; *this* weekend is the current week's;
- a weekday: *on Friday* is the latest Friday not after today, *last Friday* the latest before today,
  *this Friday* the current week's (weeks start on Monday);
- this week / month / year: the calendar one under way; last week / month / year: the calendar one
  before it; *за неделю*, *за місяць*, *past month*, *the last year*: the 7, 30 or 365 days ending
  today.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

# Words that make "last Friday", "this week", "the past month" (normalized text: lower case).
_LAST = r"(?:last|previous|прошл\w*|предыдущ\w*|минул\w*|попередн\w*)"
_THIS = r"(?:this|эт\w*|текущ\w*|ц(?:ей|ього|ьому|я|ієї|ій|і|их|ими)|поточн\w*)"
_ROLLING = (
    r"(?:за(?: (?:последн\w*|прошедш\w*|останн\w*|минул\w* (?=\d)))?|(?:over |in |during )?the (?:past|last)|"
    r"past)"
)
_WEEK = r"(?:week|недел\w*|тижд\w*|тижн\w*)"
_MONTH = r"(?:month|месяц\w*|місяц\w*|місяць)"
_YEAR = r"(?:year|год|года|году|рік|року|році)"
_WEEKEND = r"(?:weekend|выходн\w*|вихідн\w*)"

_WEEKDAY_FORMS: dict[int, tuple[str, ...]] = {
    0: ("monday", "понедельник", "понедельника", "понеділок", "понеділка"),
    1: ("tuesday", "вторник", "вторника", "вівторок", "вівторка"),
    2: ("wednesday", "среда", "среду", "среды", "середа", "середу", "середи"),
    3: ("thursday", "четверг", "четверга", "четвер", "четверга"),
    4: ("friday", "пятница", "пятницу", "пятницы", "п'ятниця", "п'ятницю", "п'ятниці"),
    5: ("saturday", "суббота", "субботу", "субботы", "субота", "суботу", "суботи"),
    6: ("sunday", "воскресенье", "воскресенья", "неділя", "неділю", "неділі"),
}
_MONTH_FORMS: dict[int, tuple[str, ...]] = {
    1: ("january", "jan", "января", "январь", "январе", "січня", "січень", "січні"),
    2: ("february", "feb", "февраля", "февраль", "феврале", "лютого", "лютий", "лютому"),
    3: ("march", "mar", "марта", "март", "марте", "березня", "березень", "березні"),
    4: ("april", "apr", "апреля", "апрель", "апреле", "квітня", "квітень", "квітні"),
    5: ("may", "мая", "май", "мае", "травня", "травень", "травні"),
    6: ("june", "jun", "июня", "июнь", "июне", "червня", "червень", "червні"),
    7: ("july", "jul", "июля", "июль", "июле", "липня", "липень", "липні"),
    8: ("august", "aug", "августа", "август", "августе", "серпня", "серпень", "серпні"),
    9: ("september", "sep", "sept", "сентября", "сентябрь", "сентябре", "вересня", "вересень", "вересні"),
    10: ("october", "oct", "октября", "октябрь", "октябре", "жовтня", "жовтень", "жовтні"),
    11: ("november", "nov", "ноября", "ноябрь", "ноябре", "листопада", "листопад", "листопаді"),
    12: ("december", "dec", "декабря", "декабрь", "декабре", "грудня", "грудень", "грудні"),
}
_WEEKDAY_OF = {form: day for day, forms in _WEEKDAY_FORMS.items() for form in forms}
_MONTH_OF = {form: month for month, forms in _MONTH_FORMS.items() for form in forms}
_WEEKDAYS = "|".join(sorted(_WEEKDAY_OF, key=len, reverse=True))
_MONTHS = "|".join(sorted(_MONTH_OF, key=len, reverse=True))
_ORDINAL = r"(?:st|nd|rd|th|-?го|-?е|-?ого)?"


@dataclass(frozen=True)
class Period:
    """Local times, naive: ``start`` inclusive, ``end`` exclusive."""

    start: datetime
    end: datetime


def _days(first: date, last: date) -> Period:
    return Period(datetime.combine(first, time()), datetime.combine(last + timedelta(days=1), time()))


def _month(year: int, month: int) -> Period:
    following = date(year + month // 12, month % 12 + 1, 1)
    return _days(date(year, month, 1), following - timedelta(days=1))


def _latest_day(today: date, month: int, day: int, year: str | None) -> date:
    """The day given, in ``year`` when named, else the latest one not after today."""
    if year:
        return date(_full_year(year), month, day)
    candidate = date(today.year, month, day) if (month, day) != (2, 29) else date(today.year, 2, 28)
    return candidate if candidate <= today else date(today.year - 1, month, day)


def _full_year(text: str) -> int:
    year = int(text)
    return year + 2000 if year < 100 else year


def _latest_weekday(today: date, weekday: int, before_today: bool) -> date:
    back = (today.weekday() - weekday) % 7
    if back == 0 and before_today:
        back = 7
    return today - timedelta(days=back)


def _weekend(today: date, which: str) -> Period:
    """``which``: "" (under way, else the last), "last" or "this" (see the module doc)."""
    saturday = today - timedelta(days=(today.weekday() - 5) % 7)  # the latest Saturday not after today
    if which == "this":
        saturday = today - timedelta(days=today.weekday()) + timedelta(days=5)
    elif which == "last" and today.weekday() >= 5:
        saturday -= timedelta(days=7)
    return _days(saturday, saturday + timedelta(days=1))


def _calendar(unit: str, today: date, back: int) -> Period:
    """The calendar week, month or year under way (``back`` 0) or the one before (``back`` 1)."""
    if unit == "week":
        monday = today - timedelta(days=today.weekday() + 7 * back)
        return _days(monday, monday + timedelta(days=6))
    if unit == "month":
        index = today.year * 12 + today.month - 1 - back
        return _month(index // 12, index % 12 + 1)
    year = today.year - back
    return _days(date(year, 1, 1), date(year, 12, 31))


def _rolling(days: int, today: date) -> Period:
    return _days(today - timedelta(days=days - 1), today)


def _unit(word: str) -> str:
    if re.fullmatch(_WEEK, word):
        return "week"
    return "month" if re.fullmatch(_MONTH, word) else "year"


_ROLLING_DAYS = {"week": 7, "month": 30, "year": 365}

_Rule = tuple[re.Pattern[str], Callable[[re.Match[str], date], Period]]


def _rule(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_RULES: list[_Rule] = [
    (
        _rule(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b"),
        lambda m, today: _days(*[date(int(m[1]), int(m[2]), int(m[3]))] * 2),
    ),
    (
        _rule(r"\b(\d{1,2})[./](\d{1,2})(?:[./](\d{4}|\d{2}))?\b"),
        lambda m, today: _days(*[_latest_day(today, int(m[2]), int(m[1]), m[3])] * 2),
    ),
    (
        _rule(rf"\b(\d{{1,2}}){_ORDINAL}\s+(?:of\s+)?({_MONTHS})\b(?:,?\s+(\d{{4}}))?"),
        lambda m, today: _days(*[_latest_day(today, _MONTH_OF[m[2]], int(m[1]), m[3])] * 2),
    ),
    (
        _rule(rf"\b({_MONTHS})\s+(\d{{1,2}}){_ORDINAL}\b(?:,?\s+(\d{{4}}))?"),
        lambda m, today: _days(*[_latest_day(today, _MONTH_OF[m[1]], int(m[2]), m[3])] * 2),
    ),
    (
        _rule(rf"\b(?:in|during|for|в|во|за|у|протягом)\s+({_MONTHS})\b(?:\s+(\d{{4}}))?"),
        lambda m, today: _latest_month(today, _MONTH_OF[m[1]], m[2]),
    ),
    (
        _rule(r"\b(?:позавчера|позавчора|позаучора|the day before yesterday)\b"),
        lambda m, today: _days(*[today - timedelta(days=2)] * 2),
    ),
    (_rule(r"\b(?:вчера|вчора|учора|yesterday)\b"), lambda m, today: _days(*[today - timedelta(days=1)] * 2)),
    (
        _rule(r"\b(?:сегодня|сьогодні|today|tonight|this morning|this evening|this afternoon)\b"),
        lambda m, today: _days(today, today),
    ),
    (
        _rule(rf"\b(?:{_ROLLING}|last|past)\s+(\d{{1,3}})\s+(?:days?|дн\w*|день|дня)\b"),
        lambda m, today: _rolling(max(1, int(m[1])), today),
    ),
    (_rule(rf"\b{_LAST}\s+{_WEEKEND}"), lambda m, today: _weekend(today, "last")),
    (_rule(rf"\b{_THIS}\s+{_WEEKEND}"), lambda m, today: _weekend(today, "this")),
    (_rule(rf"\b{_WEEKEND}"), lambda m, today: _weekend(today, "")),
    (
        _rule(rf"\b{_LAST}\s+({_WEEKDAYS})\b"),
        lambda m, today: _days(*[_latest_weekday(today, _WEEKDAY_OF[m[1]], True)] * 2),
    ),
    (
        _rule(rf"\b{_THIS}\s+({_WEEKDAYS})\b"),
        lambda m, today: _days(*[today + timedelta(days=_WEEKDAY_OF[m[1]] - today.weekday())] * 2),
    ),
    (
        _rule(rf"\b({_WEEKDAYS})\b"),
        lambda m, today: _days(*[_latest_weekday(today, _WEEKDAY_OF[m[1]], False)] * 2),
    ),
    # "the last month", "past month": the 30 days ending today; "last month", "за прошлый месяц": the
    # calendar month before; "за месяц": the 30 days ending today.
    (
        _rule(rf"\b(?:(?:over |in |during )?the (?:past|last)|past)\s+({_WEEK}|{_MONTH}|{_YEAR})\b"),
        lambda m, today: _rolling(_ROLLING_DAYS[_unit(m[1])], today),
    ),
    (_rule(rf"\b{_LAST}\s+({_WEEK}|{_MONTH}|{_YEAR})\b"), lambda m, today: _calendar(_unit(m[1]), today, 1)),
    (_rule(rf"\b{_THIS}\s+({_WEEK}|{_MONTH}|{_YEAR})\b"), lambda m, today: _calendar(_unit(m[1]), today, 0)),
    (
        _rule(rf"\b{_ROLLING}\s+({_WEEK}|{_MONTH}|{_YEAR})\b"),
        lambda m, today: _rolling(_ROLLING_DAYS[_unit(m[1])], today),
    ),
]


def _latest_month(today: date, month: int, year: str | None) -> Period:
    if year:
        return _month(_full_year(year), month)
    return _month(today.year if month <= today.month else today.year - 1, month)


def find_period(text: str, now: datetime) -> Period | None:
    """The local period the (normalized) question names, or None when it names none (or names a day
    that does not exist, such as 31.02)."""
    today = now.date()
    for pattern, resolve in _RULES:
        found = pattern.search(text)
        if found is None:
            continue
        try:
            return resolve(found, today)
        except ValueError:  # 31.02, month 13: not a day
            return None
    return None
