"""Schemathesis against a running eventlens local's own /openapi.json: generated requests to every
operation, valid and invalid, and every answer free of 5xx and as the document describes it (a
documented status, content type and body shape)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from eventlens.api.docs_routes import openapi_document
from eventlens_tools.local.runtime import LocalRuntime
from tests.conftest import TEST_SECRET_KEY
from tests.robustness.conftest import send

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# This runtime's home has no trained model: the predict routes' documented 503 is their right answer.
NO_MODEL_OPERATIONS = {"/users", "/predict", "/predict/{service_name}"}
PATHS = openapi_document()["paths"]
# Each operation with valid requests, and with invalid ones when it takes parameters or a body.
CASES = [
    pytest.param(method.upper(), path, mode, id=f"{method.upper()} {path} {mode.value}")
    for path, item in sorted(PATHS.items())
    for method, operation in item.items()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or {"parameters", "requestBody"} & set(operation)
]


@pytest.fixture(scope="module")
def api_schema(served: LocalRuntime) -> Any:
    return schemathesis.openapi.from_url(f"{served.url}/openapi.json")


def _checked(case: schemathesis.Case) -> None:
    response = case.call(timeout=30, headers={"authorization": f"Bearer {TEST_SECRET_KEY}"})
    checks = CHECKS
    if case.operation.path in NO_MODEL_OPERATIONS and response.status_code == 503:
        assert "no model" in response.json()["detail"], response.text
        checks = [check for check in CHECKS if check is not not_a_server_error]
    case.validate_response(response, checks=checks)


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_every_answer_is_documented_and_none_is_a_server_error(
    api_schema: Any, method: str, path: str, mode: GenerationMode
) -> None:
    # Given the operation as eventlens local's document describes it
    operation = api_schema[path][method]

    # When schemathesis sends it requests generated from that description (or against it)
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def each(case: schemathesis.Case) -> None:
        # Then no answer is a server error, and each is documented, status, content type and shape
        _checked(case)

    each()


WITH_BODIES = sorted(
    (method.upper(), path)
    for path, item in PATHS.items()
    for method, operation in item.items()
    if "requestBody" in operation and "{" not in path
)
OTHER_CONTENT_TYPES = [
    "multipart/form-data",  # no boundary
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded",
    "text/plain",
    "application/octet-stream",
    "application/json; charset=latin-1",
]


@pytest.mark.parametrize(("method", "path"), WITH_BODIES)
@pytest.mark.parametrize("content_type", OTHER_CONTENT_TYPES)
def test_a_body_of_an_undeclared_content_type_is_a_documented_4xx(
    served: LocalRuntime, api_schema: Any, method: str, path: str, content_type: str
) -> None:
    # Given a body the document declares as JSON, sent under another content type (schemathesis's
    # coverage phase found Powertools failing on a multipart one without a boundary)
    body = '{"user_id": "Zoë", "records": [{}]}'.encode("latin-1")
    answer = send(served.port, method, path, body, {"content-type": content_type})
    # Then it is refused, and how is documented for the route
    documented = PATHS[path][method.lower()]["responses"]
    assert 400 <= answer.status < 500 or (answer.status == 503 and path in NO_MODEL_OPERATIONS), answer
    assert str(answer.status) in documented, (answer, sorted(documented))


@pytest.mark.parametrize("path", sorted(PATHS))
def test_a_method_a_path_does_not_document_is_405_allowing_the_documented_ones(
    served: LocalRuntime, path: str
) -> None:
    concrete = path.replace("{user_id}", "u1").replace("{service_name}", "context_aware")
    documented = {method.upper() for method in PATHS[path]}
    for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE", "TRACE"} - documented):
        answer = send(served.port, method, concrete)
        assert answer.status == 405, (method, answer)
        assert set(answer.headers["allow"].split(", ")) == documented
