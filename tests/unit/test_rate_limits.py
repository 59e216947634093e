"""Rate limits hold across threads and processes sharing a store: never more than the limit pass."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from eventlens.errors import RateLimited
from eventlens.ratelimit import DynamoCounterStore, Limit, RateLimiter, SqliteCounterStore
from tests.conftest import moto_keys_table

NOW = 1_800_000_030.0  # 30 s into a minute


def _passes(limiter: RateLimiter, client: str, limit: Limit, now: float) -> bool:
    try:
        limiter.check(client, limit, now)
    except RateLimited:
        return False
    return True


@pytest.fixture(params=["sqlite", "dynamodb"])
def limiter(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RateLimiter]:
    if request.param == "sqlite":
        yield RateLimiter(SqliteCounterStore(tmp_path / "rate.sqlite3"))
        return
    with moto_keys_table() as client:
        yield RateLimiter(DynamoCounterStore("keys", client))


def test_the_limit_passes_and_the_next_request_is_429_until_the_window_ends(limiter: RateLimiter) -> None:
    limit = Limit(requests=5, window_s=60)
    # When six requests come within one minute from one client, and one from another client
    results = [_passes(limiter, "ip:10.0.0.1", limit, NOW + i) for i in range(6)]
    other = _passes(limiter, "ip:10.0.0.2", limit, NOW)
    # Then five pass, the sixth is refused with the seconds left in the window, the other client passes
    assert results == [True] * 5 + [False] and other
    with pytest.raises(RateLimited) as raised:
        limiter.check("ip:10.0.0.1", limit, NOW + 10)
    assert raised.value.retry_after == 20
    # And in the next window the client passes again
    assert _passes(limiter, "ip:10.0.0.1", limit, NOW + 60)


def test_parallel_threads_never_pass_more_than_the_limit(tmp_path: Path) -> None:
    # Given 16 threads, each with its own connection to one store, racing 400 requests
    path = tmp_path / "rate.sqlite3"
    limit = Limit(requests=137, window_s=3600)

    def one(_: int) -> bool:
        return _passes(RateLimiter(SqliteCounterStore(path)), "ip:1", limit, NOW)

    with ThreadPoolExecutor(max_workers=16) as pool:
        passed = sum(pool.map(one, range(400)))
    # Then exactly the limit passed
    assert passed == 137


CHILD = """
import sys
from pathlib import Path
from eventlens.errors import RateLimited
from eventlens.ratelimit import Limit, RateLimiter, SqliteCounterStore
limiter = RateLimiter(SqliteCounterStore(Path(sys.argv[1])))
passed = 0
for _ in range(100):
    try:
        limiter.check("ip:1", Limit(requests=150, window_s=3600), 1_800_000_030.0)
        passed += 1
    except RateLimited:
        pass
print(passed)
"""


def test_parallel_processes_never_pass_more_than_the_limit(tmp_path: Path) -> None:
    # Given four processes sending 100 requests each against a limit of 150
    path = tmp_path / "rate.sqlite3"
    SqliteCounterStore(path)
    children = [
        subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    passed = sum(int(child.communicate(timeout=120)[0]) for child in children)
    # Then exactly 150 passed in all
    assert passed == 150
