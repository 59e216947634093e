#!/usr/bin/env python3
"""Readiness probe for a local Kafka broker (used by scripts/servers/kafka.sh).

Exits 0 once the broker at HOST:PORT answers a Metadata request that lists at
least one live broker, i.e. it is past KRaft startup and can serve clients.
Exits 1 if it is not ready by the deadline.

Standard library only, on purpose: it must work before (and without) the
project's virtualenv, and it must not depend on a Kafka client's own version
negotiation. It speaks just enough of the wire protocol:

  1. ApiVersions v0  -- every broker keeps v0 so that clients can negotiate;
                        it tells us which Metadata versions this broker accepts.
  2. Metadata v4..v7 -- non-flexible encodings with an identical request body.
                        Kafka 4.x dropped Metadata v0-v3 (KIP-896), so v4 is
                        the lowest we can count on.
"""

from __future__ import annotations

import argparse
import socket
import struct
import sys
import time

API_METADATA = 3
API_VERSIONS = 18
CLIENT_ID = b"eventlens-kafka-ready"
METADATA_MIN, METADATA_MAX = 4, 7


class ProbeError(Exception):
    pass


class _Reader:
    def __init__(self, buf: bytes) -> None:
        self.buf, self.pos = buf, 0

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buf):
            raise ProbeError("truncated response")
        (value,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return value

    def string(self) -> str | None:
        length = self.take(">h")
        if length < 0:
            return None
        raw = self.buf[self.pos : self.pos + length]
        self.pos += length
        return raw.decode("utf-8", "replace")


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = sock.recv(left)
        if not chunk:
            raise ProbeError("connection closed by broker")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _call(sock: socket.socket, api_key: int, version: int, corr: int, body: bytes) -> _Reader:
    # Request header v1: api_key, api_version, correlation_id, client_id.
    header = struct.pack(">hhih", api_key, version, corr, len(CLIENT_ID)) + CLIENT_ID
    payload = header + body
    sock.sendall(struct.pack(">i", len(payload)) + payload)
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    reader = _Reader(_recv_exact(sock, size))
    if reader.take(">i") != corr:  # response header v0: correlation_id
        raise ProbeError("correlation id mismatch")
    return reader


def probe(host: str, port: int, timeout: float) -> dict:
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)

        resp = _call(sock, API_VERSIONS, 0, 1, b"")
        error = resp.take(">h")
        if error:
            raise ProbeError(f"ApiVersions error code {error}")
        versions = {}
        for _ in range(resp.take(">i")):
            key, lo, hi = resp.take(">h"), resp.take(">h"), resp.take(">h")
            versions[key] = (lo, hi)
        if API_METADATA not in versions:
            raise ProbeError("broker does not advertise Metadata")
        lo, hi = versions[API_METADATA]
        version = min(hi, METADATA_MAX)
        if version < max(lo, METADATA_MIN):
            raise ProbeError(f"no usable Metadata version (broker supports v{lo}-v{hi})")

        # Body (v4-v7): topics = empty array (we only want the broker list),
        # allow_auto_topic_creation = false.
        resp = _call(sock, API_METADATA, version, 2, struct.pack(">ib", 0, 0))
        resp.take(">i")  # throttle_time_ms (v3+)
        brokers = []
        for _ in range(resp.take(">i")):
            node_id, host_, port_ = resp.take(">i"), resp.string(), resp.take(">i")
            resp.string()  # rack
            brokers.append((node_id, host_, port_))
        cluster_id = resp.string()
        controller_id = resp.take(">i")
        return {
            "metadata_version": version,
            "brokers": brokers,
            "cluster_id": cluster_id,
            "controller_id": controller_id,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=19092)
    parser.add_argument(
        "--wait", type=float, default=0.0, help="keep retrying for this many seconds (default: one attempt)"
    )
    parser.add_argument("--timeout", type=float, default=2.0, help="per-attempt socket timeout in seconds")
    parser.add_argument("--quiet", "-q", action="store_true")
    args = parser.parse_args(argv)

    deadline = time.monotonic() + args.wait
    last_error = "not attempted"
    while True:
        try:
            info = probe(args.host, args.port, args.timeout)
            if info["brokers"]:
                if not args.quiet:
                    print(
                        f"kafka ready at {args.host}:{args.port}: cluster_id={info['cluster_id']} "
                        f"controller_id={info['controller_id']} brokers={info['brokers']} "
                        f"(Metadata v{info['metadata_version']})"
                    )
                return 0
            last_error = "metadata lists no live brokers yet"
        except (OSError, ProbeError) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        if time.monotonic() >= deadline:
            break
        time.sleep(0.25)
    if not args.quiet:
        print(f"kafka not ready at {args.host}:{args.port}: {last_error}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
