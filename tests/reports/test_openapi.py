"""The report function's /openapi.json and /docs describe the whole API: every HTTP route of the
manifest, whichever function serves it, with its request and answer models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate

from eventlens.manifest import HttpRoute, load_manifest
from eventlens_tools.local.apigw import http_api_event
from eventlens_tools.local.invoke import LocalFunction
from tests.conftest import EVENTS_DIR, load_event

INGEST_FIXTURES = sorted(path.name for path in Path(EVENTS_DIR).glob("ingest_*.json"))


def _get(report: LocalFunction, path: str, query: str = "") -> dict[str, Any]:
    """``GET path`` through the report handler, as API Gateway (HTTP API, payload 2.0) sends it."""
    response: dict[str, Any] = report.invoke(
        http_api_event("GET", path, query, [], b"", HttpRoute("GET", path), {})
    )
    return response


@pytest.fixture(scope="module")
def document(functions: dict[str, LocalFunction]) -> dict[str, Any]:
    response = _get(functions["report"], "/openapi.json")
    assert response["statusCode"] == 200, response
    loaded: dict[str, Any] = json.loads(response["body"])
    return loaded


def _request_schema(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    content: dict[str, Any] = document["paths"][path][method.lower()]["requestBody"]["content"]
    return content["application/json"]


def test_every_http_route_of_the_manifest_is_documented(document: dict[str, Any]) -> None:
    # Given the manifest's HTTP routes, served by ingest, report and predict
    manifest = {(route.method, route.path) for fn in load_manifest().values() for route in fn.http}
    assert {"POST /v1/events", "GET /users", "POST /predict", "GET /stats/dau"} <= {
        f"{method} {path}" for method, path in manifest
    }

    # When the report function answers /openapi.json (see the fixture)
    documented = {(method.upper(), path) for path, item in document["paths"].items() for method in item}

    # Then it lists exactly those routes, each with a documented answer, each POST with its body
    assert documented == manifest
    for method, path in documented:
        operation = document["paths"][path][method.lower()]
        answers = [code for code in operation["responses"] if code.startswith("2")]
        assert answers and all("content" in operation["responses"][code] for code in answers), (method, path)
        if method == "POST":
            assert "$ref" in _request_schema(document, method, path)["schema"], (method, path)


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)  # raises naming the first problem


def test_post_v1_events_shows_the_fixture_batch_as_its_example(document: dict[str, Any]) -> None:
    example = _request_schema(document, "POST", "/v1/events")["example"]
    assert example == json.loads(load_event("ingest_v1_events.json")["body"])


@pytest.mark.parametrize("fixture", INGEST_FIXTURES)
def test_each_ingest_fixture_fits_its_routes_documented_body(document: dict[str, Any], fixture: str) -> None:
    # Given an ingest route's event fixture (what the tests and the local runtime send)
    event = load_event(fixture)
    # When its body is checked against the body the document gives that route
    schema = _request_schema(document, "POST", event["rawPath"])["schema"]
    validator = jsonschema.Draft202012Validator({**schema, "components": document["components"]})
    # Then it fits
    assert [error.message for error in validator.iter_errors(json.loads(event["body"]))] == []


def test_docs_page_shows_the_whole_document(functions: dict[str, LocalFunction]) -> None:
    page = _get(functions["report"], "/docs")
    as_json = _get(functions["report"], "/docs", "format=json")

    assert page["statusCode"] == 200 and "swagger" in page["body"].lower()
    assert '"/v1/events"' in page["body"] and '"/predict"' in page["body"]
    assert "/users" in json.loads(as_json["body"])["paths"]
