"""The SDKs' wire formats read into event items, message by message (eventlens.sdk_formats)."""

from __future__ import annotations

import base64
import gzip
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from eventlens import sdk_formats
from eventlens.errors import BatchTooLarge, PayloadError
from eventlens.events import Rejection
from eventlens.sdk_formats import Decoded

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _decoded(body: Any) -> Decoded:
    return Decoded(body, len(orjson.dumps(body)))


def _one(judged: list[sdk_formats.Judged]) -> dict[str, Any]:
    (item,) = judged
    assert not isinstance(item, Rejection), item
    return item


# --- bodies -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "encoding"),
    [
        (gzip.compress(b'{"a": 1}'), "gzip"),
        (gzip.compress(b'{"a": 1}'), None),  # unannounced: by its magic bytes
        (zlib.compress(b'{"a": 1}'), "deflate"),
        (b'{"a": 1}', "identity"),
    ],
)
def test_a_body_is_decompressed_by_its_encoding_or_its_magic_bytes(body: bytes, encoding: str | None) -> None:
    assert sdk_formats.json_body(sdk_formats.decompressed(body, encoding, 1024)).json == {"a": 1}


def test_a_gzip_stream_inflating_past_the_limit_is_too_large_without_inflating_it_all() -> None:
    bomb = gzip.compress(b"0" * 50_000_000)
    with pytest.raises(BatchTooLarge):
        sdk_formats.decompressed(bomb, "gzip", 1024 * 1024)


@pytest.mark.parametrize(
    ("body", "encoding", "field"),
    [
        (b"plain", "gzip", "body"),
        (gzip.compress(b"{}")[:-6], "gzip", "body"),  # cut short
        (b"{}", "br", "content-encoding"),
    ],
)
def test_a_body_that_does_not_decompress_is_named(body: bytes, encoding: str, field: str) -> None:
    with pytest.raises(PayloadError) as refused:
        sdk_formats.decompressed(body, encoding, 1024)
    assert refused.value.field == field


# --- Segment ----------------------------------------------------------------------------------------


def test_a_segment_batch_shares_its_context_and_sent_at_and_a_message_its_own_wins() -> None:
    body = {
        "batch": [
            {
                "type": "track",
                "userId": 7,
                "event": "e",
                "timestamp": "2026-11-20T10:00:00Z",
                "context": {"ip": "1"},
            },
            {
                "type": "track",
                "userId": "u",
                "event": "e",
                "timestamp": "2026-11-20T10:00:00Z",
                "sentAt": "2026-11-20T11:59:00Z",
            },
        ],
        "context": {"ip": "0", "app": "a"},
        "sentAt": "2026-11-20T11:00:00Z",
    }
    first, second = sdk_formats.segment_messages(_decoded(body), None, NOW)
    assert isinstance(first, dict) and isinstance(second, dict)
    assert first["user_id"] == "7" and first["properties"]["$context"] == {"ip": "1", "app": "a"}
    assert first["timestamp"] == datetime(2026, 11, 20, 11, 0, tzinfo=UTC)  # an hour's skew
    assert second["timestamp"] == datetime(2026, 11, 20, 10, 1, tzinfo=UTC)  # a minute's


