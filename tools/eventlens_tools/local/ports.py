"""Free loopback ports for local servers (tests, benchmarks)."""

from __future__ import annotations

import socket


def free_port_pair() -> int:
    """A loopback port whose successor is free too (a Kafka broker takes PORT and PORT+1)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
        with socket.socket() as second:
            try:
                second.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no free pair of loopback ports")
