"""A small keep-alive JSON client for eventlens's own HTTP API (demo, bench, tests)."""

from __future__ import annotations

import http.client
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson


class EventlensClient:
    def __init__(self, base_url: str, timeout_s: float = 60.0, key: str | None = None) -> None:
        """``key`` is sent as ``Authorization: Bearer <key>`` on every request."""
        parts = urlsplit(base_url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._timeout = timeout_s
        self._connection: http.client.HTTPConnection | None = None
        self._auth = {"authorization": f"Bearer {key}"} if key else {}

    def post(self, path: str, body: Any, raw: bytes | None = None) -> tuple[int, Any]:
        payload = raw if raw is not None else orjson.dumps(body)
        return self._request("POST", path, payload)

    def get(self, path: str, **params: Any) -> tuple[int, Any]:
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return self._request("GET", f"{path}?{query}" if query else path, None)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _request(self, method: str, path: str, payload: bytes | None) -> tuple[int, Any]:
        for attempt in (1, 2):  # a kept-alive connection the server closed is reopened once
            connection = self._connection or http.client.HTTPConnection(
                self._host, self._port, timeout=self._timeout
            )
            self._connection = connection
            try:
                headers = {"content-type": "application/json"} if payload is not None else {}
                headers.update(self._auth)
                connection.request(method, path, body=payload, headers=headers)
                response = connection.getresponse()
                data = response.read()
            except (ConnectionError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
                continue
            content_type = response.getheader("content-type", "")
            return response.status, orjson.loads(data) if data and "json" in content_type else data
        raise AssertionError("unreachable")
