"""PostHog's SDK (posthog-python), unchanged, against eventlens local, and the capture API as
posthog-js sends it: every event stored once, as sent, in the key's project; refusals as expected."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from posthog import Posthog
from posthog.request import APIError

from eventlens_tools.local.runtime import LocalRuntime
from tests.conftest import OTHER_PROJECT, OTHER_WRITE_KEY, TEST_WRITE_KEY
from tests.robustness.conftest import send
from tests.sdk.conftest import LossyProxy, stored, unique

WRONG_KEY = "el_write_" + "x" * 43


def _posthog(host: str, key: str = TEST_WRITE_KEY, **options: Any) -> tuple[Posthog, list[Exception]]:
    """PostHog's client sending to ``host``, and the errors it reports (its on_error)."""
    errors: list[Exception] = []
    client = Posthog(
        key,
        host=host,
        on_error=lambda error, batch: errors.append(error),
        **{"flush_interval": 0.2, "enable_local_evaluation": False, **options},
    )
    return client, errors


def test_every_posthog_call_is_stored_once_as_sent_through_batching_gzip_and_a_retry(
    served: LocalRuntime, lossy: LossyProxy
) -> None:
    # Given PostHog's SDK with gzip, batches of 3 events and retries, behind a network that loses the
    # answer to its first request (after eventlens stored the batch)
    client, errors = _posthog(lossy.url, gzip=True, flush_at=3, max_retries=3)
    user, anonymous = unique("ph-user"), unique("ph-anon")
    when = datetime.now(UTC) - timedelta(days=3)
    # When it captures, identifies, sets person properties, aliases and identifies a group, and flushes
    ids = {
        "clicked": client.capture(
            "clicked", distinct_id=user, properties={"button": "buy", "n": 2}, timestamp=when
        ),
        "$identify": client.capture(
            "$identify",
            distinct_id=user,
            properties={"$anon_distinct_id": anonymous, "$set": {"plan": "pro"}},
        ),
        "$set": client.set(distinct_id=user, properties={"email": "a@example.com"}),
        "$set_once": client.set_once(distinct_id=user, properties={"first_seen": "2026-01-01"}),
        "$create_alias": client.alias(previous_id=anonymous, distinct_id=user),
        "$groupidentify": client.group_identify("company", "acme", {"name": "Acme"}, distinct_id=user),
    }
    client.shutdown()
    # Then the SDK reported no error; it sent gzip batches of at most 3 to /batch/ with its key in
    # the body, and the first twice (its answer was lost)
    assert errors == [] and all(ids.values())
    batches = [f for f in lossy.forwarded if f.path == "/batch/"]
    assert len(batches) >= 3 and batches[0].status is None and batches[1].status == 200
    bodies = [json.loads(gzip.decompress(f.body)) for f in batches]
    assert bodies[0]["batch"] == bodies[1]["batch"] and bodies[0]["api_key"] == TEST_WRITE_KEY
    assert all(f.headers["Content-Encoding"] == "gzip" for f in batches)
    assert max(len(body["batch"]) for body in bodies) <= 3
    # And eventlens stored each event once, in the key's project, with the SDK's uuid and as sent
    rows = stored(served, [user, anonymous], 6)
    assert len(rows) == 6, rows
    by_type = {row["event_type"]: row for row in rows}
    assert {name: by_type[name]["event_id"] for name in ids} == {name: str(uid) for name, uid in ids.items()}
    assert {row["project_id"] for row in rows} == {"default"} and {row["source"] for row in rows} == {
        "posthog"
    }
    clicked = by_type["clicked"]
    assert (clicked["user_id"], clicked["properties"]["button"], clicked["properties"]["n"]) == (
        user,
        "buy",
        2,
    )
    assert clicked["properties"]["$lib"] == "posthog-python"
    assert abs(clicked["ts"].replace(tzinfo=UTC) - when) < timedelta(seconds=2)
    assert by_type["$identify"]["properties"]["$anon_distinct_id"] == anonymous
    assert by_type["$identify"]["properties"]["$set"] == {"plan": "pro"}
    assert by_type["$set"]["properties"]["$set"] == {"email": "a@example.com"}
    assert by_type["$set_once"]["properties"]["$set_once"] == {"first_seen": "2026-01-01"}
    # PostHog's alias is sent as the previous id, naming the new one
    alias = by_type["$create_alias"]
    assert (alias["user_id"], alias["properties"]["alias"]) == (anonymous, user)
    group = by_type["$groupidentify"]["properties"]
    assert (group["$group_type"], group["$group_key"], group["$group_set"]) == (
        "company",
        "acme",
        {"name": "Acme"},
    )


def test_another_projects_key_stores_into_that_project_only(
    served: LocalRuntime, faithful: LossyProxy
) -> None:
    user = unique("ph-other")
    client, errors = _posthog(faithful.url, key=OTHER_WRITE_KEY)
    client.capture("opened", distinct_id=user)
    client.shutdown()
    assert [row["project_id"] for row in stored(served, [user], 1)] == [OTHER_PROJECT]


def test_a_wrong_key_is_refused_with_401_and_not_retried(served: LocalRuntime, faithful: LossyProxy) -> None:
    client, errors = _posthog(faithful.url, key=WRONG_KEY, max_retries=3)
    user = unique("ph-wrong")
    client.capture("clicked", distinct_id=user)
    client.shutdown()
    (error,) = errors
    assert isinstance(error, APIError) and error.status == 401 and "authorization" in error.message
    assert len(faithful.forwarded) == 1
    assert stored(served, [user], 0) == []


# --- the wire, as posthog-js and curl send it -------------------------------------------------------


