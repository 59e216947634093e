"""Segment's SDK (segment-analytics-python) and RudderStack's (rudder-sdk-python), unchanged, against
eventlens local: every call stored once, as sent, in the key's project; refusals as the SDKs expect."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from rudderstack.analytics import Client as RudderClient
from segment.analytics import Client as SegmentClient
from segment.analytics.request import APIError

from eventlens_tools.local.runtime import LocalRuntime
from tests.conftest import OTHER_PROJECT, OTHER_WRITE_KEY, TEST_WRITE_KEY
from tests.robustness.conftest import send
from tests.sdk.conftest import LossyProxy, own, stored, unique

WRONG_KEY = "el_write_" + "x" * 43


def _segment(host: str, key: str = TEST_WRITE_KEY, **options: Any) -> tuple[SegmentClient, list[Exception]]:
    """Segment's client sending to ``host``, and the errors it reports (its on_error)."""
    errors: list[Exception] = []
    client = SegmentClient(
        key,
        host=host,
        on_error=lambda error, batch: errors.append(error),
        **{"upload_interval": 0.2, **options},
    )
    return client, errors


def test_every_segment_call_is_stored_once_as_sent_through_batching_gzip_and_a_retry(
    served: LocalRuntime, lossy: LossyProxy
) -> None:
    # Given Segment's SDK with gzip, batches of 3 messages and retries, behind a network that loses
    # the answer to its first request (after eventlens stored the batch)
    client, errors = _segment(lossy.url, gzip=True, upload_size=3, max_retries=3)
    user, anonymous, group = unique("seg-user"), unique("seg-anon"), unique("seg-group")
    when = datetime.now(UTC) - timedelta(days=2)
    # When it sends every call of the spec, and flushes
    sent = [
        client.track(user, "Signed Up", {"plan": "pro", "seats": 3, "nested": {"a": [1, 2]}}, timestamp=when),
        client.identify(user, {"email": "a@example.com", "plan": "pro"}, anonymous_id=anonymous),
        client.page(user, "Docs", "Intro", {"url": "https://example.com/docs"}),
        client.screen(user, "Onboarding", "Welcome", {"step": 1}),
        client.group(user, group, {"name": "Acme", "employees": 12}),
        client.alias(anonymous, user),
    ]
    client.shutdown()
    # Then the SDK reported no error, it sent gzip batches of at most 3 with its key, and sent the
    # first one twice (its answer was lost)
    assert errors == [] and all(ok for ok, _ in sent)
    batches = [f for f in lossy.forwarded if f.path == "/v1/batch"]
    assert len(batches) >= 3 and batches[0].status is None and batches[1].status == 200
    first, retry = (json.loads(gzip.decompress(f.body)) for f in batches[:2])
    assert first["batch"] == retry["batch"] and batches[1].headers.get("X-Retry-Count") == "1"
    assert all(
        f.headers["Content-Encoding"] == "gzip" and f.headers["Authorization"].startswith("Basic")
        for f in batches
    )
    assert max(len(json.loads(gzip.decompress(f.body))["batch"]) for f in batches) <= 3
    # And eventlens stored each call once, in the key's project, with the message's id and as sent
    rows = stored(served, [user], 6)
    assert len(rows) == 6, rows
    messages = {message["messageId"]: message for _, message in sent}
    assert {row["event_id"] for row in rows} == set(messages)
    assert {row["project_id"] for row in rows} == {"default"} and {row["source"] for row in rows} == {
        "segment"
    }
    by_type = {row["event_type"]: row for row in rows}
    assert sorted(by_type) == sorted(
        ["Signed Up", "$identify", "$pageview", "$screen", "$groupidentify", "$create_alias"]
    )
    track = by_type["Signed Up"]
    assert own(track["properties"]) == {"plan": "pro", "seats": 3, "nested": {"a": [1, 2]}}
    assert track["properties"]["$context"]["library"]["name"] == "analytics-python"
    # the device's time, corrected by the (here tiny) skew between its clock and eventlens's
    assert abs(track["ts"].replace(tzinfo=UTC) - when) < timedelta(seconds=2)
    assert by_type["$identify"]["properties"]["$set"] == {"email": "a@example.com", "plan": "pro"}
    assert by_type["$identify"]["properties"]["$anonymous_id"] == anonymous
    assert own(by_type["$pageview"]["properties"]) == {"url": "https://example.com/docs"}
    assert (by_type["$pageview"]["properties"]["$name"], by_type["$pageview"]["properties"]["$category"]) == (
        "Intro",
        "Docs",
    )
    assert own(by_type["$screen"]["properties"]) == {"step": 1}
    assert by_type["$groupidentify"]["properties"]["$group_id"] == group
    assert by_type["$groupidentify"]["properties"]["$group_set"] == {"name": "Acme", "employees": 12}
    assert by_type["$create_alias"]["properties"]["$previous_id"] == anonymous
    assert all(row["user_id"] == user for row in rows)


