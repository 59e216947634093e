"""Snowplow's Python tracker (snowplow-tracker), unchanged, against eventlens local, POST and GET:
every event stored once, as sent, in the key's project; refusals as the tracker expects."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
import requests
from snowplow_tracker import (
    Emitter,
    PageView,
    SelfDescribing,
    SelfDescribingJson,
    StructuredEvent,
    Subject,
    Tracker,
)

from eventlens_tools.local.runtime import LocalRuntime
from tests.conftest import OTHER_PROJECT, OTHER_WRITE_KEY, TEST_WRITE_KEY
from tests.robustness.conftest import send
from tests.sdk.conftest import LossyProxy, stored, unique

WRONG_KEY = "el_write_" + "x" * 43
PAYLOAD_DATA = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4"


def _tracker(
    address: str,
    user: str,
    key: str = TEST_WRITE_KEY,
    method: str = "post",
    header: bool = False,
    **options: Any,
) -> tuple[Tracker, Emitter, list[int]]:
    """A tracker whose requests carry the key in the requests session it is handed: as HTTP Basic,
    or (``header``) in X-Write-Key."""
    session = requests.Session()
    if header:
        session.headers["X-Write-Key"] = key
    else:
        session.auth = (key, "")
    failures: list[int] = []
    emitter = Emitter(
        address,
        protocol="http",
        method=method,  # type: ignore[arg-type]
        session=session,
        on_failure=lambda sent, failed: failures.append(len(failed)),
        **options,
    )
    return (
        Tracker("eventlens-test", emitter, subject=Subject().set_user_id(user), app_id="shop"),
        emitter,
        failures,
    )


def _until(condition: Any, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)


def test_every_tracker_event_is_stored_once_as_sent_through_batching_and_a_retry(
    served: LocalRuntime, lossy: LossyProxy
) -> None:
    # Given the tracker POSTing batches of 2, behind a network that loses the answer to its first
    # request (after eventlens stored it)
    user = unique("sp-user")
    tracker, emitter, failures = _tracker(lossy.address, user, batch_size=2)
    when = datetime.now(UTC) - timedelta(days=1)
    click = SelfDescribingJson("iglu:com.acme/link_click/jsonschema/1-0-1", {"target": "https://x", "n": 2})
    context = SelfDescribingJson("iglu:com.acme/user_plan/jsonschema/1-0-0", {"plan": "pro"})
    # When it tracks a page view (at a given true timestamp), a structured event and a
    # self-describing one with a context, and flushes
    ids = {
        "$pageview": tracker.track(
            PageView(page_url="https://example.com/a", page_title="A", true_timestamp=when.timestamp() * 1000)
        ),
        "play": tracker.track(StructuredEvent(category="video", action="play", label="intro", value=1.5)),
        "link_click": tracker.track(SelfDescribing(click, context=[context])),
    }
    tracker.flush()
    # Then the first request was sent again after its answer was lost (the tracker's retry timer)
    _until(lambda: sum(1 for f in lossy.forwarded if f.status == 200) >= 2)
    posts = [f for f in lossy.forwarded if f.path == "/com.snowplowanalytics.snowplow/tp2"]
    assert posts[0].status is None and failures == [2]
    assert all(f.headers["Authorization"].startswith("Basic") for f in posts)
    # And eventlens stored each event once, in the key's project, with the tracker's event id
    rows = stored(served, [user], 3)
    assert len(rows) == 3, rows
    by_type = {row["event_type"]: row for row in rows}
    assert {name: by_type[name]["event_id"] for name in ids} == ids
    assert {row["project_id"] for row in rows} == {"default"} and {row["source"] for row in rows} == {
        "snowplow"
    }
    page = by_type["$pageview"]
    assert (page["properties"]["$page_url"], page["properties"]["$page_title"]) == (
        "https://example.com/a",
        "A",
    )
    assert page["properties"]["$app_id"] == "shop" and page["properties"]["$platform"] == "pc"
    assert abs(page["ts"].replace(tzinfo=UTC) - when) < timedelta(milliseconds=2)  # the true timestamp
    play = by_type["play"]["properties"]
    assert (play["$se_category"], play["$se_action"], play["$se_label"], play["$se_value"]) == (
        "video",
        "play",
        "intro",
        1.5,
    )
    link = by_type["link_click"]["properties"]
    assert (link["target"], link["n"], link["$schema"]) == (
        "https://x",
        2,
        "iglu:com.acme/link_click/jsonschema/1-0-1",
    )
    assert link["$contexts"] == [
        {"schema": "iglu:com.acme/user_plan/jsonschema/1-0-0", "data": {"plan": "pro"}}
    ]


def test_the_get_pixel_takes_one_event_as_query_parameters(
    served: LocalRuntime, faithful: LossyProxy
) -> None:
    # Given the tracker sending by GET, its key in X-Write-Key
    user = unique("sp-get")
    tracker, emitter, failures = _tracker(faithful.address, user, method="get", header=True, batch_size=1)
    # When it tracks two page views
    first = tracker.track(PageView(page_url="https://example.com/1"))
    second = tracker.track(PageView(page_url="https://example.com/2"))
    tracker.flush()
    # Then each was a GET /i answered with a GIF, and each is stored once
    gets = [f for f in faithful.forwarded if f.method == "GET"]
    assert [f.path.split("?")[0] for f in gets] == ["/i", "/i"] and failures == []
    rows = stored(served, [user], 2)
    assert {row["event_id"] for row in rows} == {first, second}
    answer = send(
        served.port, "GET", gets[0].path, headers={"authorization": None, "x-write-key": TEST_WRITE_KEY}
    )
    assert (
        answer.status == 200
        and answer.headers["content-type"] == "image/gif"
        and answer.body.startswith(b"GIF89a")
    )


def test_another_projects_key_stores_into_that_project_only(
    served: LocalRuntime, faithful: LossyProxy
) -> None:
    user = unique("sp-other")
    tracker, _, _ = _tracker(faithful.address, user, key=OTHER_WRITE_KEY, batch_size=1)
    tracker.track(PageView(page_url="https://example.com"))
    tracker.flush()
    assert [row["project_id"] for row in stored(served, [user], 1)] == [OTHER_PROJECT]


def test_a_wrong_key_is_refused_with_401_and_not_retried(served: LocalRuntime, faithful: LossyProxy) -> None:
    user = unique("sp-wrong")
    tracker, emitter, failures = _tracker(faithful.address, user, key=WRONG_KEY, batch_size=1)
    tracker.track(PageView(page_url="https://example.com"))
    tracker.flush()
    time.sleep(1.5)  # a retry timer would have fired by now
    assert [f.status for f in faithful.forwarded] == [401] and failures == [1]
    assert not emitter.retry_timer.is_active()
    assert stored(served, [user], 0) == []


# --- the wire -------------------------------------------------------------------------------------


def _post(runtime: LocalRuntime, body: Any, key: str | None = TEST_WRITE_KEY) -> tuple[int, Any]:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    headers = {
        "authorization": None,
        "content-type": "application/json",
        **({"x-write-key": key} if key else {}),
    }
    answer = send(runtime.port, "POST", "/com.snowplowanalytics.snowplow/tp2", raw, headers)
    return answer.status, answer.json() if answer.body else None


def test_the_device_time_is_corrected_by_its_clock_skew(served: LocalRuntime) -> None:
    # Given an event from a device whose clock is an hour behind, created a minute before it was sent
    now_ms = int(time.time() * 1000)
    device_sent = now_ms - 3_600_000
    user = unique("sp-skew")
    event = {"e": "pv", "eid": "0b6f3f8e-3c1d-4c9a-9a57-5b1c2d3e4f70", "duid": user}
    event.update({"dtm": str(device_sent - 60_000), "stm": str(device_sent), "url": "https://x"})
    # When it is posted, then it is stored a minute before eventlens received it, its user the domain
    # user id (no uid was sent)
    assert _post(served, {"schema": PAYLOAD_DATA, "data": [event]})[0] == 200
    (row,) = stored(served, [user], 1)
    expected = datetime.fromtimestamp((now_ms - 60_000) / 1000, UTC)
    assert abs(row["ts"].replace(tzinfo=UTC) - expected) < timedelta(seconds=5)
    assert row["properties"]["$domain_userid"] == user


def test_a_json_self_describing_event_and_a_structured_one_without_base64(served: LocalRuntime) -> None:
    user = unique("sp-json")
    unstruct = {
        "schema": "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0",
        "data": {"schema": "iglu:com.acme/signup/jsonschema/1-0-0", "data": {"plan": "pro"}},
    }
    contexts = base64.urlsafe_b64encode(orjson.dumps({"schema": "c", "data": [{"schema": "s", "data": {}}]}))
    events = [
        {"e": "ue", "uid": user, "ue_pr": orjson.dumps(unstruct).decode()},
        {"e": "se", "uid": user, "se_ca": "c", "se_ac": "a", "se_va": 3, "cx": contexts.decode().rstrip("=")},
    ]
    status, answer = _post(served, {"schema": PAYLOAD_DATA, "data": events})
    assert (status, answer["accepted"]) == (200, 2), answer
    by_type = {row["event_type"]: row["properties"] for row in stored(served, [user], 2)}
    assert by_type["signup"]["plan"] == "pro" and by_type["a"]["$se_value"] == 3.0
    assert by_type["a"]["$contexts"] == [{"schema": "s", "data": {}}]


@pytest.mark.parametrize(
    ("body", "key", "status", "field"),
    [
        (b"{not json", TEST_WRITE_KEY, 400, "body"),
        (
            {"schema": "iglu:com.acme/x/jsonschema/1-0-0", "data": [{"e": "pv"}]},
            TEST_WRITE_KEY,
            400,
            "schema",
        ),
        ({"schema": PAYLOAD_DATA, "data": []}, TEST_WRITE_KEY, 400, "data"),
        (
            {"schema": PAYLOAD_DATA, "data": [{"e": "pv", "uid": "u", "dtm": "soon"}]},
            TEST_WRITE_KEY,
            400,
            "dtm",
        ),
        ({"schema": PAYLOAD_DATA, "data": [{"e": "zz", "uid": "u"}]}, TEST_WRITE_KEY, 400, "e"),
        ({"schema": PAYLOAD_DATA, "data": [{"e": "pv"}]}, TEST_WRITE_KEY, 400, "uid"),
        ({"schema": PAYLOAD_DATA, "data": [{"e": "pv", "uid": "u"}]}, None, 401, "authorization"),
        ({"schema": PAYLOAD_DATA, "data": [{"e": "pv", "uid": "u"}]}, WRONG_KEY, 401, "authorization"),
    ],
)
def test_bad_input_is_answered_with_a_status_the_tracker_does_not_retry(
    served: LocalRuntime, body: Any, key: str | None, status: int, field: str
) -> None:
    answer_status, answer = _post(served, body, key)
    assert answer_status == status, answer
    assert answer["error"]["field"] == field, answer


def test_an_oversized_body_is_400_not_a_413_the_tracker_would_retry_forever(served: LocalRuntime) -> None:
    body = {"schema": PAYLOAD_DATA, "data": [{"e": "pv", "uid": "u", "url": "x" * (6 * 1024 * 1024)}]}
    status, answer = _post(served, body)
    assert status == 400 and answer["error"]["field"] == "body", answer


def test_a_get_without_an_event_is_400(served: LocalRuntime) -> None:
    answer = send(served.port, "GET", "/i", headers={"authorization": None, "x-write-key": TEST_WRITE_KEY})
    assert answer.status == 400 and answer.json()["error"]["field"] == "query"
    query = urlencode({"e": "pv", "uid": "u", "dtm": "x"})
    answer = send(
        served.port, "GET", f"/i?{query}", headers={"authorization": None, "x-write-key": TEST_WRITE_KEY}
    )
    assert answer.status == 400 and answer.json()["rejected"][0]["field"] == "dtm"
