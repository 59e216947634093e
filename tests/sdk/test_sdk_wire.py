"""Every analytics SDK route, over real HTTP: random bodies never a 5xx and always answered in the
route's protocol; the per-IP limit before the key, wherever the key is; other routes keep to Bearer."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventlens.api.access import SDK_INGEST_ROUTES
from eventlens.manifest import load_manifest
from eventlens_tools.local.runtime import LocalRuntime
from tests.conftest import TEST_WRITE_KEY, isolated_settings
from tests.robustness.conftest import Answer, send

WRONG_KEY = "el_write_" + "x" * 43
SEGMENT = sorted(path for path in SDK_INGEST_ROUTES if path.startswith("/v1/"))
SNOWPLOW = ["/com.snowplowanalytics.snowplow/tp2"]
POSTHOG = sorted(SDK_INGEST_ROUTES - set(SEGMENT) - set(SNOWPLOW) - {"/i"})

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
FIELDS = st.sampled_from(
    [
        "batch", "type", "userId", "anonymousId", "event", "messageId", "timestamp", "sentAt", "properties",
        "traits", "groupId", "previousId", "context", "distinct_id", "uuid", "offset", "sent_at", "$set",
        "schema", "data", "e", "eid", "uid", "duid", "dtm", "stm", "ttm", "ue_pr", "ue_px", "cx", "se_ac",
    ]
)  # fmt: skip
MESSAGES = st.dictionaries(FIELDS, JSON, max_size=8)
ENVELOPES = st.fixed_dictionaries(
    {"batch": st.lists(MESSAGES, max_size=4), "data": st.lists(MESSAGES, max_size=4)},
    optional={
        "writeKey": st.just(TEST_WRITE_KEY),
        "api_key": st.just(TEST_WRITE_KEY),
        "schema": st.text(max_size=70),
    },
) | MESSAGES.map(lambda message: {**message, "writeKey": TEST_WRITE_KEY, "api_key": TEST_WRITE_KEY})
BODIES = (
    st.binary(max_size=300)
    | JSON.map(lambda value: json.dumps(value).encode())
    | ENVELOPES.map(lambda value: json.dumps(value).encode())
    | ENVELOPES.map(lambda value: gzip.compress(json.dumps(value).encode()))
    | ENVELOPES.map(lambda value: b"data=" + base64.b64encode(json.dumps(value).encode()))
)


def _in_protocol(path: str, answer: Answer) -> None:
    """The answer is not a 5xx, and has its route's protocol's shape."""
    assert answer.status < 500, answer
    body: Any = answer.json()
    if path in SEGMENT:
        assert body.get("success") is True if answer.status == 200 else {"code", "message"} <= set(body), body
    elif path in POSTHOG:
        assert body.get("status") == 1 if answer.status == 200 else {"type", "code", "detail"} <= set(body), (
            body
        )
    else:
        assert "accepted" in body if answer.status == 200 else body["error"]["field"], body


@pytest.mark.parametrize("path", [SEGMENT[0], "/v1/track", POSTHOG[0], "/e", SNOWPLOW[0]])
def test_random_bodies_are_answered_in_the_routes_protocol_and_never_a_5xx(
    served: LocalRuntime, path: str
) -> None:
    @given(body=BODIES, encoding=st.sampled_from([None, "gzip", "deflate", "br"]))
    @settings(max_examples=120, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def each(body: bytes, encoding: str | None) -> None:
        headers = {"content-type": "application/json", "authorization": None}
        if encoding:
            headers["content-encoding"] = encoding
        _in_protocol(path, send(served.port, "POST", path, body, headers))

    each()


def test_random_queries_on_the_pixel_are_answered_and_never_a_5xx(served: LocalRuntime) -> None:
    from urllib.parse import urlencode

    @given(query=st.dictionaries(FIELDS, st.text(max_size=30), max_size=6))
    @settings(max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def each(query: dict[str, str]) -> None:
        answer = send(
            served.port,
            "GET",
            f"/i?{urlencode(query)}",
            headers={"authorization": None, "x-write-key": TEST_WRITE_KEY},
        )
        assert answer.status in (200, 400), answer
        assert answer.headers["content-type"] == ("image/gif" if answer.status == 200 else "application/json")

    each()


def test_every_sdk_route_is_served_by_ingest_and_takes_the_key_where_sdks_send_it(
    served: LocalRuntime,
) -> None:
    # Given the SDKs' routes, which the manifest gives the ingest function (write keys)
    ingest = load_manifest()["ingest"]
    methods = {route.path: route.method for route in ingest.http}
    assert set(methods) >= SDK_INGEST_ROUTES and ingest.access == "write"
    for path in sorted(SDK_INGEST_ROUTES):
        # When each is called with the key in X-Write-Key and nothing else
        answer = send(
            served.port, methods[path], path, b"", {"authorization": None, "x-write-key": TEST_WRITE_KEY}
        )
        # Then the caller is admitted, and told it sent no event
        assert answer.status == 400, (path, answer)


@pytest.fixture
def limited(tmp_path: Path, chdb_dir: Path) -> Iterator[LocalRuntime]:
    """eventlens local's ingest, two requests a minute per IP."""
    settings = isolated_settings(tmp_path / "home", chdb_dir).model_copy(
        update={"rate_limit_per_ip": 2, "rate_limit_per_key": 0}
    )
    runtime = LocalRuntime(settings, port=0, only={"ingest"})
    runtime.start()
    yield runtime
    runtime.stop()


@pytest.mark.parametrize(
    ("path", "body", "shape"),
    [
        (
            "/v1/batch",
            {"batch": [{"type": "track", "userId": "u", "event": "e"}], "writeKey": WRONG_KEY},
            "code",
        ),
        ("/batch/", {"batch": [{"event": "e", "distinct_id": "u"}], "api_key": WRONG_KEY}, "detail"),
    ],
)
def test_the_ip_limit_is_checked_before_a_key_in_the_body(
    limited: LocalRuntime, path: str, body: dict[str, Any], shape: str
) -> None:
    # Given a caller guessing keys in the body, two requests a minute allowed per IP
    raw = orjson.dumps(body)
    headers = {"authorization": None, "content-type": "application/json"}
    answers = [send(limited.port, "POST", path, raw, headers) for _ in range(3)]
    # Then its guesses are refused as wrong keys until the IP's limit, then as over the limit, with
    # Retry-After (the SDKs wait that long), in the protocol's shape
    assert [answer.status for answer in answers] == [401, 401, 429]
    assert int(answers[2].headers["retry-after"]) >= 1 and shape in answers[2].json()


@pytest.mark.parametrize(
    "headers",
    [
        {"x-write-key": TEST_WRITE_KEY},
        {"authorization": "Basic " + base64.b64encode(f"{TEST_WRITE_KEY}:".encode()).decode()},
    ],
)
def test_eventlens_own_routes_take_the_key_as_bearer_only(
    served: LocalRuntime, headers: dict[str, str]
) -> None:
    # Given a valid write key sent as an SDK sends it, or in the body, to eventlens's own ingest route
    body = json.dumps({"events": [{"user_id": "u", "type": "t"}], "writeKey": TEST_WRITE_KEY}).encode()
    answer = send(served.port, "POST", "/v1/events", body, {"authorization": None, **headers})
    # Then it is refused: only the SDKs' routes look there
    assert answer.status == 401, answer
