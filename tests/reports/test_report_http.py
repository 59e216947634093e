"""Every report route through the report handler (API Gateway HTTP API events) and through
``eventlens local`` over real HTTP: the same answers as the report functions, and a 4xx naming the
parameter for each bad one."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, quote

import pytest

from eventlens.manifest import load_manifest
from eventlens.reports import activity, lifestream, retention, viewing
from eventlens.reports.segments import parse_segments
from eventlens_tools.local.runtime import LocalRuntime
from tests.conftest import load_event
from tests.reports.conftest import Dataset


def _get(functions: dict[str, Any], route: str, path: str, query: str = "") -> tuple[int, Any]:
    """Invoke the report function with the API Gateway event for ``GET path?query``."""
    event = load_event("report_dau.json")
    event["routeKey"] = event["requestContext"]["routeKey"] = f"GET {route}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["rawQueryString"] = query
    event["queryStringParameters"] = dict(parse_qsl(query))
    names = [part[1:-1] for part in route.split("/") if part.startswith("{")]
    values = [
        part
        for part, pattern in zip(path.split("/"), route.split("/"), strict=True)
        if pattern.startswith("{")
    ]
    event["pathParameters"] = dict(zip(names, values, strict=True))
    response = functions["report"].invoke(event)
    body = response.get("body") or ""
    is_json = response.get("headers", {}).get("Content-Type", "").startswith("application/json")
    return response["statusCode"], json.loads(body) if is_json else body


def _cases(d: Dataset) -> list[tuple[str, str, str, Any]]:
    """(route, path, query, expected JSON) for every report route, expected from the report functions."""
    w, today = d.components.warehouse, d.today
    viewer = d.events[d.events["source"] == "viewing"]["user_id"].value_counts().index[0]
    life = d.events[d.events["source"] == "lifestream"]["user_id"].value_counts().index[0]
    start, end = today - timedelta(days=40), today
    seg = "properties.country:UA,event_type:page_view"

    def dump(value: Any) -> Any:
        if isinstance(value, list):
            return [dump(v) for v in value]
        return value.model_dump(mode="json") if hasattr(value, "model_dump") else value

    frm = f"from={start}&to={end}"
    return [
        (
            "/stats/dau",
            "/stats/dau",
            f"{frm}&segment={quote(seg)}",
            dump(activity.dau(w, "default", start, end, parse_segments(seg))),
        ),
        ("/stats/wau", "/stats/wau", frm, dump(activity.wau(w, "default", start, end, []))),
        ("/stats/mau", "/stats/mau", frm, dump(activity.mau(w, "default", start, end, []))),
        (
            "/stats/top-events",
            "/stats/top-events",
            f"{frm}&limit=3",
            dump(activity.top_events(w, "default", start, end, 3, [])),
        ),
        (
            "/stats/retention",
            "/stats/retention",
            f"start_date={start}&windows=3",
            retention.retention_cohorts(w, "default", start, 3, []),
        ),
        (
            "/api/v1/analytics/content/popular",
            "/api/v1/analytics/content/popular",
            "days=30&limit=5",
            dump(viewing.popular_content(w, "default", 30, 5)),
        ),
        (
            "/api/v1/analytics/user/{user_id}/stats",
            f"/api/v1/analytics/user/{viewer}/stats",
            "days=60",
            dump(viewing.user_stats(w, "default", viewer, 60)),
        ),
        (
            "/api/v1/analytics/trends",
            "/api/v1/analytics/trends",
            "days=10",
            dump(viewing.trends(w, "default", 10)),
        ),
        (
            "/api/v1/analytics/peak-hours",
            "/api/v1/analytics/peak-hours",
            "",
            dump(viewing.peak_hours(w, "default", 7)),
        ),
        (
            "/api/v1/stream/events/{user_id}",
            f"/api/v1/stream/events/{life}",
            "type=geo,social&limit=7&offset=2",
            dump(lifestream.stream_events(w, "default", life, types=["geo", "social"], limit=7, offset=2)),
        ),
        (
            "/api/v1/stream/stats/{user_id}",
            f"/api/v1/stream/stats/{life}",
            "",
            dump(lifestream.stream_stats(w, "default", life)),
        ),
        (
            "/api/v1/search/memory/{user_id}/summary",
            f"/api/v1/search/memory/{life}/summary",
            "period=month",
            dump(
                lifestream.memory_summary(w, "default", life, *lifestream.summary_range("month", None, None))
            ),
        ),
    ]


def test_every_report_route_answers_through_the_handler(reports: Dataset, functions: dict[str, Any]) -> None:
    # Given the stored dataset and each report route with its parameters
    for route, path, query, expected in _cases(reports):
        # When the handler gets the API Gateway event
        status, body = _get(functions, route, path, query)
        # Then it answers 200 with what the report function computes
        assert (route, status) == (route, 200), body
        assert body == expected, route


def test_the_manifest_lists_every_route_the_handler_serves(functions: dict[str, Any]) -> None:
    # Given the manifest's HTTP routes (the document covers every function's: see test_openapi.py)
    routes = {f"{r.method} {r.path}" for fn in load_manifest().values() for r in fn.http}
    # When the OpenAPI document is fetched through the handler
    status, spec = _get(functions, "/openapi.json", "/openapi.json")
    # Then every documented route is in the manifest (and so is served by eventlens local and API Gateway)
    assert status == 200
    documented = {
        f"{method.upper()} {path}" for path, operations in spec["paths"].items() for method in operations
    }
    assert documented and documented <= routes
    assert {"GET /stats/retention", "GET /api/v1/search/memory/{user_id}/summary"} <= documented


BAD = [
    ("/stats/dau", "/stats/dau", "from=2026-02-01&to=2026-01-01", "from"),
    ("/stats/dau", "/stats/dau", "from=2026-01-01&to=2026-13-01", "to"),
    ("/stats/dau", "/stats/dau", "to=2026-01-01", "from"),
    ("/stats/wau", "/stats/wau", "from=2020-01-01&to=2026-01-01", "to"),
    ("/stats/mau", "/stats/mau", "from=2026-01-01&to=2026-02-01&segment=password:x", "segment"),
    ("/stats/top-events", "/stats/top-events", "from=2026-01-01&to=2026-01-02&limit=0", "limit"),
    ("/stats/retention", "/stats/retention", "start_date=yesterday", "start_date"),
    ("/stats/retention", "/stats/retention", "start_date=2026-01-01&windows=53", "windows"),
    ("/stats/retention", "/stats/retention", "start_date=2000-01-03", "start_date"),
    ("/api/v1/analytics/content/popular", "/api/v1/analytics/content/popular", "limit=101", "limit"),
    ("/api/v1/analytics/trends", "/api/v1/analytics/trends", "days=0", "days"),
    ("/api/v1/analytics/peak-hours", "/api/v1/analytics/peak-hours", "days=many", "days"),
    ("/api/v1/analytics/user/{user_id}/stats", "/api/v1/analytics/user/u1/stats", "days=5000", "days"),
    ("/api/v1/stream/events/{user_id}", "/api/v1/stream/events/u1", "limit=1001", "limit"),
    ("/api/v1/stream/events/{user_id}", "/api/v1/stream/events/u1", "offset=-1", "offset"),
    ("/api/v1/stream/events/{user_id}", "/api/v1/stream/events/u1", "type=geo,x'y", "type"),
    ("/api/v1/stream/events/{user_id}", "/api/v1/stream/events/u1", "from=2026-02-01&to=2026-01-01", "from"),
    ("/api/v1/stream/stats/{user_id}", "/api/v1/stream/stats/u1", "from=soon", "from"),
    (
        "/api/v1/search/memory/{user_id}/summary",
        "/api/v1/search/memory/u1/summary",
        "period=decade",
        "period",
    ),
    ("/api/v1/search/memory/{user_id}/summary", "/api/v1/search/memory/u1/summary", "from=2026-01-01", "to"),
    (
        "/api/v1/search/memory/{user_id}/summary",
        "/api/v1/search/memory/u1/summary",
        "period=week&from=2026-01-01&to=2026-01-02",
        "period",
    ),
]


@pytest.mark.parametrize(("route", "path", "query", "field"), BAD, ids=[f"{b[1]}?{b[2]}" for b in BAD])
def test_a_bad_parameter_is_named_in_a_422(
    reports: Dataset, functions: dict[str, Any], route: str, path: str, query: str, field: str
) -> None:
    # Given a request with one bad parameter / When the handler gets it
    status, body = _get(functions, route, path, query)
    # Then it answers 422 naming that parameter and why
    assert status == 422, body
    assert body["error"]["field"] == field and body["error"]["reason"], body


def test_segment_values_are_data_not_sql(reports: Dataset, functions: dict[str, Any]) -> None:
    # Given a segment value written as SQL
    start = reports.today - timedelta(days=2)
    query = f"from={start}&to={reports.today}&segment=" + quote("properties.country:UA' OR '1'='1")
    # When DAU is asked for
    status, body = _get(functions, "/stats/dau", "/stats/dau", query)
    # Then it is compared as a plain value: no country is called that, so every day counts 0
    assert status == 200 and [row["unique_users"] for row in body] == [0, 0, 0]


def test_every_route_answers_through_eventlens_local(reports: Dataset, functions: dict[str, Any]) -> None:
    # Given eventlens local serving the manifest on the stored dataset
    settings = reports.settings.model_copy(update={"home": reports.settings.home_dir / "local"})
    runtime = LocalRuntime(settings, port=0)
    runtime.start()
    try:
        # (its first start made project default, whose secret key reads the reports)
        assert runtime.default_keys is not None and runtime.default_keys.created
        secret = {"authorization": f"Bearer {runtime.default_keys.secret_key}"}
        for route, path, query, expected in _cases(reports):
            # When each report is fetched over HTTP
            request = urllib.request.Request(f"{runtime.url}{path}?{query}", headers=secret)
            with urllib.request.urlopen(request, timeout=30) as response:
                # Then it answers as the report function does
                assert (route, response.status, json.loads(response.read())) == (route, 200, expected)
        with urllib.request.urlopen(f"{runtime.url}/docs", timeout=30) as response:
            assert response.status == 200 and b"swagger" in response.read().lower()
        with urllib.request.urlopen(f"{runtime.url}/openapi.json", timeout=30) as response:
            assert "/stats/retention" in json.loads(response.read())["paths"]
        with pytest.raises(urllib.error.HTTPError) as bad:
            urllib.request.urlopen(
                urllib.request.Request(f"{runtime.url}/api/v1/analytics/trends?days=0", headers=secret),
                timeout=30,
            )
        assert bad.value.code == 422 and json.loads(bad.value.read())["error"]["field"] == "days"
    finally:
        runtime.stop()
