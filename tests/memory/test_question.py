"""Questions understood by rule: language, intent, period (in the person's local time), meal and
purchase topic, in Russian, Ukrainian and English."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from eventlens.memory.intents import detect_intent, detect_meal, detect_topic
from eventlens.memory.language import detect_language, normalized
from eventlens.memory.periods import find_period
from eventlens.memory.question import parse_question

WEDNESDAY = datetime(2026, 3, 18, 17, 30)  # local time
SATURDAY = datetime(2026, 3, 21, 10, 0)
SUNDAY = datetime(2026, 3, 22, 10, 0)


def _days(first: date, last: date) -> tuple[datetime, datetime]:
    return datetime.combine(first, time()), datetime.combine(last + timedelta(days=1), time())


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("С кем я обедал в прошлую пятницу?", "ru"),
        ("Где я был в выходные?", "ru"),
        ("Где я был сегодня?", "ru"),
        ("Сколько я потратил на кофе за месяц?", "ru"),
        ("З ким я обідав минулої п'ятниці?", "uk"),
        ("Де я був сьогодні?", "uk"),
        ("Що я робив минулого тижня?", "uk"),
        ("З ким я найчастіше зустрічаюся?", "uk"),
        ("Де я був учора?", "uk"),
        ("Who did I have lunch with last Friday?", "en"),
        ("how much did I spend on coffee", "en"),
    ],
)
def test_the_language_is_told_apart_by_letters_then_words(question: str, language: str) -> None:
    assert detect_language(question) == language


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("С кем я обедал в прошлую пятницу?", "meet"),
        ("Где я был в выходные?", "where"),
        ("Сколько я потратил на кофе за месяц?", "spend"),
        ("С кем я чаще всего встречаюсь?", "top_people"),
        ("Какие у меня привычки?", "habits"),
        ("Где я был сегодня?", "where"),
        ("Что я делал вчера?", "activity"),
        ("Чем я занимался на выходных?", "activity"),
        ("Что я купил вчера?", "spend"),
        ("З ким я вечеряв у суботу?", "meet"),
        ("Де я був 13 березня?", "where"),
        ("Скільки я витратив на каву?", "spend"),
        ("З ким я найчастіше зустрічаюся?", "top_people"),
        ("Які в мене звички?", "habits"),
        ("Який у мене розпорядок дня?", "habits"),
        ("Що я робив учора?", "activity"),
        ("Who did I have dinner with on Saturday?", "meet"),
        ("Who did I meet this week?", "meet"),
        ("Where was I at the weekend?", "where"),
        ("Where did I have lunch yesterday?", "where"),
        ("How much did I spend on books?", "spend"),
        ("Who do I see the most?", "top_people"),
        ("What routines do I have?", "habits"),
        ("How many steps did I do yesterday?", "activity"),
        ("What's the weather like?", "unknown"),
    ],
)
def test_each_intent_is_recognised_in_each_language(question: str, intent: str) -> None:
    assert detect_intent(normalized(question)) == intent


PERIODS = [
    ("Где я был сегодня?", WEDNESDAY, _days(date(2026, 3, 18), date(2026, 3, 18))),
    ("Where was I yesterday?", WEDNESDAY, _days(date(2026, 3, 17), date(2026, 3, 17))),
    ("Де я був учора?", WEDNESDAY, _days(date(2026, 3, 17), date(2026, 3, 17))),
    ("Что я делал позавчера?", WEDNESDAY, _days(date(2026, 3, 16), date(2026, 3, 16))),
    # the weekend: the last one on a weekday, the one under way on a weekend; "last" the one before
    ("Где я был в выходные?", WEDNESDAY, _days(date(2026, 3, 14), date(2026, 3, 15))),
    ("Где я был в выходные?", SATURDAY, _days(date(2026, 3, 21), date(2026, 3, 22))),
    ("Where was I last weekend?", WEDNESDAY, _days(date(2026, 3, 14), date(2026, 3, 15))),
    ("Where was I last weekend?", SUNDAY, _days(date(2026, 3, 14), date(2026, 3, 15))),
    ("Де я був на минулих вихідних?", SATURDAY, _days(date(2026, 3, 14), date(2026, 3, 15))),
    # weekdays: "last Friday" before today, "on Friday" not after today, "this Friday" this week's
    ("С кем я обедал в прошлую пятницу?", WEDNESDAY, _days(date(2026, 3, 13), date(2026, 3, 13))),
    ("З ким я обідав минулої п'ятниці?", WEDNESDAY, _days(date(2026, 3, 13), date(2026, 3, 13))),
    ("З ким я обідав минулої п’ятниці?", WEDNESDAY, _days(date(2026, 3, 13), date(2026, 3, 13))),
    ("Who did I meet on Wednesday?", WEDNESDAY, _days(date(2026, 3, 18), date(2026, 3, 18))),
    ("Who did I meet last Wednesday?", WEDNESDAY, _days(date(2026, 3, 11), date(2026, 3, 11))),
    ("С кем я ужинал в субботу?", WEDNESDAY, _days(date(2026, 3, 14), date(2026, 3, 14))),
    ("Who am I meeting this Friday?", WEDNESDAY, _days(date(2026, 3, 20), date(2026, 3, 20))),
    # weeks, months, years: calendar ones (this, last), rolling ones (за месяц, the past month)
    ("Что я делал на этой неделе?", WEDNESDAY, _days(date(2026, 3, 16), date(2026, 3, 22))),
    ("Що я робив минулого тижня?", WEDNESDAY, _days(date(2026, 3, 9), date(2026, 3, 15))),
    ("What did I do last week?", WEDNESDAY, _days(date(2026, 3, 9), date(2026, 3, 15))),
    ("Сколько я потратил за неделю?", WEDNESDAY, _days(date(2026, 3, 12), date(2026, 3, 18))),
    ("Сколько я потратил на кофе за месяц?", WEDNESDAY, _days(date(2026, 2, 17), date(2026, 3, 18))),
    ("Скільки я витратив на каву за місяць?", WEDNESDAY, _days(date(2026, 2, 17), date(2026, 3, 18))),
    ("How much did I spend in the past month?", WEDNESDAY, _days(date(2026, 2, 17), date(2026, 3, 18))),
    ("Сколько я потратил в этом месяце?", WEDNESDAY, _days(date(2026, 3, 1), date(2026, 3, 31))),
    ("Сколько я потратил в прошлом месяце?", WEDNESDAY, _days(date(2026, 2, 1), date(2026, 2, 28))),
    ("Скільки я витратив минулого місяця?", WEDNESDAY, _days(date(2026, 2, 1), date(2026, 2, 28))),
    ("How much did I spend last month?", datetime(2026, 1, 10), _days(date(2025, 12, 1), date(2025, 12, 31))),
    ("How much did I spend this year?", WEDNESDAY, _days(date(2026, 1, 1), date(2026, 12, 31))),
    ("Скільки я витратив за останні 10 днів?", WEDNESDAY, _days(date(2026, 3, 9), date(2026, 3, 18))),
    ("What did I do in the last 3 days?", WEDNESDAY, _days(date(2026, 3, 16), date(2026, 3, 18))),
    # dates: a year left out is the latest such day not after today; a month with a preposition
    ("Где я был 2026-03-10?", WEDNESDAY, _days(date(2026, 3, 10), date(2026, 3, 10))),
    ("Где я был 10.03?", WEDNESDAY, _days(date(2026, 3, 10), date(2026, 3, 10))),
    ("Где я был 25.12?", WEDNESDAY, _days(date(2025, 12, 25), date(2025, 12, 25))),
    ("Где я был 10.03.2025?", WEDNESDAY, _days(date(2025, 3, 10), date(2025, 3, 10))),
    ("Де я був 13 березня?", WEDNESDAY, _days(date(2026, 3, 13), date(2026, 3, 13))),
    ("С кем я встречался 8 марта?", WEDNESDAY, _days(date(2026, 3, 8), date(2026, 3, 8))),
    ("Where was I on March 13th?", WEDNESDAY, _days(date(2026, 3, 13), date(2026, 3, 13))),
    ("Where was I on 13 March 2025?", WEDNESDAY, _days(date(2025, 3, 13), date(2025, 3, 13))),
    ("Сколько я потратил в феврале?", WEDNESDAY, _days(date(2026, 2, 1), date(2026, 2, 28))),
    ("Скільки я витратив у квітні?", WEDNESDAY, _days(date(2025, 4, 1), date(2025, 4, 30))),
    ("How much did I spend in May?", WEDNESDAY, _days(date(2025, 5, 1), date(2025, 5, 31))),
]


@pytest.mark.parametrize(("question", "now", "period"), PERIODS)
def test_relative_and_explicit_dates_resolve_to_local_days(
    question: str, now: datetime, period: tuple[datetime, datetime]
) -> None:
    found = find_period(normalized(question), now)
    assert found is not None and (found.start, found.end) == period


@pytest.mark.parametrize("question", ["Где я был 31.02?", "Where was I?", "Who do I meet most?"])
def test_no_day_or_one_that_does_not_exist_names_no_period(question: str) -> None:
    assert find_period(normalized(question), WEDNESDAY) is None


def test_a_question_without_a_period_gets_its_intents() -> None:
    # Given questions that name no period, asked on a Wednesday afternoon
    tomorrow = datetime(2026, 3, 19)
    where = parse_question("Where was I?", WEDNESDAY)
    spend = parse_question("Сколько я потратил на кофе?", WEDNESDAY)
    most = parse_question("С кем я чаще всего встречаюсь?", WEDNESDAY)
    habits = parse_question("Какие у меня привычки в этом месяце?", WEDNESDAY)
    # Then: the last 7 days, the last 30, the whole history, the miner's 90 whatever is named
    assert (where.start, where.end, where.period_named) == (tomorrow - timedelta(days=7), tomorrow, False)
    assert (spend.start, spend.end) == (tomorrow - timedelta(days=30), tomorrow)
    assert (most.start, most.end) == (None, tomorrow)
    assert (habits.start, habits.end, habits.period_named) == (tomorrow - timedelta(days=90), tomorrow, False)


@pytest.mark.parametrize(
    ("question", "meal"),
    [
        ("С кем я обедал в прошлую пятницу?", "lunch"),
        ("С кем я ужинал в субботу?", "dinner"),
        ("С кем я завтракал сегодня?", "breakfast"),
        ("З ким я обідав минулої п'ятниці?", "lunch"),
        ("З ким я вечеряв у суботу?", "dinner"),
        ("З ким я снідав?", "breakfast"),
        ("Who did I have lunch with?", "lunch"),
        ("Who did I have dinner with?", "dinner"),
        ("Who did I meet yesterday?", None),
    ],
)
def test_a_meal_is_named_in_each_language(question: str, meal: str | None) -> None:
    assert detect_meal(normalized(question)) == meal


@pytest.mark.parametrize(
    ("question", "key", "name"),
    [
        ("Сколько я потратил на кофе за месяц?", "coffee", "кофе"),
        ("Скільки я витратив на каву?", "coffee", "каву"),
        ("How much did I spend on coffee this week?", "coffee", "coffee"),
        ("How much did I spend on lattes?", "coffee", "coffee"),
        ("Сколько я потратил на продукты в прошлом месяце?", "groceries", "продукты"),
        ("How much did I spend on books?", "books", "books"),
        ("Сколько я потратил на такси за неделю?", "taxi", "такси"),
        ("Сколько я потратил на пиццу?", "пицц", "пиццу"),
        ("How much did I spend on the weekend?", None, None),
        ("Сколько я потратил на этой неделе?", None, None),
        ("Скільки я витратив за останні 10 днів?", None, None),
    ],
)
def test_the_purchases_asked_about_are_a_known_topic_or_the_word_after_on(
    question: str, key: str | None, name: str | None
) -> None:
    text = normalized(question)
    topic = detect_topic(text, detect_language(text))
    assert (topic.key if topic else None, topic.names[detect_language(text)] if topic else None) == (
        key,
        name,
    )
