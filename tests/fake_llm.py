"""A fake OpenAI-compatible chat-completions server on a free local port, for the tests of the optional
language model (a third party's service: faked here, never our own code)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[dict[str, Any]], tuple[int, Any]]


@dataclass
class FakeChat:
    """What the fake server was asked, and how it replies (set by each test)."""

    url: str
    reply: Reply = lambda request: (500, {})  # noqa: E731
    asked: list[dict[str, Any]] = field(default_factory=list)


def completion(text: str) -> Reply:
    """A reply of one chat completion whose message is ``text``."""
    message = {"role": "assistant", "content": text}
    return lambda request: (200, {"choices": [{"index": 0, "message": message}]})


@contextmanager
def fake_chat_server() -> Iterator[FakeChat]:
    """The server, listening until the block ends: ``POST {url}/chat/completions`` answers ``reply``."""
    chat = FakeChat(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            request = json.loads(self.rfile.read(int(self.headers["content-length"])))
            key = self.headers.get("authorization")
            chat.asked.append({"path": self.path, "authorization": key, **request})
            status, body = chat.reply(request)
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except BrokenPipeError:  # the client gave up waiting (a too-slow reply)
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    chat.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield chat
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
