"""The analytics SDKs' wire formats, turned into eventlens event items.

Three protocols, as their SDKs send them (read from segment-analytics-python, rudder-sdk-python,
posthog-python and snowplow-tracker, and from the servers' documentation):

* Segment's HTTP Tracking API (Segment's, RudderStack's and Jitsu's SDKs): ``{"batch": [message…],
  "sentAt", "context"?, "writeKey"?}`` on ``/v1/batch``, one message on ``/v1/<call>``.
* PostHog's capture API: ``{"api_key", "batch": [event…], "sent_at"}`` on ``/batch/``, one event or a
  list on ``/e/``, ``/capture/``, ``/i/v0/e/``, ``/track/``; gzip, or a form field ``data=`` of base64
  JSON, as the browser SDK sends.
* Snowplow's tracker protocol: a ``payload_data`` self-describing JSON on
  ``/com.snowplowanalytics.snowplow/tp2``, one event as query parameters on ``/i``.

Each message becomes one item for ``events.validate_events``, or a ``Rejection`` naming the field as
the protocol names it, so a bad message never fails its neighbours:

========  ==========================  ==========================  ==========  =====================
protocol  user_id                     type                        event_id    timestamp
========  ==========================  ==========================  ==========  =====================
segment   userId, else anonymousId    track: event; page:         messageId   timestamp + (received
                                      $pageview; screen: $screen;             − sentAt)
                                      identify: $identify; group:
                                      $groupidentify; alias:
                                      $create_alias
posthog   distinct_id, $distinct_id,  event                       uuid        received − offset, or
          properties.distinct_id                                              timestamp + (received
                                                                              − sent_at)
snowplow  uid, else duid, else nuid   pv: $pageview; pp:          eid         ttm, or dtm +
                                      $page_ping; se: se_ac; ue:              (received − stm)
                                      its schema's name
========  ==========================  ==========================  ==========  =====================

The names of the calls that are not events of their own (page, identify, alias, group) are
PostHog's, which PostHog also gives Segment's calls: events of every SDK are counted together in a
project's reports, and identity stitching reads one vocabulary. ``properties`` are the event's own
(Segment's ``properties``, PostHog's ``properties``, a Snowplow self-describing event's data);
what the protocol says about the event is kept beside them under names starting with ``$``, so
stitching can use it later: ``$anonymous_id`` (Segment), ``$set`` (identify traits, PostHog's
``$set``), ``$set_once``, ``$group_id`` and ``$group_set`` (group), ``$previous_id`` (alias),
``$context`` (Segment's context), ``$message_id`` (a messageId that is not a UUID), and every field
of a Snowplow event under ``$`` + its name in Snowplow's canonical event model (``$page_url``,
``$domain_userid``, ``$se_category``, ``$contexts`` …). Segment's ``integrations`` (directions to
Segment's router) and the keys in bodies are not kept.

Clock skew: a device's clock may be wrong, so each protocol's correction is applied as its own
servers apply it (Segment's timestamp, PostHog's plugin server, Snowplow's derived_tstamp).
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import orjson

from eventlens.errors import BatchTooLarge, PayloadError
from eventlens.events import Rejection

Item = dict[str, Any]
Judged = Item | Rejection  # an item for validate_events, or why its message was refused already

# Segment's published limits (its SDKs batch to stay under them).
SEGMENT_MAX_BATCH_BYTES = 500 * 1024
SEGMENT_MAX_MESSAGE_BYTES = 32 * 1024
SEGMENT_CALLS = ("track", "identify", "page", "screen", "group", "alias")
_SEGMENT_TYPES = {
    "page": "$pageview",
    "screen": "$screen",
    "identify": "$identify",
    "group": "$groupidentify",
    "alias": "$create_alias",
}

# The envelope's field names as each protocol names them, for the rejections it is answered.
SEGMENT_FIELDS = {"user_id": "userId", "type": "event", "event_id": "messageId"}
POSTHOG_FIELDS = {"user_id": "distinct_id", "type": "event", "event_id": "uuid"}
SNOWPLOW_FIELDS = {"user_id": "uid", "type": "e", "event_id": "eid", "timestamp": "dtm"}

_GZIP_MAGIC = b"\x1f\x8b"


# --- bodies -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decoded:
    """A request body as JSON, and its size in bytes once decompressed."""

    json: Any
    size: int


def decompressed(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """The body as it was before compression (gzip by ``Content-Encoding`` or by its magic bytes, as
    PostHog's browser SDK sends it unannounced; deflate by ``Content-Encoding``), at most ``limit``
    bytes: ``BatchTooLarge`` past it, ``PayloadError`` for a stream that does not decompress."""
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("gzip", "x-gzip") or body[:2] == _GZIP_MAGIC:
        return _inflated(body, 16 + zlib.MAX_WBITS, "gzip", limit)
    if encoding == "deflate":
        return _inflated(body, zlib.MAX_WBITS, "deflate (zlib)", limit)
    if encoding not in ("", "identity"):
        raise PayloadError("content-encoding", f"{encoding!r} is not read here; send gzip, deflate or none")
    if len(body) > limit:
        raise BatchTooLarge("body", f"is {len(body)} bytes; the limit is {limit}")
    return body


def _inflated(body: bytes, wbits: int, name: str, limit: int) -> bytes:
    stream = zlib.decompressobj(wbits)
    try:
        inflated = stream.decompress(body, limit + 1)
    except zlib.error as exc:
        raise PayloadError("body", f"is not valid {name} ({exc})") from None
    if len(inflated) > limit:
        raise BatchTooLarge("body", f"is over {limit} bytes once decompressed")
    if not stream.eof:
        raise PayloadError("body", f"ends inside its {name} stream")
    return inflated


def json_body(text: bytes) -> Decoded:
    """The JSON of a (decompressed) body: ``PayloadError`` naming the body when it is not JSON."""
    if not text.strip():
        raise PayloadError("body", "is empty; send a JSON object")
    try:
        return Decoded(orjson.loads(text), len(text))
    except orjson.JSONDecodeError as exc:
        raise PayloadError("body", f"is not valid JSON ({exc})") from None


# --- Segment ----------------------------------------------------------------------------------------


def segment_body(body: bytes, content_encoding: str | None, batch: bool) -> Decoded:
    """A Segment request's JSON object: a batch of at most 500 KB, or one message of at most 32 KB."""
    limit = SEGMENT_MAX_BATCH_BYTES if batch else SEGMENT_MAX_MESSAGE_BYTES
    decoded = json_body(decompressed(body, content_encoding, limit))
    if not isinstance(decoded.json, dict):
        raise PayloadError("body", "must be a JSON object")
    return decoded


def segment_write_key(body: Decoded) -> str | None:
    """The ``writeKey`` of a Segment body (segment-analytics-python 2.x and analytics.js send it)."""
    key = body.json.get("writeKey") if isinstance(body.json, dict) else None
    return key if isinstance(key, str) and key else None


def segment_messages(decoded: Decoded, call: str | None, received_at: datetime) -> list[Judged]:
    """The messages of a Segment body as items: a batch (``call`` None) or one message of ``call``.

    A batch's ``context`` is each message's, under the message's own; its ``sentAt`` is each
    message's unless the message has its own."""
    body: dict[str, Any] = decoded.json
    if call is not None:
        messages: list[Any] = [body]
        shared: dict[str, Any] = {}
        sent_at = None
    else:
        messages = _list(body, "batch", "messages")
        context = body.get("context")
        shared = context if isinstance(context, dict) else {}
        sent_at = _moment(body.get("sentAt"))
    # A message's size is measured only when the whole body could hold one over the limit.
    check_sizes = call is None and decoded.size > SEGMENT_MAX_MESSAGE_BYTES
    return [
        _segment_item(index, message, call, sent_at, shared, received_at, check_sizes)
        for index, message in enumerate(messages)
    ]


def _segment_item(
    index: int,
    message: Any,
    call: str | None,
    batch_sent_at: datetime | None,
    shared_context: dict[str, Any],
    received_at: datetime,
    check_size: bool,
) -> Judged:
    if not isinstance(message, dict):
        return Rejection(index=index, field="message", reason="must be a JSON object")
    if check_size and len(orjson.dumps(message)) > SEGMENT_MAX_MESSAGE_BYTES:
        return Rejection(index=index, field="message", reason="is over Segment's 32 KB limit for a message")
    kind = call or message.get("type")
    if kind not in SEGMENT_CALLS:
        return Rejection(index=index, field="type", reason=f"must be one of {', '.join(SEGMENT_CALLS)}")
    try:
        user = _distinct(message.get("userId"), "userId")
        anonymous = _distinct(message.get("anonymousId"), "anonymousId")
        if user is None and kind == "alias":
            raise _Refusal("userId", "an alias call needs the userId its previousId merges into")
        if user is None and anonymous is None:
            raise _Refusal("userId", "a message needs a userId or an anonymousId")
        if kind == "track" and not message.get("event"):
            raise _Refusal("event", "a track call needs the event's name")
        properties = _segment_properties(kind, message)
    except _Refusal as refusal:
        return Rejection(index=index, field=refusal.field, reason=refusal.reason)
    if anonymous is not None:
        properties["$anonymous_id"] = anonymous
    context = message.get("context")
    if shared_context or isinstance(context, dict):
        properties["$context"] = {**shared_context, **(context if isinstance(context, dict) else {})}
    message_id = message.get("messageId")
    if isinstance(message_id, str) and not _is_uuid(message_id):
        properties["$message_id"] = message_id
    sent_at = _moment(message.get("sentAt")) or batch_sent_at
    timestamp = message.get("timestamp", message.get("originalTimestamp"))
    return {
        "event_id": message_id,
        "user_id": user if user is not None else anonymous,
        "type": message.get("event") if kind == "track" else _SEGMENT_TYPES[kind],
        "timestamp": _skew_corrected(timestamp, sent_at, received_at),
        "properties": properties,
        "source": "segment",
    }


def _segment_properties(kind: str, message: dict[str, Any]) -> dict[str, Any]:
    """The properties of a Segment message of ``kind`` (its own, then what the call says)."""
    if kind in ("track", "page", "screen"):
        properties = dict(_object(message, "properties"))
        for field in ("name", "category") if kind != "track" else ():
            if message.get(field) is not None:
                properties[f"${field}"] = message[field]
        return properties
    if kind == "identify":
        traits = _object(message, "traits")
        return {"$set": traits} if traits else {}
    if kind == "group":
        group = _distinct(message.get("groupId"), "groupId")
        if group is None:
            raise _Refusal("groupId", "a group call needs a groupId")
        traits = _object(message, "traits")
        return {"$group_id": group, **({"$group_set": traits} if traits else {})}
    previous = _distinct(message.get("previousId"), "previousId")  # alias
    if previous is None:
        raise _Refusal("previousId", "an alias call needs the previousId it merges into the userId")
    return {"$previous_id": previous}


# --- PostHog ----------------------------------------------------------------------------------------


def posthog_body(
    body: bytes, content_type: str, content_encoding: str | None, query: Mapping[str, str], limit: int
) -> Decoded:
    """A PostHog capture request's JSON: gzip (announced or not), or the form field ``data=`` of
    base64 JSON (posthog-js's ``compression=base64``); at most ``limit`` bytes once decoded."""
    if query.get("compression") == "lz64":
        raise PayloadError("compression", "lz64 is not read here; send gzip (gzip-js), base64 or none")
    decoded = decompressed(body, content_encoding, limit)
    if "x-www-form-urlencoded" in content_type.lower() or decoded.startswith(b"data="):
        decoded = decompressed(_form_data(decoded), None, limit)
    return json_body(decoded)


def _form_data(body: bytes) -> bytes:
    try:
        fields = parse_qs(body.decode("ascii"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        raise PayloadError("body", "is not a URL-encoded form") from None
    data = fields.get("data")
    if not data:
        raise PayloadError("data", "the form must carry the events in its data field")
    text = data[0].replace(" ", "+")  # a '+' of base64 that was not URL-encoded arrives as a space
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise PayloadError("data", "is not base64") from None


def posthog_key(decoded: Decoded) -> str | None:
    """The project key of a PostHog body: ``api_key`` or ``token`` beside the batch, else each
    event's ``api_key``, ``token`` or ``properties.token`` (posthog-js); events naming different
    keys are refused (``PayloadError``), as PostHog's capture refuses them."""
    body = decoded.json
    if isinstance(body, dict):
        for field in ("api_key", "token"):
            if isinstance(body.get(field), str) and body[field]:
                return str(body[field])
    keys = {key for event in _posthog_list(body) if (key := _event_key(event)) is not None}
    if len(keys) > 1:
        raise PayloadError(
            "api_key", "the events carry different project keys; send one project's per request"
        )
    return keys.pop() if keys else None


def _event_key(event: Any) -> str | None:
    if not isinstance(event, dict):
        return None
    properties = event.get("properties")
    for value in (
        event.get("api_key"),
        event.get("token"),
        properties.get("token") if isinstance(properties, dict) else None,
    ):
        if isinstance(value, str) and value:
            return value
    return None


def posthog_events(decoded: Decoded, received_at: datetime, query_sent_at: str | None = None) -> list[Judged]:
    """The events of a PostHog body as items: ``{"batch": […]}``, one event, or a list of events.

    ``query_sent_at`` is posthog-js's ``?_=<ms>``, its sent_at when the body has none."""
    key = posthog_key(decoded)
    body = decoded.json
    sent_at = _moment(body.get("sent_at")) if isinstance(body, dict) else None
    if sent_at is None and query_sent_at:
        sent_at = _epoch_ms(query_sent_at)
    events = _posthog_list(body)
    if not events:
        raise PayloadError("batch", "must hold at least one event")
    return [_posthog_item(index, event, key, sent_at, received_at) for index, event in enumerate(events)]


def _posthog_list(body: Any) -> list[Any]:
    if isinstance(body, list):
        return body
    if isinstance(body, dict) and "batch" in body:
        batch = body["batch"]
        if not isinstance(batch, list):
            raise PayloadError("batch", "must be a list of events")
        return batch
    if isinstance(body, dict):
        return [body]
    raise PayloadError("body", 'must be an event, a list of events or {"batch": [...]}')


def _posthog_item(
    index: int, event: Any, key: str | None, sent_at: datetime | None, received_at: datetime
) -> Judged:
    if not isinstance(event, dict):
        return Rejection(index=index, field="event", reason="must be a JSON object")
    try:
        properties = dict(_object(event, "properties"))
        distinct = _distinct(
            _first_given(event.get("distinct_id"), event.get("$distinct_id"), properties.get("distinct_id")),
            "distinct_id",
        )
        if distinct is None:
            raise _Refusal("distinct_id", "an event needs a distinct_id")
        if not event.get("event"):
            raise _Refusal("event", "an event needs its name")
        timestamp = _posthog_time(event, None if properties.get("$ignore_sent_at") else sent_at, received_at)
    except _Refusal as refusal:
        return Rejection(index=index, field=refusal.field, reason=refusal.reason)
    for field in ("$set", "$set_once"):
        if isinstance(event.get(field), dict):
            inner = properties.get(field)
            properties[field] = {**(inner if isinstance(inner, dict) else {}), **event[field]}
    if key is not None and properties.get("token") == key:
        del properties["token"]  # the project key posthog-js repeats in every event
    return {
        "event_id": event.get("uuid"),
        "user_id": distinct,
        "type": event["event"],
        "timestamp": timestamp,
        "properties": properties,
        "source": "posthog",
    }


def _posthog_time(event: dict[str, Any], sent_at: datetime | None, received_at: datetime) -> Any:
    """As PostHog's plugin server: ``offset`` ms before receipt; else the timestamp corrected by the
    sender's clock skew (received − sent_at); else the timestamp as sent; else the receipt."""
    offset = event.get("offset")
    if isinstance(offset, int | float) and not isinstance(offset, bool):
        try:
            return received_at - timedelta(milliseconds=offset)
        except OverflowError:
            raise _Refusal("offset", "is out of range") from None
    return _skew_corrected(event.get("timestamp"), sent_at, received_at)


# --- Snowplow ---------------------------------------------------------------------------------------

PAYLOAD_DATA_SCHEMA = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-"
_IGLU = re.compile(r"^iglu:[A-Za-z0-9_.-]+/(?P<name>[A-Za-z0-9_-]+)/jsonschema/\d+-\d+-\d+$")
# Tracker protocol fields → their names in Snowplow's canonical event model (kept as $<name>).
SNOWPLOW_NAMES = {
    "tv": "v_tracker",
    "tna": "name_tracker",
    "aid": "app_id",
    "p": "platform",
    "url": "page_url",
    "page": "page_title",
    "refr": "page_referrer",
    "ip": "user_ipaddress",
    "ua": "useragent",
    "lang": "br_lang",
    "tz": "os_timezone",
    "cd": "br_colordepth",
    "duid": "domain_userid",
    "nuid": "network_userid",
    "tnuid": "network_userid",
    "sid": "domain_sessionid",
    "vid": "domain_sessionidx",
    "se_ca": "se_category",
    "se_ac": "se_action",
    "se_la": "se_label",
    "se_pr": "se_property",
    "se_va": "se_value",
    "pp_mix": "pp_xoffset_min",
    "pp_max": "pp_xoffset_max",
    "pp_miy": "pp_yoffset_min",
    "pp_may": "pp_yoffset_max",
    "dtm": "dvce_created_tstamp",
    "stm": "dvce_sent_tstamp",
    "ttm": "true_tstamp",
}
_SNOWPLOW_INTEGERS = {"vid", "pp_mix", "pp_max", "pp_miy", "pp_may", "dtm", "stm", "ttm"}
_SNOWPLOW_TYPES = {"pv": "$pageview", "pp": "$page_ping", "tr": "transaction", "ti": "transaction_item"}
_SNOWPLOW_CONSUMED = {"e", "eid", "uid", "ue_pr", "ue_px", "cx", "co"}  # uid: the user_id


def snowplow_events(decoded: Decoded, received_at: datetime) -> list[Judged]:
    """The events of a Snowplow POST body (``payload_data``) as items."""
    body = decoded.json
    if not isinstance(body, dict):
        raise PayloadError("body", "must be a payload_data self-describing JSON object")
    schema = body.get("schema")
    if not isinstance(schema, str) or not schema.startswith(PAYLOAD_DATA_SCHEMA):
        raise PayloadError("schema", f"must be {PAYLOAD_DATA_SCHEMA}<minor>-<patch>")
    events = _list(body, "data", "events")
    return [_snowplow_item(index, fields, received_at) for index, fields in enumerate(events)]


def snowplow_query_event(query: Mapping[str, str], received_at: datetime) -> list[Judged]:
    """The one event of a Snowplow GET ``/i`` (its query parameters) as an item."""
    if not query:
        raise PayloadError("query", "holds no event: send the tracker protocol's fields (e, eid, …)")
    return [_snowplow_item(0, dict(query), received_at)]


def _snowplow_item(index: int, fields: Any, received_at: datetime) -> Judged:
    if not isinstance(fields, dict):
        return Rejection(index=index, field="data", reason="each event must be a JSON object")
    try:
        values = {name: _protocol_text(name, value) for name, value in fields.items() if value is not None}
        event_type, properties = _snowplow_event(values)
        for name, value in values.items():
            if name not in _SNOWPLOW_CONSUMED:
                properties[f"${SNOWPLOW_NAMES.get(name, name)}"] = _snowplow_value(name, value)
        contexts = _self_describing(values, "cx", "co")
        if contexts is not None:
            if not isinstance(contexts.get("data"), list):
                raise _Refusal("cx" if "cx" in values else "co", "contexts must be {schema, data: [...]}")
            properties["$contexts"] = contexts["data"]
        timestamp = _snowplow_time(values, received_at)
        user = _first_given(values.get("uid"), values.get("duid"), values.get("nuid"), values.get("tnuid"))
        if user is None:
            raise _Refusal("uid", "an event needs a uid, a duid or a nuid")
    except _Refusal as refusal:
        return Rejection(index=index, field=refusal.field, reason=refusal.reason)
    return {
        "event_id": values.get("eid"),
        "user_id": user,
        "type": event_type,
        "timestamp": timestamp,
        "properties": properties,
        "source": "snowplow",
    }


def _snowplow_event(values: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """The type of a Snowplow event and its own properties (a self-describing event's data)."""
    kind = values.get("e")
    if kind in _SNOWPLOW_TYPES:
        return _SNOWPLOW_TYPES[kind], {}
    if kind == "se":
        if not values.get("se_ac"):
            raise _Refusal("se_ac", "a structured event needs an action")
        return values["se_ac"], {}
    if kind == "ue":
        envelope = _self_describing(values, "ue_px", "ue_pr")
        inner = envelope.get("data") if envelope is not None else None
        if not isinstance(inner, dict) or not isinstance(inner.get("data"), dict):
            raise _Refusal("ue_pr", "a self-describing event needs {schema, data: {schema, data: {…}}}")
        schema = inner.get("schema")
        match = _IGLU.match(schema) if isinstance(schema, str) else None
        if match is None:
            raise _Refusal(
                "ue_pr", "its event's schema must be an Iglu URI: iglu:vendor/name/jsonschema/1-0-0"
            )
        return match["name"], {**inner["data"], "$schema": schema}
    raise _Refusal("e", "must be pv, pp, se, ue, tr or ti")


def _self_describing(values: dict[str, str], encoded: str, plain: str) -> dict[str, Any] | None:
    """The self-describing JSON of a field sent base64url-encoded (``encoded``) or as JSON text."""
    if encoded in values:
        text = values[encoded].replace("+", "-").replace("/", "_")
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            raise _Refusal(encoded, "is not base64") from None
        name = encoded
    elif plain in values:
        raw, name = values[plain].encode(), plain
    else:
        return None
    try:
        decoded = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise _Refusal(name, "is not JSON") from None
    if not isinstance(decoded, dict):
        raise _Refusal(name, "must be a self-describing JSON object")
    return decoded


def _snowplow_value(name: str, value: str) -> Any:
    try:
        if name in _SNOWPLOW_INTEGERS:
            return int(value)
        if name == "se_va":
            number = float(value)
            if number != number or number in (float("inf"), float("-inf")):
                raise ValueError
            return number
    except ValueError:
        raise _Refusal(name, "must be a number") from None
    return value


def _snowplow_time(values: dict[str, str], received_at: datetime) -> Any:
    """Snowplow's derived timestamp: the true timestamp if sent, else the device's creation time
    corrected by its clock skew (received − sent), else the creation time, else the receipt."""
    for field in ("ttm", "dtm", "stm"):
        if field in values and _epoch_ms(values[field]) is None:
            raise _Refusal(field, "must be milliseconds since the epoch")
    if "ttm" in values:
        return _epoch_ms(values["ttm"])
    created = _epoch_ms(values["dtm"]) if "dtm" in values else None
    sent = _epoch_ms(values["stm"]) if "stm" in values else None
    if created is None:
        return None
    return _shifted(created, received_at - sent) if sent is not None else created


def _protocol_text(name: str, value: Any) -> str:
    """A tracker protocol value as text (the Python tracker sends text, others numbers too)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    raise _Refusal(name, "must be text or a number")


# --- shared -----------------------------------------------------------------------------------------


class _Refusal(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _list(body: dict[str, Any], field: str, what: str) -> list[Any]:
    items = body.get(field)
    if not isinstance(items, list):
        raise PayloadError(field, f"must be a list of {what}")
    if not items:
        raise PayloadError(field, f"must hold at least one of its {what}")
    return items


def _object(message: dict[str, Any], field: str) -> dict[str, Any]:
    value = message.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Refusal(field, "must be a JSON object")
    return value


def _distinct(value: Any, field: str) -> str | None:
    """An id as text (SDKs take numbers too, and send them as numbers or text); None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise _Refusal(field, "must be text or a number")


def _first_given(*values: Any) -> Any:
    return next((value for value in values if value is not None and value != ""), None)


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _is_uuid(text: str) -> bool:
    if _CANONICAL_UUID.fullmatch(text):  # what SDKs send: no need for uuid.UUID's slower parse
        return True
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _moment(value: Any) -> datetime | None:
    """An ISO-8601 moment (UTC when it names no zone), None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _epoch_ms(value: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _shifted(moment: datetime, skew: timedelta) -> datetime:
    try:
        return moment + skew
    except OverflowError:
        return moment  # past the representable dates either way: validation names it


def _skew_corrected(timestamp: Any, sent_at: datetime | None, received_at: datetime) -> Any:
    """The device's ``timestamp`` corrected by its clock's skew, ``received_at − sent_at`` (both of
    the device's clock); a timestamp that is not ISO-8601 is passed on for validation to name."""
    moment = _moment(timestamp)
    if moment is None or sent_at is None:
        return moment if moment is not None else timestamp
    return _shifted(moment, received_at - sent_at)
