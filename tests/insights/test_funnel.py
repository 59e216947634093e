"""Funnels through POST /api/v1/insights/funnel equal the reference computation (every possible chain
enumerated): ordered, strict and unordered, long ones, breakdowns, step filters, the planted edges
(same moment, repeated step, the window's end, late and re-sent events) and dropped persons, paged."""

from __future__ import annotations

from typing import Any

import pytest

from eventlens.insights import funnel
from eventlens.keys import DEFAULT_PROJECT
from eventlens_tools.local.invoke import LocalFunction
from tests.insights import reference
from tests.insights.conftest import WINDOW_S, Dataset, ask, differences

PLANTED_DAY = {"from": "2025-10-20", "to": "2025-10-20"}
PLANTED_STEPS = [{"event": "f_signup"}, {"event": "f_activate"}, {"event": "f_buy"}]
SHOP = [{"event": "view_item"}, {"event": "add_to_cart"}, {"event": "purchase"}]
OCTOBER = {"from": "2025-10-01", "to": "2025-10-31"}

CASES: dict[str, dict[str, Any]] = {
    "planted, ordered": {**PLANTED_DAY, "steps": PLANTED_STEPS, "window_seconds": WINDOW_S},
    "planted, strict": {**PLANTED_DAY, "steps": PLANTED_STEPS, "window_seconds": WINDOW_S, "order": "strict"},
    "planted, unordered": {
        **PLANTED_DAY,
        "steps": PLANTED_STEPS,
        "window_seconds": WINDOW_S,
        "order": "unordered",
    },
    "a repeated step": {
        **PLANTED_DAY,
        "steps": [{"event": "f_signup"}, {"event": "f_signup"}],
        "window_seconds": 60,
    },
    "a repeated step, unordered": {
        **PLANTED_DAY,
        "steps": [{"event": "f_signup"}, {"event": "f_signup"}, {"event": "f_buy"}],
        "order": "unordered",
    },
    "shop, ordered, by country": {
        **OCTOBER,
        "steps": SHOP,
        "window_seconds": 1800,
        "breakdown": {"property": "properties.country", "limit": 3},
    },
    "shop, strict, in Kyiv": {**OCTOBER, "timezone": "Europe/Kyiv", "steps": SHOP, "order": "strict"},
    "shop, unordered": {**OCTOBER, "steps": SHOP, "window_seconds": 600, "order": "unordered"},
    "five steps with step filters": {
        **OCTOBER,
        "steps": [
            {"event": "session_start"},
            {"event": "page_view"},
            {
                "event": "view_item",
                "filters": [{"property": "properties.price", "operator": "gt", "value": 50}],
            },
            {"event": "add_to_cart"},
            {"event": "purchase"},
        ],
        "window_seconds": 3600,
        "breakdown": {"property": "properties.country", "limit": 2},
    },
    "eight steps, any event among them": {
        **OCTOBER,
        "steps": [
            {"event": "page_view"},
            {"event": None},
            {"event": "view_item"},
            {"event": "page_view"},
            {"event": None},
            {"event": "view_item"},
            {"event": "add_to_cart"},
            {"event": None},
        ],
        "window_seconds": 7200,
    },
    "the same event in several steps, with a segment": {
        **OCTOBER,
        "segment": "properties.country:UA",
        "steps": [
            {"event": "page_view"},
            {"event": "page_view"},
            {"event": "view_item"},
            {"event": "view_item"},
        ],
        "window_seconds": 900,
        "order": "strict",
    },
}


def _compare(answer: dict[str, Any], want: dict[Any, Any], body: dict[str, Any]) -> list[str]:
    found = differences([_plain(s) for s in answer["steps"]], want[None], "steps")
    if body.get("breakdown"):
        groups = {
            (g["breakdown_value"], g["other"]): [_plain(s) for s in g["steps"]] for g in answer["breakdown"]
        }
        wanted = {(k[1], False): v for k, v in want.items() if isinstance(k, tuple)}
        if "other" in want:
            wanted[(None, True)] = want["other"]
        found += (
            [f"groups {sorted(groups, key=str)} != {sorted(wanted, key=str)}"]
            if groups.keys() != wanted.keys()
            else []
        )
        found += [
            d for k in wanted if k in groups for d in differences(groups[k], wanted[k], f"breakdown {k}")
        ]
        order = [(g["breakdown_value"], g["other"]) for g in answer["breakdown"]]
        found += [] if order == list(wanted) else [f"order {order} != {list(wanted)}"]
    return found


def _plain(step: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in step.items() if k != "label" and v is not None}


def _unlike_the_reference(insights: Dataset, body: dict[str, Any], answer: dict[str, Any]) -> list[str]:
    """Where ``answer`` differs from the reference's funnel of the default project's events."""
    want = reference.funnel(insights.worlds[DEFAULT_PROJECT], body)
    return _compare(
        answer, {k: [_plain(s) for s in v] if k != "levels" else v for k, v in want.items()}, body
    )