def test_an_anonymous_visitor_is_its_anonymous_id(served: LocalRuntime, faithful: LossyProxy) -> None:
    # Given a visitor without a user id
    anonymous = unique("seg-anon")
    client, errors = _segment(faithful.url)
    # When the SDK tracks it
    client.track(anonymous_id=anonymous, event="Viewed Pricing")
    client.shutdown()
    # Then its anonymousId is the event's user, and kept as such for stitching
    (row,) = stored(served, [anonymous], 1)
    assert (row["user_id"], row["event_type"]) == (anonymous, "Viewed Pricing")
    assert row["properties"]["$anonymous_id"] == anonymous


def test_another_projects_key_stores_into_that_project_only(
    served: LocalRuntime, faithful: LossyProxy
) -> None:
    user = unique("seg-other")
    client, errors = _segment(faithful.url, key=OTHER_WRITE_KEY)
    client.track(user, "Opened")
    client.shutdown()
    assert [row["project_id"] for row in stored(served, [user], 1)] == [OTHER_PROJECT]


def test_a_wrong_key_is_refused_with_401_and_not_retried(served: LocalRuntime, faithful: LossyProxy) -> None:
    # Given Segment's SDK with a key no project has, and retries on
    client, errors = _segment(faithful.url, key=WRONG_KEY, max_retries=3)
    user = unique("seg-wrong")
    # When it sends a call
    client.track(user, "Signed Up")
    client.shutdown()
    # Then it was told 401 in Segment's shape, once (it does not retry a 401), and nothing was stored
    (error,) = errors
    assert isinstance(error, APIError) and (error.status, error.code) == (401, "unauthorized")
    assert len(faithful.forwarded) == 1
    assert stored(served, [user], 0) == []


def test_rudderstacks_sdk_sends_its_key_as_the_basic_user_name(
    served: LocalRuntime, faithful: LossyProxy
) -> None:
    # Given RudderStack's SDK (the key only as HTTP Basic, gzip by default)
    errors: list[Exception] = []
    client = RudderClient(
        TEST_WRITE_KEY, host=faithful.url, on_error=lambda e, b: errors.append(e), upload_interval=0.2
    )
    user, anonymous = unique("rudder-user"), unique("rudder-anon")
    # When it tracks, identifies and aliases
    client.track(user, "Played", {"song": "x"})
    client.identify(user, {"plan": "free"}, anonymous_id=anonymous)
    client.alias(anonymous, user)
    client.flush()
    client.join()
    # Then all three are stored once each, and the body carried no key
    assert errors == []
    bodies = [json.loads(gzip.decompress(f.body)) for f in faithful.forwarded]
    assert all("writeKey" not in body for body in bodies)
    rows = stored(served, [user], 3)
    assert sorted(row["event_type"] for row in rows) == ["$create_alias", "$identify", "Played"]
    assert {row["project_id"] for row in rows} == {"default"}


# --- the wire, as the SDKs and curl send it ---------------------------------------------------------


