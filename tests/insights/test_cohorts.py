"""Cohorts: saved through POST /api/v1/cohorts (the persons they hold now in the answer), listed by GET,
and any insight filtered to one counts exactly its persons."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from eventlens.keys import DEFAULT_PROJECT
from eventlens_tools.local.invoke import LocalFunction
from tests.conftest import OTHER_SECRET_KEY, TEST_SECRET_KEY
from tests.insights import reference
from tests.insights.conftest import Dataset, ask, differences

PRO = {"name": "pro plan", "properties": [{"property": "person.plan", "operator": "equals", "value": "pro"}]}
PINGING: dict[str, Any] = {
    "name": "pinged twice lately",
    "behavioural": {"event": "c_ping", "min_count": 2, "days": 30},
}
OCTOBER = {"from": "2025-10-01", "to": "2025-10-31"}


def _pro_persons(world: reference.World) -> set[str]:
    persons = {e.user_id for e in world.events}
    return {p for p in persons if world.person_value(p, ["plan"]) == "pro"}


def _pinging(world: reference.World, dataset: Dataset) -> set[str]:
    since = dataset.now - timedelta(days=30)
    counts: dict[str, int] = {}
    for e in world.events:
        if e.event_type == "c_ping" and e.ts >= since:
            counts[e.user_id] = counts.get(e.user_id, 0) + 1
    return {p for p, n in counts.items() if n >= 2}


def _save(
    functions: dict[str, LocalFunction], body: dict[str, Any], key: str = TEST_SECRET_KEY
) -> dict[str, Any]:
    status, cohort = ask(functions, "/api/v1/cohorts", body, key=key)
    assert status == 201, cohort
    return cohort


def test_a_saved_cohort_says_how_many_persons_it_holds(
    insights: Dataset, functions: dict[str, LocalFunction]
) -> None:
    # Given persons whose plan changed over time, and persons who pinged lately
    world = insights.worlds[DEFAULT_PROJECT]
    # When a properties cohort and a behavioural one are saved
    pro, pinging = _save(functions, PRO), _save(functions, PINGING)
    # Then each holds the persons the definitions give: the latest plan counts; two pings in 30 days
    assert _pro_persons(world) == {"plant-pp-1", "plant-pp-3"}
    assert pro["persons"] == 2 and pro["kind"] == "properties" and pro["name"] == "pro plan"
    assert _pinging(world, insights) == {"plant-recent-1"}
    assert pinging["persons"] == 1 and pinging["kind"] == "behavioural"
    # And both are listed, with their definitions as saved
    status, listed = ask(functions, "/api/v1/cohorts", method="GET")
    assert status == 200
    by_id = {c["cohort_id"]: c for c in listed["cohorts"]}
    assert by_id[pro["cohort_id"]]["definition"]["properties"] == PRO["properties"]
    assert by_id[pinging["cohort_id"]]["definition"]["behavioural"] == {
        **PINGING["behavioural"],
        "filters": [],
    }


def test_insights_filtered_to_a_cohort_count_its_persons_only(
    insights: Dataset, functions: dict[str, LocalFunction]
) -> None:
    # Given a saved cohort of the persons on the pro plan
    world = insights.worlds[DEFAULT_PROJECT]
    cohort = _save(functions, PRO)
    members = _pro_persons(world)
    # When a trends query and a funnel are filtered to it
    trends_body = {**OCTOBER, "series": [{"math": "unique_persons"}, {"event": "profile"}]}
    status, answer = ask(functions, "/api/v1/insights/trends", {**trends_body, "cohort": cohort["cohort_id"]})
    # Then they equal the reference over its persons' events only
    assert status == 200, answer
    want = reference.trends(world, trends_body, cohort=members)
    got = [
        {k: s[k] for k in ("letter", "breakdown_value", "other", "values", "total")} for s in answer["series"]
    ]
    assert not differences(got, want["series"])
    assert answer["series"][0]["total"] == 2
    assert answer["understood"]["cohort"]["cohort_id"] == cohort["cohort_id"]
    funnel_body = {
        "from": "2025-10-20",
        "to": "2025-10-20",
        "steps": [{"event": "f_signup"}, {"event": "f_activate"}],
    }
    status, answer = ask(functions, "/api/v1/insights/funnel", {**funnel_body, "cohort": cohort["cohort_id"]})
    assert status == 200 and [s["persons"] for s in answer["steps"]] == [1, 0]  # plant-pp-3 signed up


def test_a_behavioural_cohort_counts_back_from_the_moment_it_is_used(
    insights: Dataset, functions: dict[str, LocalFunction]
) -> None:
    # Given a cohort of persons who pinged at least twice in the last 30 days
    cohort = _save(functions, PINGING)
    # When the last days' pings are counted for it
    today = insights.now.date()
    body = {"from": str(today - timedelta(days=50)), "to": str(today), "series": [{"event": "c_ping"}]}
    status, answer = ask(functions, "/api/v1/insights/trends", {**body, "cohort": cohort["cohort_id"]})
    # Then only the person who pinged three times lately is in it (another pinged once, a third 40 days ago)
    assert status == 200
    assert answer["series"][0]["total"] == 3
    assert answer["understood"]["cohort_at"] is not None


def test_a_cohort_is_of_its_project_only(insights: Dataset, functions: dict[str, LocalFunction]) -> None:
    # Given a cohort saved with the default project's key
    cohort = _save(functions, PRO)
    # When the other project lists its cohorts, or asks for an insight filtered to it
    status, listed = ask(functions, "/api/v1/cohorts", method="GET", key=OTHER_SECRET_KEY)
    assert status == 200
    assert cohort["cohort_id"] not in {c["cohort_id"] for c in listed["cohorts"]}
    status, answer = ask(
        functions,
        "/api/v1/insights/trends",
        {**OCTOBER, "series": [{}], "cohort": cohort["cohort_id"]},
        key=OTHER_SECRET_KEY,
    )
    # Then it has none of that id: 404 naming the cohort
    assert status == 404 and answer["error"]["field"] == "cohort"
    # And the same definition saved in the other project holds that project's persons: there, the
    # latest plan of plant-pp-1 is "enterprise"
    theirs = _save(functions, PRO, key=OTHER_SECRET_KEY)
    assert theirs["persons"] == len(_pro_persons(insights.worlds["prj_other0000000000"])) == 0
