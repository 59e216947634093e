"""Real HTTP requests → API Gateway HTTP API (payload format 2.0) events, and responses back."""

from __future__ import annotations

import base64
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from eventlens.manifest import HttpRoute


def routed_path(raw_path: str) -> str | None:
    """The path API Gateway matches routes against: the raw path percent-decoded once (so ``%2F``
    separates segments, and no route takes it), None when that is not UTF-8. ``rawPath`` keeps the
    path as sent; ``pathParameters`` are the decoded path's segments."""
    try:
        return unquote(raw_path, errors="strict")
    except UnicodeDecodeError:
        return None


def http_api_event(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    route: HttpRoute,
    path_parameters: dict[str, str],
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """The event API Gateway would hand the function for this request; ``path_parameters`` decoded
    (``routed_path``), ``raw_path`` as sent."""
    joined_headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        name = name.lower()
        if name == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        joined_headers[name] = f"{joined_headers[name]},{value}" if name in joined_headers else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        # HTTP API joins repeated query parameters with commas.
        query[name] = f"{query[name]},{value}" if name in query else value
    now = datetime.now(UTC)
    text_body, is_base64 = _body(body, joined_headers.get("content-type", ""))
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{route.method} {route.path}",
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": joined_headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": joined_headers.get("host", "localhost"),
            "domainPrefix": "localhost",
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": joined_headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{route.method} {route.path}",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": is_base64,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body:
        event["body"] = text_body
    return event


def _body(body: bytes, content_type: str) -> tuple[str, bool]:
    textual = not content_type or any(t in content_type for t in ("json", "text", "xml", "form-urlencoded"))
    if textual:
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode(), True


def http_response(result: Any) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a function's answer, read as API Gateway reads payload 2.0."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # HTTP API infers a 200 JSON answer from any other return value.
        import orjson

        return 200, {"content-type": "application/json"}, orjson.dumps(result)
    headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name.lower()] = ",".join(str(v) for v in values)
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    return int(result["statusCode"]), headers, raw
