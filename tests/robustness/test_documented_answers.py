"""The OpenAPI document declares the answers the routes give: 404, 503 and 422 where they occur."""

from __future__ import annotations

from typing import Any

import pytest

from eventlens.api.docs_routes import openapi_document


@pytest.fixture(scope="module")
def paths() -> dict[str, Any]:
    document: dict[str, Any] = openapi_document()
    return document["paths"]


@pytest.mark.parametrize(
    ("method", "path", "statuses"),
    [
        ("post", "/report", {"200", "400", "404", "415", "422", "503"}),  # unknown user, warehouse down
        ("post", "/predict", {"200", "400", "404", "415", "422", "503"}),  # unknown service, no model
        ("post", "/predict/{service_name}", {"200", "404", "422", "503"}),
        ("get", "/users", {"200", "422", "503"}),  # no model promoted yet
        ("get", "/stats/dau", {"200", "422", "503"}),  # the warehouse cannot answer
        ("get", "/stats/retention", {"200", "422", "503"}),
        ("get", "/api/v1/stream/stats/{user_id}", {"200", "422", "503"}),
        ("get", "/api/v1/analytics/trends", {"200", "422", "503"}),
        ("get", "/api/v1/stream/patterns/{user_id}", {"200", "422", "503"}),  # the graph is down
        ("get", "/health", {"200", "503"}),
        ("post", "/v1/events", {"202", "400", "413", "422", "503"}),
    ],
)
def test_each_route_documents_the_statuses_it_answers(
    paths: dict[str, Any], method: str, path: str, statuses: set[str]
) -> None:
    documented = paths[path][method]["responses"]
    assert statuses <= set(documented), sorted(statuses - set(documented))
    for status in statuses - {"200", "202"}:  # every error answer has its body's shape
        assert documented[status]["content"]["application/json"]["schema"], (path, status)


def test_error_bodies_are_documented_in_the_shapes_sent(paths: dict[str, Any]) -> None:
    not_found = paths["/report"]["post"]["responses"]["404"]["content"]["application/json"]["schema"]
    no_model = paths["/users"]["get"]["responses"]["503"]["content"]["application/json"]["schema"]
    assert not_found["$ref"].endswith("/NotFoundAnswer")  # {"error": {field, reason}, "detail": …}
    assert no_model["$ref"].endswith("/AnModelError")  # AnModel's {"detail": …}


def test_docs_documents_its_json_form(paths: dict[str, Any]) -> None:
    assert {"text/html", "application/json"} <= set(paths["/docs"]["get"]["responses"]["200"]["content"])
