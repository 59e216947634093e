"""Bodies that are not UTF-8 JSON text, on every ingest route: a 400 naming the body, never a 500."""

from __future__ import annotations

import base64
import json

import pytest

from eventlens.components import Components
from eventlens_tools.local.invoke import LocalFunction
from eventlens_tools.local.runtime import LocalRuntime
from tests.conftest import http_event
from tests.robustness.conftest import INGEST_ROUTES, field_of, send

NOT_UTF8 = {
    "an 0xff byte": (b'\xff{"events": []}', "application/json"),
    "UTF-16 JSON": ('{"events": [{"user_id": "u", "type": "t"}]}'.encode("utf-16"), "application/json"),
    "octet-stream bytes": (bytes(range(256)), "application/octet-stream"),
    "Latin-1 text": ('{"user_id": "Zoë", "type": "t"}'.encode("latin-1"), "text/plain; charset=latin-1"),
}


@pytest.mark.parametrize("route", INGEST_ROUTES)
@pytest.mark.parametrize("kind", NOT_UTF8)
def test_a_body_that_is_not_utf8_is_400_naming_the_body(
    served_ingest: LocalRuntime, route: str, kind: str
) -> None:
    # Given a body of bytes that are not UTF-8 text
    body, content_type = NOT_UTF8[kind]
    # When it is posted to an ingest route of eventlens local
    answer = send(served_ingest.port, "POST", route, body, {"content-type": content_type})
    # Then the answer is 400 naming the body, with the parser's reason
    assert answer.status == 400, answer
    assert field_of(answer) == "body"
    assert "UTF-8" in answer.json()["error"]["reason"]


def test_a_base64_body_is_judged_on_its_bytes(
    functions: dict[str, LocalFunction], components: Components
) -> None:
    # Given API Gateway's event for a binary body (base64-encoded), and one that claims to be and is not
    good = {"events": [{"user_id": "u", "type": "page_view"}]}
    binary = http_event("ingest_v1_events.json")
    binary.update(body=base64.b64encode(json.dumps(good).encode()).decode(), isBase64Encoded=True)
    garbled = http_event("ingest_v1_events.json")
    garbled.update(body="not base64 at all!", isBase64Encoded=True)
    latin1 = http_event("ingest_v1_events.json")
    latin1.update(body=base64.b64encode('{"events": "Zoë"}'.encode("latin-1")).decode(), isBase64Encoded=True)

    # When the ingest function is invoked with each
    answers = [functions["ingest"].invoke(event) for event in (binary, garbled, latin1)]

    # Then the real JSON is accepted, and the others are 400 naming the body
    assert [a["statusCode"] for a in answers] == [202, 400, 400]
    assert {json.loads(a["body"])["error"]["field"] for a in answers[1:]} == {"body"}


@pytest.mark.parametrize("route", ["/report", "/predict"])
def test_a_validated_body_that_is_not_utf8_is_400_naming_the_body(served: LocalRuntime, route: str) -> None:
    # Given a route whose JSON body Powertools validates
    # When bytes that are not UTF-8 are posted to it
    answer = send(served.port, "POST", route, b'{"user_id": "\xff"}', {"content-type": "application/json"})
    # Then it is 400 naming the body, not a 500
    assert answer.status == 400, answer
    assert field_of(answer) == "body"


@pytest.mark.parametrize("route", ["/report", "/predict"])
@pytest.mark.parametrize(
    "content_type", ["multipart/form-data", "application/x-www-form-urlencoded", "text/plain"]
)
def test_a_validated_body_of_another_content_type_is_a_4xx_naming_it(
    served: LocalRuntime, route: str, content_type: str
) -> None:
    # Given a JSON route sent a body its content type says is a form (multipart without a boundary
    # included: Powertools raised a bare ValueError reading it) or plain text
    body = '{"user_id": "Zoë"}'.encode()
    # When it is posted
    answer = send(served.port, "POST", route, body, {"content-type": content_type})
    # Then it is refused naming what is wrong with it, not a 500
    assert 400 <= answer.status < 500, answer
    assert field_of(answer) in ("body", "content-type", "user_id", "records")
