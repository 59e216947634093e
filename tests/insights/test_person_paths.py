"""The two ways an insight takes a row's person give the same answers: in a project without merges the
person is the plain ``user_id`` (``person_key.ids_are_persons``, asked once per query), otherwise each
id is looked up in the project's mapping. Here, on the insights' dataset (no merges), every kind is
answered both ways and compared; tests/persons checks the mapped way against the reference where persons
have merged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from eventlens.insights import query as insight_query
from eventlens.keys import DEFAULT_PROJECT
from tests.insights.conftest import Dataset, differences
from tests.insights.test_projects import EVERY_KIND, RecordingWarehouse

IDS = [f"{kind[0].__name__}-{i}" for i, kind in enumerate(EVERY_KIND)]


def _answer(insight: Callable[..., Any], warehouse: Any, query: Any) -> dict[str, Any]:
    answer = insight(warehouse, DEFAULT_PROJECT, query).model_dump(mode="json", by_alias=True)
    answer.pop("read_from", None)  # the mapped way reads the events where the rollups would answer
    return dict(answer)


@pytest.mark.parametrize(("insight", "query"), EVERY_KIND, ids=IDS)
def test_plain_ids_and_the_mapping_give_the_same_answer_without_merges(
    insights: Dataset, insight: Callable[..., Any], query: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a project where no person has several ids, answered the plain way
    warehouse = insights.components.warehouse
    plain = RecordingWarehouse(warehouse)
    plain_answer = _answer(insight, plain, query)
    # When the same insight is answered as if the project had merges (every id looked up)
    monkeypatch.setattr(insight_query, "ids_are_persons", lambda *_: False)
    mapped = RecordingWarehouse(warehouse)
    mapped_answer = _answer(insight, mapped, query)
    # Then the answers are the same, and the plain way looked fewer rows up in the mapping (none but the
    # person properties' own, which person_properties maps either way)
    assert differences(plain_answer, mapped_answer) == []
    assert _lookups(plain.statements) < _lookups(mapped.statements)


def _lookups(statements: list[str]) -> int:
    return sum(sql.count("transform(user_id") for sql in statements)
