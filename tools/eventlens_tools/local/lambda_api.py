"""The Lambda Invoke API on this machine, so Step Functions Task states reach our real handlers.

moto's Step Functions executor calls Lambda through boto3; with
``AWS_ENDPOINT_URL_LAMBDA=<this server's url>`` those calls arrive here as
``POST /2015-03-31/functions/{name or URL-encoded ARN}/invocations`` and are answered by the
manifest's function of that name, loaded through ``local.invoke.LocalFunction`` (one warm container
each). A handler that raises answers as Lambda does: status 200, ``X-Amz-Function-Error: Unhandled``
and ``{"errorType", "errorMessage", "stackTrace"}``, which the state machine's Retry and Catch match
by ``errorType``.
"""

from __future__ import annotations

import json
import re
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from eventlens.components import Components
from eventlens.manifest import Function
from eventlens.observability import logger
from eventlens_tools.local.invoke import LocalFunction

_INVOKE = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")


def function_name(path_part: str) -> str:
    """``export``, ``export:LIVE`` or ``arn:aws:lambda:…:function:export[:qualifier]`` → ``export``."""
    name = unquote(path_part)
    if name.startswith("arn:"):
        return name.split(":")[6]
    return name.split(":", 1)[0]


class LambdaApiServer:
    """The manifest's functions behind a local Lambda Invoke endpoint."""

    def __init__(
        self,
        functions: dict[str, Function],
        parts: Components | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """``parts``: the ``Components`` every function is handed (each its own when None)."""
        self.functions = {name: LocalFunction(fn, parts=parts) for name, fn in functions.items()}
        self._host = host
        self.invocations: list[tuple[str, str]] = []  # (function, "ok" | error type), in order
        self._server = ThreadingHTTPServer((host, port), _handler_class(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._server.server_address[1]}"

    def start(self) -> LambdaApiServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="lambda-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> LambdaApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def invoke(self, name: str, payload: bytes) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body of Lambda's answer to one synchronous invocation."""
        function = self.functions.get(name)
        if function is None:
            body = {"Type": "User", "Message": f"Function not found: {name}"}
            return 404, {"x-amzn-ErrorType": "ResourceNotFoundException"}, json.dumps(body).encode()
        event = json.loads(payload) if payload.strip() else {}
        try:
            result = function.invoke(event)
        except Exception as exc:  # noqa: BLE001 - reported to the caller as Lambda reports it
            logger.warning("function failed", extra={"function": name, "error": type(exc).__name__})
            self.invocations.append((name, type(exc).__name__))
            error = {
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "stackTrace": traceback.format_tb(exc.__traceback__),
            }
            return 200, {"X-Amz-Function-Error": "Unhandled"}, json.dumps(error).encode()
        self.invocations.append((name, "ok"))
        return 200, {"X-Amz-Executed-Version": "$LATEST"}, json.dumps(result, default=str).encode()


def _handler_class(api: LambdaApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            length = int(self.headers.get("content-length") or 0)
            payload = self.rfile.read(length) if length else b""
            match = _INVOKE.match(self.path.split("?", 1)[0])
            if match is None:
                self._answer(404, {"x-amzn-ErrorType": "UnknownOperationException"}, b'{"Type":"User"}')
                return
            self._answer(*api.invoke(function_name(match["name"]), payload))

        def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
            pass

    return Handler
