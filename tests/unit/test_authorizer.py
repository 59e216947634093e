"""The HTTP API's authorizer: a key may call a route when it is valid and of the kind the route takes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eventlens.authorizer import Authorization, authorize
from eventlens.components import Components
from eventlens.keys import Authenticator, KeyStore, SqliteKeyStore, create_project, revoke_key
from eventlens.manifest import load_manifest
from eventlens_tools.local.invoke import LocalFunction
from tests.conftest import isolated_settings, load_event
from tests.unit.test_cold_start import HEAVY, _modules_after_import

INGEST = "POST /v1/events"
REPORT = "GET /stats/dau"
# What the Pulumi program hands the authorizer: the routes of the functions whose access is "write".
WRITE_ROUTES = frozenset(
    route.key
    for function in load_manifest().values()
    if function.access == "write"
    for route in function.http
)


@pytest.fixture
def store(key_store: KeyStore) -> KeyStore:
    return key_store


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def ask(store: KeyStore, route: str, headers: dict[str, str] | None) -> Authorization:
    return authorize(Authenticator(store, cache_seconds=0), route, headers, WRITE_ROUTES)


def test_a_write_key_may_send_events_as_its_project(store: KeyStore) -> None:
    # Given a project and its write key
    project, write, _ = create_project(store, "shop")
    # When it is presented on an ingest route
    decision = ask(store, INGEST, bearer(write))
    # Then it is let through, and the function is told the project and the key's kind
    assert decision.authorized
    assert decision.context == {"project_id": project.project_id, "kind": "write"}
    assert INGEST in WRITE_ROUTES and "POST /collect" in WRITE_ROUTES


def test_a_write_key_may_not_read(store: KeyStore) -> None:
    # Given a project's write key (public: it sits in web pages and apps)
    _, write, _ = create_project(store, "shop")
    # When it is presented on a report route, a prediction route and the report POST
    for route in (REPORT, "GET /users", "POST /report", "GET /api/v1/stream/events/{user_id}"):
        decision = ask(store, route, bearer(write))
        # Then it is refused, and the function learns nothing of it
        assert not decision.authorized, route
        assert decision.context == {} and decision.reason


def test_a_secret_key_may_call_every_route(store: KeyStore) -> None:
    # Given a project's secret key
    project, _, secret = create_project(store, "shop")
    # When it is presented on an ingest route and on read routes
    for route in (INGEST, REPORT, "POST /predict"):
        decision = ask(store, route, bearer(secret))
        # Then it is let through as the project's secret key
        assert decision.context == {"project_id": project.project_id, "kind": "secret"}, route


def test_a_route_the_table_does_not_list_takes_a_secret_key(store: KeyStore) -> None:
    # Given a route no write-route table names (a route added since, or a typo in the table)
    _, write, secret = create_project(store, "shop")
    # Then a write key may not call it, and a secret key may
    assert not ask(store, "GET /stats/new-report", bearer(write)).authorized
    assert ask(store, "GET /stats/new-report", bearer(secret)).authorized


@pytest.mark.parametrize(
    "headers",
    [
        None,
        {},
        {"authorization": ""},
        {"authorization": "Basic ZWxfd3JpdGVfOg=="},
        {"authorization": "Bearer not-a-key"},
        bearer("el_write_" + "A" * 43),  # well formed, never issued
        bearer("el_secret_" + "A" * 43),
    ],
    ids=["no-headers", "no-authorization", "empty", "basic", "malformed", "unknown-write", "unknown-secret"],
)
def test_a_missing_or_unknown_key_is_refused(store: KeyStore, headers: dict[str, str] | None) -> None:
    # Given a store with a project, When a request brings no key or one that was never issued
    create_project(store, "shop")
    for route in (INGEST, REPORT):
        decision = ask(store, route, headers)
        # Then it is refused on every route
        assert not decision.authorized and decision.context == {}


def test_a_revoked_key_is_refused(store: KeyStore) -> None:
    # Given a project whose secret key is revoked
    project, write, secret = create_project(store, "shop")
    secret_id = next(k.key_id for k in store.api_keys(project.project_id) if k.kind == "secret")
    revoke_key(store, secret_id)
    # Then it opens no route, while the project's write key still sends events
    assert not ask(store, REPORT, bearer(secret)).authorized
    assert not ask(store, INGEST, bearer(secret)).authorized
    assert ask(store, INGEST, bearer(write)).authorized


def authorizer_event(name: str, key: str) -> dict[str, Any]:
    """An authorizer fixture from events/ with ``key`` in place of its example key."""
    event = load_event(name)
    event["headers"]["authorization"] = f"Bearer {key}"
    event["identitySource"][0] = f"Bearer {key}"
    return event


def test_the_handler_answers_api_gateway_in_the_simple_response_format(
    tmp_path: Path, chdb_dir: Path
) -> None:
    # Given the authorizer function as Lambda runs it, with the write routes the program hands it
    settings = isolated_settings(tmp_path / "home", chdb_dir).model_copy(
        update={"write_routes": WRITE_ROUTES}
    )
    parts = Components(settings)
    function = LocalFunction(load_manifest()["authorizer"], parts=parts)
    project, write, secret = create_project(SqliteKeyStore(settings.home_dir / "keys.sqlite3"), "shop")
    try:
        # When API Gateway asks about a write key on an ingest route and on a report route
        on_ingest = function.invoke(authorizer_event("authorizer_ingest.json", write))
        on_report = function.invoke(authorizer_event("authorizer_report.json", write))
        with_secret = function.invoke(authorizer_event("authorizer_report.json", secret))
        example = function.invoke(load_event("authorizer_report.json"))
    finally:
        parts.close()
    # Then the answers are payload 2.0 simple responses, naming the project when allowed
    assert on_ingest == {"isAuthorized": True, "context": {"project_id": project.project_id, "kind": "write"}}
    assert on_report == {"isAuthorized": False}
    assert with_secret == {
        "isAuthorized": True,
        "context": {"project_id": project.project_id, "kind": "secret"},
    }
    # And the fixture's example key opens nothing
    assert example == {"isAuthorized": False}


def test_the_authorizer_loads_no_warehouse_queue_or_ml_library() -> None:
    # Given the authorizer, which API Gateway waits on before every uncached request
    # When its handler is imported as on a cold start
    loaded = _modules_after_import("authorizer")
    # Then it loads the keys and nothing heavy: no warehouse, queue, HTTP resolver or ML library
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
    assert "eventlens.keys" in loaded
    assert loaded.isdisjoint({"eventlens.warehouse", "eventlens.queue", "eventlens.api", "kafka"})