def test_a_segment_message_without_a_timestamp_is_left_to_the_receipt_and_a_bad_one_to_validation() -> None:
    assert (
        _one(sdk_formats.segment_messages(_decoded({"userId": "u", "event": "e"}), "track", NOW))["timestamp"]
        is None
    )
    bad = _one(
        sdk_formats.segment_messages(
            _decoded({"userId": "u", "event": "e", "timestamp": "soon"}), "track", NOW
        )
    )
    assert bad["timestamp"] == "soon"
    original = {"userId": "u", "event": "e", "originalTimestamp": "2026-11-20T09:00:00"}
    assert _one(sdk_formats.segment_messages(_decoded(original), "track", NOW))["timestamp"] == datetime(
        2026, 11, 20, 9, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"type": "track", "userId": "u"}, "event"),
        ({"type": "track", "event": "e"}, "userId"),
        ({"type": "track", "userId": {"id": 1}, "event": "e"}, "userId"),
        ({"type": "track", "userId": "u", "event": "e", "properties": [1]}, "properties"),
        ({"type": "group", "userId": "u"}, "groupId"),
        ({"type": "alias", "userId": "u"}, "previousId"),
        ({"type": "alias", "anonymousId": "a", "previousId": "p"}, "userId"),
        ({"type": "identify", "userId": "u", "traits": "pro"}, "traits"),
        ({"type": "send", "userId": "u"}, "type"),
        ("track", "message"),
    ],
)
def test_a_segment_message_missing_what_its_call_needs_is_rejected_naming_the_field(
    message: Any, field: str
) -> None:
    (refused,) = sdk_formats.segment_messages(_decoded({"batch": [message]}), None, NOW)
    assert isinstance(refused, Rejection) and (refused.index, refused.field) == (0, field)


def test_a_segment_message_id_that_is_not_a_uuid_is_kept_beside_the_derived_id() -> None:
    item = _one(
        sdk_formats.segment_messages(
            _decoded({"userId": "u", "event": "e", "messageId": "ajs-1"}), "track", NOW
        )
    )
    assert (item["event_id"], item["properties"]["$message_id"]) == ("ajs-1", "ajs-1")
    uuid_id = "0B6F3F8E-3C1D-4C9A-9A57-5B1C2D3E4F50"
    item = _one(
        sdk_formats.segment_messages(
            _decoded({"userId": "u", "event": "e", "messageId": uuid_id}), "track", NOW
        )
    )
    assert "$message_id" not in item["properties"]


# --- PostHog ----------------------------------------------------------------------------------------


def test_posthog_reads_the_distinct_id_where_each_sdk_puts_it() -> None:
    events = [
        {"event": "a", "distinct_id": 42},
        {"event": "b", "$distinct_id": "d"},
        {"event": "c", "properties": {"distinct_id": "p"}},
    ]
    items = sdk_formats.posthog_events(_decoded(events), NOW)
    assert [item["user_id"] for item in items if isinstance(item, dict)] == ["42", "d", "p"]


def test_posthog_top_level_set_joins_the_properties_set() -> None:
    event = {
        "event": "$identify",
        "distinct_id": "u",
        "$set": {"a": 1},
        "properties": {"$set": {"a": 0, "b": 2}},
    }
    assert _one(sdk_formats.posthog_events(_decoded(event), NOW))["properties"]["$set"] == {"a": 1, "b": 2}


def test_posthog_times_offset_then_skew_unless_ignored() -> None:
    sent = {"sent_at": "2026-11-20T11:00:00Z"}  # an hour behind
    events = [
        {"event": "o", "distinct_id": "u", "offset": 1500, "timestamp": "2020-01-01T00:00:00Z"},
        {"event": "s", "distinct_id": "u", "timestamp": "2026-11-20T10:00:00Z"},
        {
            "event": "i",
            "distinct_id": "u",
            "timestamp": "2026-11-20T10:00:00Z",
            "properties": {"$ignore_sent_at": True},
        },
    ]
    items = sdk_formats.posthog_events(_decoded({**sent, "batch": events}), NOW)
    assert [item["timestamp"] for item in items if isinstance(item, dict)] == [
        NOW - timedelta(milliseconds=1500),
        datetime(2026, 11, 20, 11, tzinfo=UTC),
        datetime(2026, 11, 20, 10, tzinfo=UTC),
    ]
    # posthog-js's sent_at is its ?_=<ms>
    (item,) = sdk_formats.posthog_events(
        _decoded(events[1]), NOW, str(int((NOW - timedelta(hours=1)).timestamp() * 1000))
    )
    assert isinstance(item, dict) and item["timestamp"] == datetime(2026, 11, 20, 11, tzinfo=UTC)


