"""A real PostgreSQL holding the Reports Backend's two source databases, CRM and Telemetry, with
generated rows.

The server is the one scripts/test.sh started (``EVENTLENS_TEST_POSTGRES``), or one started here by
scripts/servers/postgres.sh. Each test gets its own pair of databases, dropped afterwards.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest

from tests.conftest import server_script

# The Reports Backend's schemas (reports_api/import_olap_data.py reads these tables and columns).
CRM_SCHEMA = """
CREATE TABLE users (
    user_id         INTEGER PRIMARY KEY,
    user_uuid       UUID NOT NULL,
    name            TEXT NOT NULL,
    email           TEXT NOT NULL,
    age             INTEGER,
    gender          TEXT,
    country         TEXT,
    address         TEXT,
    phone           TEXT,
    registration_ts TIMESTAMP NOT NULL,
    registered_at   TIMESTAMP NOT NULL DEFAULT now()
)
"""
TELEMETRY_SCHEMA = """
CREATE TABLE telemetry_events (
    id               BIGSERIAL PRIMARY KEY,
    user_id          INTEGER NOT NULL,
    prosthesis_type  TEXT NOT NULL,
    muscle_group     TEXT NOT NULL,
    signal_frequency INTEGER NOT NULL,
    signal_duration  INTEGER NOT NULL,
    signal_amplitude DOUBLE PRECISION NOT NULL,
    event_timestamp  TIMESTAMP NOT NULL,
    saved_ts         TIMESTAMP NOT NULL DEFAULT now()
)
"""
USERS = 40
STRANGERS = (41, 42)  # telemetry of users the CRM never had
ROWS = 6_000
FIRST = datetime(2026, 1, 1)
SPAN_S = 90 * 86_400  # January to March
TELEMETRY_COLUMNS = (
    "id",
    "user_id",
    "prosthesis_type",
    "muscle_group",
    "signal_frequency",
    "signal_duration",
    "signal_amplitude",
    "event_timestamp",
    "saved_ts",
)


@dataclass
class Sources:
    """The two source databases and what they hold (kept in step with every change made here)."""

    crm_dsn: str
    telemetry_dsn: str
    users: dict[int, dict[str, Any]]
    telemetry: dict[int, dict[str, Any]] = field(default_factory=dict)
    rng: random.Random = field(default_factory=lambda: random.Random(11))

    def new_row(self, row_id: int, user_id: int, moment: datetime) -> dict[str, Any]:
        rng = self.rng
        return {
            "id": row_id,
            "user_id": user_id,
            "prosthesis_type": rng.choice(["arm", "hand", "leg"]),
            "muscle_group": rng.choice(["biceps", "triceps", "forearm", "quadriceps"]),
            "signal_frequency": rng.randint(120, 240),
            "signal_duration": rng.randint(50, 5000),
            "signal_amplitude": round(rng.uniform(0.5, 5.0), 3),
            "event_timestamp": moment,
            "saved_ts": moment + timedelta(seconds=2),
        }

    def add_telemetry(self, rows: list[dict[str, Any]]) -> None:
        statement = f"COPY telemetry_events ({', '.join(TELEMETRY_COLUMNS)}) FROM STDIN"
        with (
            psycopg.connect(self.telemetry_dsn) as connection,
            connection.cursor() as cursor,
            cursor.copy(statement) as copy,
        ):
            for row in rows:
                copy.write_row([row[c] for c in TELEMETRY_COLUMNS])
        self.telemetry.update({row["id"]: row for row in rows})

    def delete_telemetry(self, ids: list[int]) -> None:
        with psycopg.connect(self.telemetry_dsn) as connection:
            connection.execute("DELETE FROM telemetry_events WHERE id = ANY(%s)", (ids,))
        for row_id in ids:
            del self.telemetry[row_id]

    def set_amplitude(self, row_id: int, amplitude: float) -> None:
        with psycopg.connect(self.telemetry_dsn) as connection:
            connection.execute(
                "UPDATE telemetry_events SET signal_amplitude = %s WHERE id = %s", (amplitude, row_id)
            )
        self.telemetry[row_id]["signal_amplitude"] = amplitude

    def delete_user(self, user_id: int) -> None:
        with psycopg.connect(self.crm_dsn) as connection:
            connection.execute("DELETE FROM users WHERE user_id = %s", (user_id,))
        del self.users[user_id]


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The base DSN of the real PostgreSQL server (no database name)."""
    configured = os.environ.get("EVENTLENS_TEST_POSTGRES")
    if configured:
        return configured.rstrip("/")
    port = os.environ.get("PG_PORT", "55432")
    server_script("postgres", "start", port, timeout_s=900)  # may apt-get install PostgreSQL first
    return f"postgresql://postgres@127.0.0.1:{port}"


@pytest.fixture
def sources(postgres_server: str) -> Iterator[Sources]:
    """A fresh CRM and Telemetry database with the Reports Backend's schema: 40 users, 6,000 telemetry
    rows over January–March 2026 (a few of users the CRM does not have)."""
    suffix = uuid.uuid4().hex[:10]
    names = {"crm": f"crm_{suffix}", "telemetry": f"telemetry_{suffix}"}
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as admin:
        for name in names.values():
            admin.execute(f"CREATE DATABASE {name}")  # a generated name, not input
    data = Sources(
        crm_dsn=f"{postgres_server}/{names['crm']}",
        telemetry_dsn=f"{postgres_server}/{names['telemetry']}",
        users=_users(),
    )
    with psycopg.connect(data.crm_dsn) as connection:
        connection.execute(CRM_SCHEMA)
        with connection.cursor().copy(
            "COPY users (user_id, user_uuid, name, email, age, gender, country, address, phone,"
            " registration_ts, registered_at) FROM STDIN"
        ) as copy:
            for user in data.users.values():
                copy.write_row(list(user.values()))
    with psycopg.connect(data.telemetry_dsn) as connection:
        connection.execute(TELEMETRY_SCHEMA)
    rng = data.rng
    owners = list(data.users) + list(STRANGERS)
    data.add_telemetry(
        [
            data.new_row(
                row_id,
                rng.choice(owners),
                FIRST + timedelta(seconds=rng.randrange(SPAN_S), microseconds=rng.randrange(1_000_000)),
            )
            for row_id in range(1, ROWS + 1)
        ]
    )
    try:
        yield data
    finally:
        with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as admin:
            for name in names.values():
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _users() -> dict[int, dict[str, Any]]:
    rng = random.Random(3)
    users = {}
    for user_id in range(1, USERS + 1):
        users[user_id] = {
            "user_id": user_id,
            "user_uuid": uuid.UUID(int=rng.getrandbits(128), version=4),
            "name": f"User {user_id}",
            "email": f"user{user_id}@example.ru",
            "age": rng.randint(18, 80),
            "gender": rng.choice(["male", "female"]),
            "country": rng.choice(["Russia", "Kazakhstan", "Belarus"]),
            "address": f"Street {user_id}",
            "phone": f"+7900{user_id:07d}",
            "registration_ts": datetime(2025, 1, 1) + timedelta(days=user_id),
            "registered_at": datetime(2025, 1, 2) + timedelta(days=user_id),
        }
    # What CSV must carry through: separators, quotes and line breaks in text, NULLs beside "".
    users[7].update(name='Ivan "Vanya", Ivanov', address="Lenina 1,\nkv. 2")
    users[8].update(age=None, gender=None, country=None, address=None, phone="")
    return users
