"""Every route but the public ones is closed: through API Gateway events into the handlers, and over
real HTTP through eventlens local. The project comes from the key."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from eventlens.components import Components
from eventlens.keys import create_project, open_key_store, revoke_key, set_keyless_routes
from eventlens.manifest import load_manifest
from eventlens.settings import Settings
from eventlens_tools.local.invoke import LocalFunction
from eventlens_tools.local.runtime import LocalRuntime
from tests.conftest import TEST_SECRET_KEY, TEST_WRITE_KEY, http_event, isolated_settings, load_event

EVENTS = {"events": [{"user_id": "u1", "type": "page_view"}]}


def _status(function: LocalFunction, event: dict[str, Any]) -> tuple[int, Any]:
    response = function.invoke(event)
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else None


def test_every_protected_route_refuses_a_request_without_a_key(
    components: Components, functions: dict[str, LocalFunction]
) -> None:
    # Given every HTTP route of the manifest that is not public
    manifest = load_manifest()
    for name, function in manifest.items():
        public = {(r.method, r.path) for r in function.public}
        for route in function.http:
            if (route.method, route.path) in public:
                continue
            # When it is called with no key
            event = load_event("report_dau.json", key=None)
            event["routeKey"] = event["requestContext"]["routeKey"] = f"{route.method} {route.path}"
            event["requestContext"]["http"]["method"] = route.method
            event["rawPath"] = event["requestContext"]["http"]["path"] = route.path.replace("{", "").replace(
                "}", ""
            )
            event["pathParameters"] = {p[1:-1]: "x" for p in route.path.split("/") if p.startswith("{")}
            event["rawQueryString"], event["queryStringParameters"] = "", {}
            response = functions[name].invoke(event)
            # Then it is a 401 naming the authorization (in the shape of the route's protocol), with
            # the scheme to use
            assert response["statusCode"] == 401, (name, route, response)
            assert _refused_field(json.loads(response["body"])) == "authorization", route
            assert response["headers"]["WWW-Authenticate"].startswith("Bearer")


def _refused_field(body: dict[str, Any]) -> str:
    """The field an error answer names: eventlens's (and Snowplow's) ``error.field``, PostHog's
    ``attr``, the head of Segment's ``message``."""
    if "error" in body:
        return str(body["error"]["field"])
    if "attr" in body:
        return str(body["attr"])
    return str(body["message"]).split(":", 1)[0]


def test_a_write_key_sends_events_and_reads_nothing(
    components: Components, functions: dict[str, LocalFunction]
) -> None:
    # When the write key posts events and asks for a report
    sent = _status(functions["ingest"], http_event("ingest_v1_events.json", EVENTS, key=TEST_WRITE_KEY))
    read = _status(functions["report"], load_event("report_dau.json", key=TEST_WRITE_KEY))
    # Then the events are accepted and the report is forbidden
    assert sent[0] == 202
    assert read[0] == 403 and read[1]["error"]["field"] == "authorization"
    # And the secret key may do both
    assert _status(functions["ingest"], http_event("ingest_v1_events.json", EVENTS))[0] == 202
    assert _status(functions["report"], load_event("report_dau.json"))[0] == 200


@pytest.mark.parametrize(
    "key", ["el_secret_" + "x" * 43, "el_secret_short", "not-a-key"], ids=["unknown", "malformed", "foreign"]
)
def test_an_unknown_or_malformed_key_is_401(
    components: Components, functions: dict[str, LocalFunction], key: str
) -> None:
    assert _status(functions["report"], load_event("report_dau.json", key=key))[0] == 401


def test_a_revoked_key_is_refused_by_a_new_container(
    components: Components, functions: dict[str, LocalFunction]
) -> None:
    # Given a project's secret key that works
    store = open_key_store(components.settings)
    project, _, secret = create_project(store, "revocable")
    assert _status(functions["report"], load_event("report_dau.json", key=secret))[0] == 200
    # When it is revoked, and a container that never saw it answers (a warm one may for 30 s)
    revoke_key(store, next(k.key_id for k in store.api_keys(project.project_id) if k.kind == "secret"))
    with closing(Components(components.settings)) as parts:
        fresh = LocalFunction(load_manifest()["report"])
        fresh.bind(parts)
        # Then it is refused
        assert _status(fresh, load_event("report_dau.json", key=secret))[0] == 401


