"""The memory search's evaluation set (eventlens_tools.memory_eval) over the planted persons: Life Stream's
six questions and their paraphrases in Russian, Ukrainian and English, each answer judged against the
truth computed from the planted events. bench/memory.py runs the same set and reports latency."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from eventlens.memory.models import MemoryQuestion
from eventlens.memory.search import search_memory
from eventlens_tools.memory_eval import NOW, PERSONS, QUESTIONS, EvalQuestion, Verdict, judge, story_for
from tests.memory.conftest import Planted

SIX = {
    "С кем я обедал в прошлую пятницу?",
    "Где я был в выходные?",
    "Сколько я потратил на кофе за месяц?",
    "С кем я чаще всего встречаюсь?",
    "Какие у меня привычки?",
    "Где я был сегодня?",
}


def _judged(planted: Planted, with_graph: bool) -> list[tuple[EvalQuestion, Verdict, dict[str, Any]]]:
    sources = planted.sources(with_graph)
    judged = []
    for question in QUESTIONS:
        story = story_for(planted.stories, question.person)
        answer = search_memory(
            sources,
            planted.project_id,
            MemoryQuestion(user_id=story.user_id, question=question.question),
            now=NOW,
        ).model_dump(mode="json", by_alias=True)
        judged.append((question, judge(question, story, answer), answer))
    return judged


def _report(wrong: list[tuple[EvalQuestion, Verdict, dict[str, Any]]]) -> str:
    return "\n".join(f"{q.person} {q.question}: {v.problems}\n  {a['answer']}" for q, v, a in wrong)


def test_the_set_asks_life_streams_six_questions_and_more_in_three_languages() -> None:
    assert len(QUESTIONS) >= 60
    assert {q.language for q in QUESTIONS} == {"ru", "uk", "en"}
    assert {q.intent for q in QUESTIONS} == {"where", "meet", "spend", "top_people", "habits", "activity"}
    for person in PERSONS:
        assert {q.question for q in QUESTIONS if q.person == person} >= SIX
    assert len({(q.person, q.question) for q in QUESTIONS}) == len(QUESTIONS)


def test_at_least_95_percent_of_answers_are_exactly_right_with_the_graph(planted: Planted) -> None:
    # Given the planted persons, mined into the habits graph
    # When every question of the set is asked
    judged = _judged(planted, with_graph=True)
    # Then at least 95% of the answers are exactly right: facts, period, language, "nothing found"
    wrong = [item for item in judged if not item[1].right]
    assert len(wrong) <= 0.05 * len(judged), _report(wrong)
    # and each rests on evidence of the planted person, with the graph used
    for question, _, answer in judged:
        assert answer["graph"] == "used" and answer["generated_by"] == "composer"
        planted_ids = {event.event_id for event in story_for(planted.stories, question.person).events}
        event_ids = {item["id"] for item in answer["evidence"] if "warehouse" in item["sources"]}
        if question.intent != "habits":
            assert event_ids <= planted_ids


def test_life_streams_six_questions_are_all_right_for_every_person(planted: Planted) -> None:
    judged = _judged(planted, with_graph=True)
    wrong = [item for item in judged if item[0].question in SIX and not item[1].right]
    assert not wrong, _report(wrong)


def test_without_a_graph_the_warehouse_answers_and_says_so(planted: Planted) -> None:
    # Given the same persons, and no habits graph
    judged = _judged(planted, with_graph=False)
    # Then the answers that need no mined place name are still at least 95% exactly right
    needing_none = [item for item in judged if not item[0].needs_graph]
    wrong = [item for item in needing_none if not item[1].right]
    assert len(wrong) <= 0.05 * len(needing_none), _report(wrong)
    # and every answer says it came from the events alone
    notes = {"ru": "граф привычек не настроен", "uk": "граф звичок не налаштовано", "en": "no habits graph"}
    for question, _, answer in judged:
        assert answer["graph"] == "not_configured" and notes[question.language] in answer["answer"]


def test_where_without_a_graph_names_unnamed_places_by_their_coordinates(planted: Planted) -> None:
    # Given a weekday at home and at work, whose points name no place
    judged = {
        (q.person, q.question): (v, a)
        for q, v, a in _judged(planted, with_graph=False)
        if q.intent == "where"
    }
    _, answer = judged[("berlin", "Where was I on 13 March?")]
    # Then the answer gives the places' coordinates (what the events show), not Home or Work
    assert "Home" not in answer["answer"] and "52.5" in answer["answer"]
    assert Counter(item["facts"]["named_by"] for item in answer["evidence"]) == Counter(
        {"coordinates": len(answer["evidence"])}
    )


@pytest.mark.parametrize("person", PERSONS)
def test_the_persons_timezone_property_sets_their_days(planted: Planted, person: str) -> None:
    story = story_for(planted.stories, person)
    answer = search_memory(
        planted.sources(True),
        planted.project_id,
        MemoryQuestion(user_id=story.user_id, question="Где я был сегодня?"),
        now=NOW,
    )
    assert answer.timezone == story.plan.timezone
    assert (
        answer.time_range.start is not None
        and answer.time_range.start.utcoffset() == story.local(NOW).utcoffset()
    )
