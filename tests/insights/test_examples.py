"""The OpenAPI document's example bodies of the insight and cohort routes are bodies those routes take."""

from __future__ import annotations

from typing import Any

import pytest

from eventlens.api.docs_routes import openapi_document
from eventlens_tools.local.invoke import LocalFunction
from tests.insights.conftest import Dataset, ask

EXAMPLES = [
    pytest.param(path, name, example["value"], id=f"{path} {name}")
    for path, item in sorted(openapi_document()["paths"].items())
    if path.startswith(("/api/v1/insights/", "/api/v1/cohorts"))
    for method, operation in item.items()
    if method == "post"
    for name, example in operation["requestBody"]["content"]["application/json"]["examples"].items()
]


def test_every_insight_route_shows_examples() -> None:
    routes = {param.values[0] for param in EXAMPLES}
    assert routes == {
        *(
            f"/api/v1/insights/{kind}"
            for kind in ("trends", "funnel", "paths", "stickiness", "lifecycle", "retention")
        ),
        "/api/v1/cohorts",
    }


@pytest.mark.parametrize(("path", "name", "body"), EXAMPLES)
def test_each_example_is_answered(
    insights: Dataset, functions: dict[str, LocalFunction], path: str, name: str, body: dict[str, Any]
) -> None:
    # When a documented example is posted as it stands
    status, answer = ask(functions, path, body)
    # Then it is answered, not refused
    assert status == (201 if path == "/api/v1/cohorts" else 200), (name, answer)