def _post(
    runtime: LocalRuntime, path: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    answer = send(
        runtime.port,
        "POST",
        path,
        raw,
        {"authorization": None, "content-type": "application/json", **(headers or {})},
    )
    return answer.status, answer.json() if answer.body else None


@pytest.mark.parametrize(
    "where",
    ["body", "basic", "x-write-key", "bearer"],
)
def test_the_key_is_taken_wherever_an_sdk_sends_it(served: LocalRuntime, where: str) -> None:
    import base64

    user = unique(f"seg-{where}")
    body: dict[str, Any] = {"batch": [{"type": "track", "userId": user, "event": "e"}]}
    headers: dict[str, str] = {}
    if where == "body":
        body["writeKey"] = TEST_WRITE_KEY
    elif where == "basic":
        headers["authorization"] = "Basic " + base64.b64encode(f"{TEST_WRITE_KEY}:".encode()).decode()
    elif where == "x-write-key":
        headers["x-write-key"] = TEST_WRITE_KEY
    else:
        headers["authorization"] = f"Bearer {TEST_WRITE_KEY}"
    status, answer = _post(served, "/v1/batch", body, headers)
    assert (status, answer["success"], answer["accepted"]) == (200, True, 1), answer


def test_a_single_call_route_takes_one_message_its_type_from_the_path(served: LocalRuntime) -> None:
    user = unique("seg-single")
    message = {"userId": user, "traits": {"plan": "pro"}, "writeKey": TEST_WRITE_KEY, "messageId": "m-1"}
    status, answer = _post(served, "/v1/identify", message)
    assert status == 200, answer
    (row,) = stored(served, [user], 1)
    assert (row["event_type"], row["properties"]["$set"], row["properties"]["$message_id"]) == (
        "$identify",
        {"plan": "pro"},
        "m-1",
    )


def test_the_timestamp_is_corrected_by_the_senders_clock_skew(served: LocalRuntime) -> None:
    # Given a device whose clock is an hour behind: it says it sent the batch an hour ago, and that
    # the event happened ten minutes before that
    now = datetime.now(UTC)
    device_now = now - timedelta(hours=1)
    user = unique("seg-skew")
    body = {
        "batch": [
            {
                "type": "track",
                "userId": user,
                "event": "e",
                "timestamp": (device_now - timedelta(minutes=10)).isoformat(),
            }
        ],
        "sentAt": device_now.isoformat(),
        "writeKey": TEST_WRITE_KEY,
    }
    # When it is posted
    assert _post(served, "/v1/batch", body)[0] == 200
    # Then the event is stored ten minutes before eventlens received it
    (row,) = stored(served, [user], 1)
    assert abs(row["ts"].replace(tzinfo=UTC) - (now - timedelta(minutes=10))) < timedelta(seconds=5)


def test_a_resent_batch_counts_once(served: LocalRuntime) -> None:
    user = unique("seg-resend")
    body = {
        "batch": [{"type": "track", "userId": user, "event": "e", "messageId": "ajs-1"}],
        "writeKey": TEST_WRITE_KEY,
    }
    assert _post(served, "/v1/batch", body)[0] == 200
    assert _post(served, "/v1/batch", body)[0] == 200
    assert len(stored(served, [user], 1)) == 1


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"{not json", "body"),
        (b"", "authorization"),  # no body, no key: told where to send one
        (orjson.dumps({"batch": "x", "writeKey": TEST_WRITE_KEY}), "batch"),
        (orjson.dumps({"batch": [], "writeKey": TEST_WRITE_KEY}), "batch"),
        (orjson.dumps({"batch": [{"type": "track", "event": "e"}], "writeKey": TEST_WRITE_KEY}), "userId"),
        (orjson.dumps({"batch": [{"type": "fly", "userId": "u"}], "writeKey": TEST_WRITE_KEY}), "type"),
    ],
)
def test_bad_input_is_answered_in_segments_shape(served: LocalRuntime, raw: bytes, field: str) -> None:
    status, answer = _post(served, "/v1/batch", raw)
    assert status == (401 if field == "authorization" else 400), answer
    assert set(answer) >= {"code", "message"} and answer["message"].startswith(field), answer


def test_segments_size_limits_are_400_and_a_large_message_is_rejected_alone(served: LocalRuntime) -> None:
    user = unique("seg-size")
    big = {"type": "track", "userId": user, "event": "big", "properties": {"blob": "x" * 40_000}}
    small = {"type": "track", "userId": user, "event": "small"}
    # A message over 32 KB is rejected by its index, its neighbour stored
    status, answer = _post(served, "/v1/batch", {"batch": [big, small], "writeKey": TEST_WRITE_KEY})
    assert status == 200 and answer["accepted"] == 1 and answer["rejected"][0]["index"] == 0, answer
    # A batch over 500 KB, or a gzip stream inflating past it, is 400 (Segment's SDKs do not retry it)
    many = {
        "batch": [dict(big, properties={"blob": "x" * 30_000}) for _ in range(20)],
        "writeKey": TEST_WRITE_KEY,
    }
    for raw, headers in (
        (orjson.dumps(many), {}),
        (gzip.compress(orjson.dumps(many)), {"content-encoding": "gzip"}),
    ):
        status, answer = _post(served, "/v1/batch", raw, headers)
        assert status == 400 and answer["code"] == "invalid_request", answer
    assert [row["event_type"] for row in stored(served, [user], 1)] == ["small"]


def test_a_wrong_key_in_the_body_is_not_echoed(served: LocalRuntime) -> None:
    body = {"batch": [{"type": "track", "userId": "u", "event": "e"}], "writeKey": WRONG_KEY}
    status, answer = _post(served, "/v1/batch", body)
    assert status == 401 and WRONG_KEY not in json.dumps(answer)