@pytest.mark.parametrize("case", CASES)
def test_funnels_equal_the_reference(
    insights: Dataset, functions: dict[str, LocalFunction], case: str
) -> None:
    # Given the stored events and a funnel
    body = CASES[case]
    # When it is asked over HTTP
    status, answer = ask(functions, "/api/v1/insights/funnel", body)
    # Then each step's persons, conversions and times to convert (and per breakdown value) are the
    # reference's, which enumerates every chain start of every person
    assert status == 200, answer
    found = _unlike_the_reference(insights, body, answer)
    assert not found, found[:10]
    assert any(step["persons"] for step in answer["steps"]), "the case must have persons to prove anything"


def _persons(answer: dict[str, Any]) -> list[int]:
    return [step["persons"] for step in answer["steps"]]


def test_the_planted_edges_convert_as_defined(insights: Dataset, functions: dict[str, LocalFunction]) -> None:
    # Given the planted persons of 2025-10-20, and the three steps within an hour
    body = CASES["planted, ordered"]
    levels = reference.funnel(insights.worlds[DEFAULT_PROJECT], body)["levels"]
    # Then the reference itself reads the edges as the definition says (a sanity check of it)
    assert levels["plant-same-ts"] == 3  # steps 1 and 2 at the same moment, in step order
    assert levels["plant-boundary"] == 2  # step 2 exactly at the window's end; step 3 1 ms past it
    assert levels["plant-strict"] == 3 and levels["plant-many"] == 3 and levels["plant-two-starts"] == 2
    assert levels["plant-late"] == 2  # its events arrived late, after later days were stored
    assert levels["plant-backwards"] == 1 and levels["plant-repeat-once"] == 1
    # And the warehouse's answer has them: a dropped person after step 1 is one of the planted ones
    status, answer = ask(
        functions, "/api/v1/insights/funnel", {**body, "dropped": {"after_step": 2, "limit": 50}}
    )
    assert status == 200
    assert answer["dropped"]["persons"] == sorted(who for who, level in levels.items() if level == 2)
    assert "plant-boundary" in answer["dropped"]["persons"]


def test_a_repeated_step_takes_two_events(insights: Dataset, functions: dict[str, LocalFunction]) -> None:
    # Given a funnel f_signup → f_signup (ClickHouse's windowFunnel counts one event as both)
    status, answer = ask(functions, "/api/v1/insights/funnel", CASES["a repeated step"])
    # Then only persons with two sign-ups reach step 2
    levels = reference.funnel(insights.worlds[DEFAULT_PROJECT], CASES["a repeated step"])["levels"]
    assert status == 200 and _persons(answer)[1] == sum(1 for level in levels.values() if level == 2)
    assert levels["plant-repeat-twice"] == 2 and levels["plant-repeat-once"] == 1


@pytest.mark.parametrize("after_step", [1, 2])
def test_dropped_persons_come_in_pages(
    insights: Dataset, functions: dict[str, LocalFunction], after_step: int
) -> None:
    # Given a funnel whose persons drop after a step
    body = CASES["shop, ordered, by country"]
    levels = reference.funnel(insights.worlds[DEFAULT_PROJECT], body)["levels"]
    dropped = sorted(who for who, level in levels.items() if level == after_step)
    assert len(dropped) > 3
    # When they are asked for three at a time
    pages, offset = [], 0
    while offset is not None:
        status, answer = ask(
            functions,
            "/api/v1/insights/funnel",
            {**body, "dropped": {"after_step": after_step, "limit": 3, "offset": offset}},
        )
        assert status == 200 and answer["dropped"]["total"] == len(dropped)
        pages.append(answer["dropped"]["persons"])
        offset = answer["dropped"]["next_offset"]
    # Then the pages hold each of them once, by id
    assert [who for page in pages for who in page] == dropped
    assert all(len(page) == 3 for page in pages[:-1])


@pytest.mark.parametrize("case", [c for c in CASES if CASES[c].get("order") != "unordered"])
@pytest.mark.parametrize("walk", ["folded over the steps", "tuples sorted, not keys"])
def test_every_way_of_walking_equals_the_reference(
    insights: Dataset,
    functions: dict[str, LocalFunction],
    case: str,
    walk: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a funnel walked the other way than its size picks: short funnels folded over the steps as
    # long ones are, or their events sorted as tuples as funnels with a breakdown are
    if walk == "folded over the steps":
        monkeypatch.setattr(funnel, "FOLD_FROM", 2)
    else:
        monkeypatch.setattr(funnel, "KEYED_STEPS", 0)
    body = CASES[case]
    # When it is asked over HTTP
    status, answer = ask(functions, "/api/v1/insights/funnel", body)
    # Then every step is still the reference's
    assert status == 200, answer
    found = _unlike_the_reference(insights, body, answer)
    assert not found, found[:10]
