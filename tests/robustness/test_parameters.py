"""Path parameters arrive decoded, as API Gateway decodes them; days and moments are ISO 8601 text."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

import pytest

from eventlens.components import Components
from eventlens.manifest import HttpRoute
from eventlens_tools.local.apigw import http_api_event, routed_path
from eventlens_tools.local.invoke import LocalFunction
from eventlens_tools.local.runtime import LocalRuntime
from tests.conftest import TEST_SECRET_KEY
from tests.robustness.conftest import field_of, send

USER = "用户一 50%/x"  # non-ASCII, a space, a percent sign and a slash: each must survive the round trip


def test_the_local_runtime_routes_on_the_decoded_path_and_keeps_the_raw_one(served: LocalRuntime) -> None:
    # Given a request path holding a percent-encoded user id
    raw = "/api/v1/stream/stats/" + quote(USER.replace("/", ""), safe="")
    # When the runtime routes it
    path = routed_path(raw)
    assert path is not None
    found = served.route("GET", path)
    # Then the path parameter is the decoded id, as API Gateway's pathParameters are
    assert found is not None and found[1] == {"user_id": USER.replace("/", "")}
    # And an encoded slash separates segments there too (no route takes it), and bad UTF-8 is no path
    assert served.route("GET", routed_path("/api/v1/stream/stats/a%2Fb") or "") is None
    assert routed_path("/api/v1/stream/stats/%FF") is None


def test_a_report_route_reads_the_decoded_id_from_api_gateways_event(
    functions: dict[str, LocalFunction], components: Components
) -> None:
    # Given API Gateway's event for GET /api/v1/stream/stats/{user_id}: rawPath as sent, parameters decoded
    raw = "/api/v1/stream/stats/" + quote(USER, safe="")
    secret = [("authorization", f"Bearer {TEST_SECRET_KEY}")]
    event = http_api_event(
        "GET", raw, "", secret, b"", HttpRoute("GET", "/api/v1/stream/stats/{user_id}"), {"user_id": USER}
    )
    # When the report function answers it
    response = functions["report"].invoke(event)
    # Then the route was handed the id, not its percent-encoding (Powertools matches on rawPath)
    assert response["statusCode"] == 200, response
    assert json.loads(response["body"])["user_id"] == USER


def test_a_user_with_a_non_ascii_id_is_read_back_over_http(served: LocalRuntime) -> None:
    # Given a Life Stream event of a user whose id is not ASCII, ingested through eventlens local
    user = "用户一"
    body = json.dumps({"user_id": user, "type": "health", "metric": "heart_rate", "value": 72}).encode()
    answer = send(
        served.port, "POST", "/api/v1/stream/ingest/single", body, {"content-type": "application/json"}
    )
    assert answer.status == 202, answer

    # When the user's statistics are asked for, by the id percent-encoded in the path
    path = "/api/v1/stream/stats/" + quote(user)
    deadline = time.monotonic() + 30
    stats: dict[str, Any] = {}
    while time.monotonic() < deadline:  # consume stores the event in the background
        stats = send(served.port, "GET", path).json()
        if stats.get("total_events"):
            break
        time.sleep(0.2)

    # Then they are that user's: the event is there
    assert stats["user_id"] == user and stats["total_events"] == 1, stats


DAY_AND_MOMENT_PARAMETERS = [
    ("/api/v1/stream/stats/u1", "to=0.5", "to"),
    ("/api/v1/stream/stats/u1", "from=1700000000", "from"),
    ("/api/v1/stream/events/u1", "from=1e9", "from"),
    ("/api/v1/search/memory/u1/summary", "from=0&to=2026-01-31", "from"),
    ("/stats/dau", "from=2026-01-01&to=20260131", "to"),
    ("/stats/top-events", "from=-1&to=2026-01-31", "from"),
    ("/stats/retention", "start_date=1700000000", "start_date"),
    ("/stats/retention", "start_date=2026-01-05&end_date=0", "end_date"),
]


@pytest.mark.parametrize(("path", "query", "field"), DAY_AND_MOMENT_PARAMETERS)
def test_a_number_for_a_day_or_moment_is_422_naming_it(
    served: LocalRuntime, path: str, query: str, field: str
) -> None:
    # Given a day or moment parameter given as a number (pydantic's lax mode reads it as Unix time)
    # When the route is asked
    answer = send(served.port, "GET", f"{path}?{query}")
    # Then it is a 422 naming that parameter, with the form it takes
    assert answer.status == 422, answer
    assert field_of(answer) == field
    assert "ISO 8601" in answer.json()["error"]["reason"]


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/v1/stream/stats/u1", "from=2026-01-01T00:00:00Z&to=2026-02-01"),
        ("/api/v1/stream/events/u1", "from=2026-01-01T00:00:00%2B02:00"),
        ("/api/v1/search/memory/u1/summary", "from=2026-01-01&to=2026-01-31"),
        ("/stats/dau", "from=2026-01-01&to=2026-01-03"),
        ("/stats/retention", "start_date=2026-01-05&end_date=2026-02-02"),
    ],
)
def test_iso_8601_days_and_moments_are_taken(served: LocalRuntime, path: str, query: str) -> None:
    answer = send(served.port, "GET", f"{path}?{query}")
    assert answer.status == 200, answer