def test_posthog_form_and_its_plus_signs_turned_spaces() -> None:
    events = [{"event": "a?>", "distinct_id": "u~~"}]  # base64 with + and / in it
    text = base64.b64encode(orjson.dumps(events)).decode()
    assert "+" in text or "/" in text
    body = f"data={text.replace('+', ' ')}".encode()
    decoded = sdk_formats.posthog_body(body, "application/x-www-form-urlencoded", None, {}, 1024)
    assert decoded.json == events


def test_posthog_lz64_is_refused_naming_the_compression() -> None:
    with pytest.raises(PayloadError) as refused:
        sdk_formats.posthog_body(b"x", "text/plain", None, {"compression": "lz64"}, 1024)
    assert refused.value.field == "compression"


# --- Snowplow ---------------------------------------------------------------------------------------

PAYLOAD = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4"


def _snowplow(*events: dict[str, Any]) -> list[sdk_formats.Judged]:
    return sdk_formats.snowplow_events(_decoded({"schema": PAYLOAD, "data": list(events)}), NOW)


def test_snowplow_derives_the_time_as_its_enrichment_does() -> None:
    ms = int(NOW.timestamp() * 1000)
    true_time, skewed, plain, none = _snowplow(
        {"e": "pv", "uid": "u", "ttm": str(ms - 5000), "dtm": "1", "stm": "2"},
        {"e": "pv", "uid": "u", "dtm": str(ms - 3_600_000 - 60_000), "stm": str(ms - 3_600_000)},
        {"e": "pv", "uid": "u", "dtm": str(ms - 60_000)},
        {"e": "pv", "uid": "u"},
    )
    assert [item["timestamp"] for item in (true_time, skewed, plain, none) if isinstance(item, dict)] == [
        NOW - timedelta(seconds=5),
        NOW - timedelta(minutes=1),
        NOW - timedelta(minutes=1),
        None,
    ]


def test_snowplow_reads_base64url_without_padding_and_keeps_fields_by_their_canonical_names() -> None:
    unstruct = {"schema": "s", "data": {"schema": "iglu:com.acme/play/jsonschema/2-0-0", "data": {"x": 1}}}
    encoded = base64.urlsafe_b64encode(orjson.dumps(unstruct)).decode().rstrip("=")
    item = _one(_snowplow({"e": "ue", "duid": "d", "ue_px": encoded, "vid": "3", "aid": "app", "res": "1x1"}))
    assert item["type"] == "play" and item["user_id"] == "d"
    assert item["properties"] == {
        "x": 1,
        "$schema": "iglu:com.acme/play/jsonschema/2-0-0",
        "$domain_userid": "d",
        "$domain_sessionidx": 3,
        "$app_id": "app",
        "$res": "1x1",
    }


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"e": "ue", "uid": "u", "ue_pr": "{"}, "ue_pr"),
        ({"e": "ue", "uid": "u", "ue_px": "!!"}, "ue_px"),
        ({"e": "ue", "uid": "u", "ue_pr": '{"data": {"schema": "not-iglu", "data": {}}}'}, "ue_pr"),
        ({"e": "se", "uid": "u", "se_ca": "c"}, "se_ac"),
        ({"e": "se", "uid": "u", "se_ac": "a", "se_va": "many"}, "se_va"),
        ({"e": "pv", "uid": "u", "cx": "e30"}, "cx"),  # {}: no contexts in it
        ({"e": "pv", "uid": ["u"]}, "uid"),
        ({"e": "pv", "uid": "u", "stm": "later"}, "stm"),
    ],
)
def test_a_snowplow_event_with_a_bad_field_is_rejected_naming_it(event: dict[str, Any], field: str) -> None:
    (judged,) = _snowplow(event)
    assert isinstance(judged, Rejection) and judged.field == field, judged