def _post(
    runtime: LocalRuntime, path: str, raw: bytes, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    answer = send(
        runtime.port,
        "POST",
        path,
        raw,
        {"authorization": None, "content-type": "application/json", **(headers or {})},
    )
    return answer.status, answer.json() if answer.body else None


def _event(user: str, name: str = "$pageview", **fields: Any) -> dict[str, Any]:
    return {
        "event": name,
        "distinct_id": user,
        "properties": {"$current_url": "https://example.com"},
        **fields,
    }


@pytest.mark.parametrize(
    "path", ["/e/", "/e", "/capture/", "/capture", "/i/v0/e/", "/i/v0/e", "/track/", "/track", "/batch"]
)
def test_every_capture_path_takes_an_event_with_or_without_its_slash(served: LocalRuntime, path: str) -> None:
    user = unique("ph-path")
    status, answer = _post(served, path, orjson.dumps({**_event(user), "api_key": TEST_WRITE_KEY}))
    assert (status, answer["status"], answer["accepted"]) == (200, 1, 1), answer
    assert [row["event_type"] for row in stored(served, [user], 1)] == ["$pageview"]


def test_posthog_js_bodies_are_read_a_form_of_base64_and_unannounced_gzip(served: LocalRuntime) -> None:
    # Given posthog-js's bodies: events carrying the key in properties.token, as a base64 data= form
    # and as gzip sent as text/plain without Content-Encoding (compression=gzip-js)
    user = unique("ph-js")
    events = [
        {
            **_event(user, "a"),
            "uuid": "0b6f3f8e-3c1d-4c9a-9a57-5b1c2d3e4f60",
            "properties": {"token": TEST_WRITE_KEY},
        },
        {
            **_event(user, "b"),
            "uuid": "0b6f3f8e-3c1d-4c9a-9a57-5b1c2d3e4f61",
            "properties": {"token": TEST_WRITE_KEY},
        },
    ]
    form = "data=" + quote(base64.b64encode(orjson.dumps(events[:1])).decode())
    zipped = gzip.compress(orjson.dumps(events[1:]))
    # When they are posted
    answers = [
        _post(served, "/e/", form.encode(), {"content-type": "application/x-www-form-urlencoded"}),
        _post(served, "/e/?compression=gzip-js&_=1700000000000", zipped, {"content-type": "text/plain"}),
    ]
    # Then both are accepted, and the key is not kept among the properties
    assert [status for status, _ in answers] == [200, 200], answers
    rows = stored(served, [user], 2)
    assert sorted(row["event_type"] for row in rows) == ["a", "b"]
    assert all("token" not in row["properties"] for row in rows)


def test_offset_and_sent_at_correct_the_timestamp(served: LocalRuntime) -> None:
    now = datetime.now(UTC)
    user = unique("ph-time")
    device_now = now - timedelta(hours=2)  # a clock two hours behind
    body = {
        "api_key": TEST_WRITE_KEY,
        "sent_at": device_now.isoformat(),
        "batch": [
            _event(user, "skewed", timestamp=(device_now - timedelta(minutes=5)).isoformat()),
            _event(user, "offset", offset=60_000),
        ],
    }
    assert _post(served, "/batch/", orjson.dumps(body))[0] == 200
    times = {row["event_type"]: row["ts"].replace(tzinfo=UTC) for row in stored(served, [user], 2)}
    assert abs(times["skewed"] - (now - timedelta(minutes=5))) < timedelta(seconds=5)
    assert abs(times["offset"] - (now - timedelta(minutes=1))) < timedelta(seconds=5)


def test_a_resent_uuid_counts_once(served: LocalRuntime) -> None:
    user = unique("ph-resend")
    body = orjson.dumps(
        {"api_key": TEST_WRITE_KEY, "batch": [_event(user, uuid="0b6f3f8e-3c1d-4c9a-9a57-000000000001")]}
    )
    assert _post(served, "/batch/", body)[0] == 200
    assert _post(served, "/batch/", body)[0] == 200
    # (another project may use the same uuid: its events are its own)
    other = orjson.dumps(
        {"api_key": OTHER_WRITE_KEY, "batch": [_event(user, uuid="0b6f3f8e-3c1d-4c9a-9a57-000000000001")]}
    )
    assert _post(served, "/batch/", other)[0] == 200
    assert sorted(row["project_id"] for row in stored(served, [user], 2)) == ["default", OTHER_PROJECT]


@pytest.mark.parametrize(
    ("raw", "status", "attr"),
    [
        (b"{not json", 400, "body"),
        (b"", 401, "authorization"),
        (orjson.dumps({"api_key": TEST_WRITE_KEY, "batch": "x"}), 400, "batch"),
        (orjson.dumps({"api_key": TEST_WRITE_KEY, "batch": [{"event": "e"}]}), 400, "distinct_id"),
        (
            orjson.dumps({"api_key": WRONG_KEY, "batch": [{"event": "e", "distinct_id": "u"}]}),
            401,
            "authorization",
        ),
        (
            orjson.dumps(
                [
                    {"event": "e", "distinct_id": "u", "api_key": TEST_WRITE_KEY},
                    {"event": "e", "distinct_id": "u", "api_key": OTHER_WRITE_KEY},
                ]
            ),
            400,
            "api_key",
        ),
        (gzip.compress(b"x" * (6 * 1024 * 1024)), 413, "body"),
        (b"data=%%%", 400, "data"),
    ],
)
def test_bad_input_is_answered_in_posthogs_shape(
    served: LocalRuntime, raw: bytes, status: int, attr: str
) -> None:
    answer_status, answer = _post(served, "/batch/", raw)
    assert answer_status == status, answer
    assert set(answer) >= {"type", "code", "detail"} and answer["attr"] == attr, answer
    assert TEST_WRITE_KEY not in json.dumps(answer) and WRONG_KEY not in json.dumps(answer)
