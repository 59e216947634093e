"""The two routes the console needed and the API lacked, over real HTTP: the last events received
(report function) and the model registry with its plots (predict function); each of the caller's
project only."""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid

from eventlens_tools.http_client import EventlensClient
from tests.conftest import OTHER_SECRET_KEY, TEST_SECRET_KEY, TEST_WRITE_KEY
from tests.console.conftest import Served, _wait_until_stored


def _get_bytes(url: str, key: str) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers={"authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.headers["content-type"], answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["content-type"], error.read()


def test_the_latest_events_are_the_last_received_and_counted_per_second(served: Served) -> None:
    # Given three events sent now, with an event time of last year
    ids = [str(uuid.uuid4()) for _ in range(3)]
    events = [
        {"event_id": i, "user_id": "console-u1", "type": "latest_probe", "timestamp": "2025-12-01T10:00:00Z"}
        for i in ids
    ]
    before = served.get("/v1/events/latest", limit=1)["events"][0]["event_id"]
    stored = served.runtime.components.warehouse.query(
        "SELECT count() AS n FROM events WHERE project_id = 'default'"
    ).to_pylist()[0]["n"]
    writer = EventlensClient(served.url, key=TEST_WRITE_KEY)
    try:
        status, body = writer.post("/v1/events", {"events": events})
        assert status == 202 and body["accepted"] == 3
    finally:
        writer.close()
    _wait_until_stored(served.runtime, stored + 3)
    # When the latest events are asked for
    latest = served.get("/v1/events/latest", limit=4)
    # Then they come first, whatever their event time, the earlier latest after them
    assert sorted(e["event_id"] for e in latest["events"][:3]) == sorted(ids)
    assert latest["events"][3]["event_id"] == before
    assert {e["type"] for e in latest["events"][:3]} == {"latest_probe"}
    # And they count in the last minute's rate
    assert latest["received_last_minute"] >= 3
    assert latest["events_per_second"] == round(latest["received_last_minute"] / 60, 3)


def test_another_projects_key_sees_none_of_these_events_or_models(served: Served) -> None:
    other = EventlensClient(served.url, key=OTHER_SECRET_KEY)
    try:
        status, latest = other.get("/v1/events/latest")
        assert status == 200 and latest["events"] == [] and latest["received_last_minute"] == 0
        status, history = other.get("/v1/models/context_aware")
        assert status == 200 and history["versions"] == [] and history["promoted"] is None
    finally:
        other.close()
    status, _, _ = _get_bytes(
        f"{served.url}/v1/models/context_aware/versions/v000001/plots/roc", OTHER_SECRET_KEY
    )
    assert status == 404


def test_the_model_history_lists_each_version_with_its_metrics_and_plots(served: Served) -> None:
    history = served.get("/v1/models/context_aware")
    assert history["promoted"]["version"] in [v["version"] for v in history["versions"]]
    promoted = [v for v in history["versions"] if v["promoted"]]
    assert len(promoted) == 1 and promoted[0]["version"] == history["promoted"]["version"]
    assert promoted[0]["metrics"]["roc_auc"] == history["promoted"]["roc_auc"]
    assert promoted[0]["plots"] == ["roc", "pr", "calibration"]
    # Each plot is a PNG behind the key
    for plot in promoted[0]["plots"]:
        url = f"{served.url}/v1/models/context_aware/versions/{promoted[0]['version']}/plots/{plot}"
        status, content_type, data = _get_bytes(url, TEST_SECRET_KEY)
        assert (status, content_type) == (200, "image/png") and data.startswith(b"\x89PNG\r\n\x1a\n")
        assert _get_bytes(url, TEST_WRITE_KEY)[0] == 403


def test_an_unknown_service_version_or_plot_is_404(served: Served) -> None:
    base = f"{served.url}/v1/models"
    for path in (
        "/nope",
        "/context_aware/versions/v999999/plots/roc",
        "/context_aware/versions/v000001/plots/model.pkl",
        "/context_aware/versions/..%2Fpromoted/plots/roc",
    ):
        status, _, body = _get_bytes(base + path, TEST_SECRET_KEY)
        assert status == 404, (path, body)