def test_the_public_routes_need_no_key(components: Components, functions: dict[str, LocalFunction]) -> None:
    for path in ("/health", "/openapi.json", "/docs"):
        event = load_event("report_dau.json", key=None)
        event["routeKey"] = event["requestContext"]["routeKey"] = f"GET {path}"
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
        event["rawQueryString"], event["queryStringParameters"] = "", {}
        assert functions["report"].invoke(event)["statusCode"] in (200, 503), path


def test_the_document_marks_every_protected_route_and_only_those(
    components: Components, functions: dict[str, LocalFunction]
) -> None:
    # Given the OpenAPI document and the manifest's public routes
    document = json.loads(functions["report"].invoke(_get("/openapi.json"))["body"])
    public = {(r.method.lower(), r.path) for f in load_manifest().values() for r in f.public}
    # Then exactly the other operations take the bearer key and may answer 401, 403 and 429
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            keyed = "security" in operation
            assert keyed == ((method, path) not in public), (method, path)
            if keyed:
                assert {"401", "403", "429"} <= set(operation["responses"]), (method, path)
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


def _get(path: str) -> dict[str, Any]:
    event = load_event("report_dau.json", key=None)
    event["routeKey"] = event["requestContext"]["routeKey"] = f"GET {path}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["rawQueryString"], event["queryStringParameters"] = "", {}
    return event


# --- over real HTTP, through eventlens local ------------------------------------------------------


@pytest.fixture
def limited(tmp_path: Path, chdb_dir: Path) -> Iterator[LocalRuntime]:
    """eventlens local with a per-IP limit of 50 requests a minute."""
    settings: Settings = isolated_settings(tmp_path / "home", chdb_dir).model_copy(
        update={"rate_limit_per_ip": 50, "rate_limit_per_key": 0}
    )
    runtime = LocalRuntime(settings, port=0, only={"ingest"})
    runtime.start()
    yield runtime
    runtime.stop()


def _post(url: str, key: str | None) -> tuple[int, Message]:
    headers = {"content-type": "application/json", **({"authorization": f"Bearer {key}"} if key else {})}
    request = urllib.request.Request(f"{url}/v1/events", data=json.dumps(EVENTS).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def test_eventlens_local_enforces_keys_and_the_ip_limit_across_parallel_clients(
    limited: LocalRuntime,
) -> None:
    # Given the default project's keys, made at the runtime's first start
    assert limited.default_keys is not None
    write = limited.default_keys.write_key
    # When a request comes without a key, one with the write key, then 8 clients send 20 each
    assert _post(limited.url, None)[0] == 401
    assert _post(limited.url, write)[0] == 202
    statuses: list[int] = []
    retry_after: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        for _ in range(20):
            status, headers = _post(limited.url, write)
            with lock:
                statuses.append(status)
                if status == 429:
                    retry_after.append(headers.get("Retry-After", ""))

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then no more than the limit passed in the window (two were spent above), the rest were 429
    # with a Retry-After of at most a minute
    assert statuses.count(202) <= 48 and set(statuses) <= {202, 429}
    assert statuses.count(202) + statuses.count(429) == 160
    assert retry_after and all(1 <= int(s) <= 60 for s in retry_after)
    assert write != TEST_SECRET_KEY  # the runtime's own keys, not the tests'


def test_keyless_reference_routes_reach_only_the_project_that_opted_in(
    components: Components, functions: dict[str, LocalFunction]
) -> None:
    # Given no project opted in: a reference client's request without a key is refused
    collect = load_event("ingest_anmodel_collect.json", key=None)
    own = http_event("ingest_v1_events.json", EVENTS, key=None)
    dau = load_event("report_dau.json", key=None)
    assert _status(functions["ingest"], collect)[0] == 401
    store = open_key_store(components.settings)
    # When the default project opts in to keyless ingest routes (a fresh container: no cache)
    set_keyless_routes(store, "default", {"write"})
    with closing(Components(components.settings)) as parts:
        fresh = {name: LocalFunction(load_manifest()[name]) for name in ("ingest", "report")}
        for function in fresh.values():
            function.bind(parts)
        # Then AnModel's /collect takes the event without a key, eventlens's own /v1/events does
        # not, and the reads still need a key
        assert _status(fresh["ingest"], collect)[0] == 202
        assert _status(fresh["ingest"], own)[0] == 401
        assert _status(fresh["report"], dau)[0] == 401
    # And once reads are keyless too, a reference report answers without a key
    set_keyless_routes(store, "default", {"write", "secret"})
    with closing(Components(components.settings)) as parts:
        again = LocalFunction(load_manifest()["report"])
        again.bind(parts)
        assert _status(again, dau)[0] == 200
