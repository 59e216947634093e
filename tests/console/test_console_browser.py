"""The console in a real browser (headless Debian Chromium through selenium) against eventlens local
with generated data: each page shows what the API answers, read from the page itself; a wrong key is
refused; signing out forgets the key; the key never reaches the URL; no console errors; keyboard and
labels work. A screenshot of each page is written to test-artifacts/console/."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import date, timedelta
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import TEST_SECRET_KEY, TEST_WRITE_KEY
from tests.console.conftest import ARTIFACTS, Served

WAIT_S = 30


def _sign_in(driver: Any, served: Served, key: str = TEST_SECRET_KEY) -> None:
    driver.get(served.url + "/")
    WebDriverWait(driver, WAIT_S).until(lambda d: d.find_elements(By.ID, "key"))
    driver.find_element(By.ID, "key").send_keys(key)
    driver.find_element(By.CSS_SELECTOR, "form.signin button[type=submit]").click()


def _open(driver: Any, page: str, title: str) -> None:
    """Go to a page through the URL's fragment and wait until it has drawn."""
    driver.execute_script("location.hash = arguments[0]", f"#/{page}")
    _wait_loaded(driver, title)


def _wait_loaded(driver: Any, title: str) -> None:
    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.title.startswith(title) and d.find_elements(By.CSS_SELECTOR, "main[data-loaded]")
    )


def _wait_for(driver: Any, css: str) -> None:
    WebDriverWait(driver, WAIT_S).until(lambda d: d.find_elements(By.CSS_SELECTOR, css))


def _rows(driver: Any, testid: str) -> list[list[str]]:
    """The body rows of the table with this data-testid, each cell's text (one read of the page)."""
    _wait_for(driver, f"[data-testid='{testid}'] tbody tr")
    rows: list[list[str]] = driver.execute_script(
        "return [...document.querySelectorAll(`[data-testid='${arguments[0]}'] tbody tr`)]"
        ".map(tr => [...tr.children].map(td => td.textContent.trim()))",
        testid,
    )
    return [] if rows and rows[0] == ["nothing in this range"] else rows


def _text(driver: Any, testid: str) -> str:
    _wait_for(driver, f"[data-testid='{testid}']")
    return str(driver.find_element(By.CSS_SELECTOR, f"[data-testid='{testid}']").text).strip()


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def _pct(fraction: float | None) -> str:
    return "–" if fraction is None else f"{fraction * 100:.1f}%"


def _num(value: float | None, digits: int = 2) -> str:
    """As the console writes a number: at most ``digits`` decimals, trailing zeros dropped, grouped."""
    if value is None:
        return "–"
    text = f"{round(value, digits):,.{digits}f}".rstrip("0").rstrip(".") if digits else f"{round(value):,}"
    return "0" if text in ("-0", "") else text


def _severe_console_messages(driver: Any) -> list[dict[str, Any]]:
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def _screenshot(driver: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def _range(served: Served) -> tuple[str, str]:
    today = date.fromisoformat(served.today)
    return (today - timedelta(days=29)).isoformat(), today.isoformat()


def _assert_key_only_in_session_storage(driver: Any) -> None:
    assert TEST_SECRET_KEY not in driver.current_url
    assert driver.execute_script("return JSON.stringify(localStorage)") == "{}"
    assert TEST_SECRET_KEY not in driver.execute_script("return document.cookie")
    assert TEST_SECRET_KEY not in driver.page_source


def test_signing_in_shows_the_overview_with_the_apis_figures(browser: Any, served: Served) -> None:
    # Given the default project's secret key (and the rate of events received so far: it only falls
    # while nothing is sent, as the events leave the last minute)
    rate_before = served.get("/v1/events/latest", limit=1)["events_per_second"]
    # When it signs in
    _sign_in(browser, served)
    _wait_loaded(browser, "Overview")
    _wait_for(browser, "[data-testid='last-events'] tbody tr")
    # Then the cards and tables show what the report routes answer for the default range
    start, end = _range(served)
    dau = served.get("/stats/dau", **{"from": start, "to": end})
    wau = served.get("/stats/wau", **{"from": start, "to": end})
    mau = served.get("/stats/mau", **{"from": start, "to": end})
    top = served.get("/stats/top-events", **{"from": start, "to": end, "limit": 10})
    latest = served.get("/v1/events/latest", limit=20)
    assert _int(_text(browser, "dau")) == dau[-1]["unique_users"]
    assert _int(_text(browser, "wau")) == wau[-1]["unique_users"]
    assert _int(_text(browser, "mau")) == mau[-1]["unique_users"]
    assert [[r[0], _int(r[1])] for r in _rows(browser, "dau-table")] == [
        [d["date"], d["unique_users"]] for d in reversed(dau)
    ]
    assert [[r[0], _int(r[1])] for r in _rows(browser, "top-events")] == [
        [t["event_type"], t["count"]] for t in top
    ]
    assert [[r[1], r[2], r[3]] for r in _rows(browser, "last-events")] == [
        [e["type"], e["source"], e["user_id"]] for e in latest["events"]
    ]
    assert (
        latest["events_per_second"]
        <= float(_text(browser, "events-per-second").replace(",", ""))
        <= rate_before
    )
    # And the key is in this tab's session storage, nowhere else
    assert browser.execute_script("return sessionStorage.getItem('eventlens.secret_key')") == TEST_SECRET_KEY
    _assert_key_only_in_session_storage(browser)
    assert _severe_console_messages(browser) == []
    _screenshot(browser, "overview")


@pytest.mark.parametrize("key", ["el_secret_" + "x" * 43, TEST_WRITE_KEY], ids=["unknown", "write-key"])
def test_a_wrong_key_is_refused_and_kept_nowhere(browser: Any, served: Served, key: str) -> None:
    # When a key that no project has, or a write key, signs in
    _sign_in(browser, served, key)
    # Then the sign-in form says why, and nothing is stored
    _wait_for(browser, "form.signin [role='alert']")
    alert = browser.find_element(By.CSS_SELECTOR, "form.signin [role='alert']").text
    assert ("refused" in alert) if key != TEST_WRITE_KEY else ("secret key" in alert)
    assert browser.execute_script("return sessionStorage.length") == 0
    assert key not in browser.current_url and browser.find_elements(By.ID, "key")
    assert browser.find_element(By.ID, "key").get_attribute("value") == ""


def test_signing_out_clears_session_storage(browser: Any, served: Served) -> None:
    # Given a signed-in console
    _sign_in(browser, served)
    _wait_loaded(browser, "Overview")
    # When the person signs out
    browser.find_element(By.CSS_SELECTOR, "[data-testid='sign-out']").click()
    # Then the key is gone from session storage and the sign-in form is back
    _wait_for(browser, "#key")
    assert browser.execute_script("return sessionStorage.length") == 0
    # And reloading any page asks for a key again
    browser.get(served.url + "/#/models")
    _wait_for(browser, "#key")
    assert not browser.find_elements(By.CSS_SELECTOR, "main[data-loaded]")


def test_insights_show_what_the_insights_api_answers(browser: Any, served: Served) -> None:
    _sign_in(browser, served)
    _wait_loaded(browser, "Overview")
    _open(browser, "insights", "Insights")
    start, end = _range(served)
    scope = {"from": start, "to": end, "timezone": "UTC"}
    # Trends: purchases per day broken down by country, the default query
    trends = served.post(
        "/api/v1/insights/trends",
        {
            **scope,
            "series": [{"event": "purchase", "math": "total"}],
            "interval": "day",
            "breakdown": {"property": "properties.country", "limit": 5},
        },
    )
    shown = _rows(browser, "trends-totals")
    assert [r[1] for r in shown] == [_num(s["total"]) for s in trends["series"]]
    assert all(r[0].startswith("purchase") for r in shown)
    _screenshot(browser, "insights-trends")

    # Funnel, built through the step builder: add a fourth step, make it search → view_item → add_to_cart
    browser.find_element(By.ID, "tab-funnel").click()
    _wait_for(browser, "[data-testid='funnel-steps'] tbody tr")
    steps = browser.find_elements(By.CSS_SELECTOR, "ol.steps input")
    assert len(steps) == 3
    browser.find_element(By.CSS_SELECTOR, "[data-testid='add-step']").click()
    steps = browser.find_elements(By.CSS_SELECTOR, "ol.steps input")
    for element, event in zip(steps, ["search", "view_item", "add_to_cart", "purchase"], strict=True):
        element.clear()
        element.send_keys(event)
    browser.execute_script(
        "document.querySelector('#insight-panel').querySelector('.insight-result')"
        ".removeAttribute('data-state')"
    )
    steps[-1].send_keys(Keys.ENTER)
    WebDriverWait(browser, WAIT_S).until(
        lambda d: d.execute_script("return document.querySelector('.insight-result').dataset.state") == "done"
    )
    funnel = served.post(
        "/api/v1/insights/funnel",
        {
            **scope,
            "steps": [{"event": e} for e in ["search", "view_item", "add_to_cart", "purchase"]],
            "order": "ordered",
            "window_seconds": 14 * 86400,
        },
    )
    assert [[r[0], _int(r[1]), r[2], r[3]] for r in _rows(browser, "funnel-steps")] == [
        [
            f"{s['step']}. {s['label']}",
            s["persons"],
            _pct(s["conversion_from_first"]),
            _pct(s["conversion_from_previous"]),
        ]
        for s in funnel["steps"]
    ]
    _screenshot(browser, "insights-funnel")

    # Retention: weekly, any event, six periods: the heat map's cells are the rates
    browser.find_element(By.ID, "tab-retention").click()
    _wait_for(browser, "[data-testid='retention-heatmap'] tbody tr")
    retention = served.post(
        "/api/v1/insights/retention",
        {
            **scope,
            "start_event": {"event": None},
            "return_event": {"event": None},
            "period": "week",
            "periods": 6,
        },
    )
    rows = browser.execute_script(
        "return [...document.querySelectorAll(`[data-testid='retention-heatmap'] tbody tr`)]"
        ".map(tr => [...tr.children].map(td => td.textContent.trim()))"
    )
    assert rows == [
        [c["period"], f"{c['persons']:,}", *[_pct(r) for r in c["rates"]]] for c in retention["cohorts"]
    ]
    _screenshot(browser, "insights-retention")

    # Paths from session_start, four steps
    browser.find_element(By.ID, "tab-paths").click()
    _wait_for(browser, "[data-testid='paths-edges'] tbody tr")
    paths = served.post(
        "/api/v1/insights/paths",
        {
            **scope,
            "start_event": {"event": "session_start"},
            "depth": 4,
            "collapse_repeats": False,
            "edge_limit": 40,
        },
    )
    assert _int(_text(browser, "paths-persons")) == paths["persons"]
    assert [[r[0], r[1], _int(r[2])] for r in _rows(browser, "paths-edges")] == [
        [f"{e['from_step']}. {e['from_event']}", f"{e['to_step']}. {e['to_event']}", e["persons"]]
        for e in paths["edges"]
    ]
    assert browser.find_elements(By.CSS_SELECTOR, "#insight-panel svg path")
    _screenshot(browser, "insights-paths")

    # Stickiness of purchases per day
    browser.find_element(By.ID, "tab-stickiness").click()
    _wait_for(browser, "[data-testid='stickiness-table'] tbody tr")
    sticky = served.post(
        "/api/v1/insights/stickiness", {**scope, "series": [{"event": "purchase"}], "interval": "day"}
    )
    assert [_int(r[1]) for r in _rows(browser, "stickiness-table")] == sticky["series"][0]["persons"]

    # Lifecycle of any event per day
    browser.find_element(By.ID, "tab-lifecycle").click()
    _wait_for(browser, "[data-testid='lifecycle-table'] tbody tr")
    lifecycle = served.post(
        "/api/v1/insights/lifecycle", {**scope, "activity": {"event": None}, "interval": "day"}
    )
    assert [[r[0], *map(_int, r[1:])] for r in _rows(browser, "lifecycle-table")] == [
        [
            p,
            lifecycle["new"][i],
            lifecycle["returning"][i],
            lifecycle["resurrecting"][i],
            lifecycle["dormant"][i],
        ]
        for i, p in enumerate(lifecycle["periods"])
    ]
    _screenshot(browser, "insights-lifecycle")
    assert _severe_console_messages(browser) == []


def test_content_shows_the_cinema_reports(browser: Any, served: Served) -> None:
    _sign_in(browser, served)
    _wait_loaded(browser, "Overview")
    _open(browser, "content", "Content")
    popular = served.get("/api/v1/analytics/content/popular", days=30, limit=20)
    trends = served.get("/api/v1/analytics/trends", days=30)
    peaks = served.get("/api/v1/analytics/peak-hours", days=30)
    assert popular["items"], "the generator's viewers watched something"
    assert [[r[0], _int(r[1]), _int(r[2]), r[3]] for r in _rows(browser, "popular")] == [
        [i["movie_id"], i["total_views"], i["unique_viewers"], f"{_num(i['completion_rate'], 1)}%"]
        for i in popular["items"]
    ]
    assert [[r[0], _int(r[1]), _int(r[2]), _int(r[3])] for r in _rows(browser, "viewing-trends")] == [
        [t["date"], t["total_views"], t["unique_viewers"], t["completed_views"]]
        for t in reversed(trends["trends"])
    ]
    assert [[int(r[0]), _int(r[1]), _int(r[2])] for r in _rows(browser, "peak-hours")] == [
        [h["hour"], h["events_count"], h["unique_users"]] for h in peaks["hours"]
    ]
    assert _severe_console_messages(browser) == []
    _screenshot(browser, "content")


def test_a_person_shows_their_timeline_places_and_memory_search(browser: Any, served: Served) -> None:
    _sign_in(browser, served)
    _wait_loaded(browser, "Overview")
    # The most active Life Stream person, as the page suggests them
    _open(browser, "person", "A person")
    _wait_for(browser, "[data-testid='timeline'] tbody tr")
    user = browser.find_element(By.CSS_SELECTOR, "input[name='user_id']").get_attribute("value")
    assert user in served.user_ids
    stream = served.get(f"/api/v1/stream/events/{user}", limit=200)
    patterns = served.get(f"/api/v1/stream/patterns/{user}")
    assert _int(_text(browser, "person-total")) == stream["total"]
    timeline = _rows(browser, "timeline")
    assert [r[1] for r in timeline] == [e["type"] for e in stream["events"]]
    assert [[r[0], _int(r[1])] for r in _rows(browser, "places")] == [
        [p["name"], p["visits"]] for p in patterns["places"]
    ]
    # The places are drawn from their coordinates: one circle per place and a dot per geo event
    geo = [e for e in stream["events"] if "lat" in e["properties"]]
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.map circle")) == len(patterns["places"]) + len(geo)
    # When the memory box is asked a question
    question = "Where do I usually go?"
    box = browser.find_element(By.CSS_SELECTOR, "input[name='question']")
    box.send_keys(question)
    box.send_keys(Keys.ENTER)
    # Then it shows the search's answer
    _wait_for(browser, "[data-testid='memory-answer']")
    answer = served.post("/api/v1/search/memory", {"user_id": user, "question": question})
    assert _text(browser, "memory-answer") == answer["answer"].strip()
    assert _int(_text(browser, "memory-evidence")) == answer["evidence_total"]
    assert _severe_console_messages(browser) == []
    _screenshot(browser, "person")


def test_models_show_the_registry_users_and_a_prediction(browser: Any, served: Served) -> None:
    _sign_in(browser, served)
    _wait_loaded(browser, "Overview")
    _open(browser, "models", "Models")
    _wait_for(browser, "[data-testid='model-users'] tbody tr")
    services = served.get("/services")
    history = served.get("/v1/models/context_aware")
    users = served.get("/users", limit=25)
    assert [r[0] for r in _rows(browser, "services")] == services["services"]
    promoted = next(v for v in history["versions"] if v["promoted"])
    assert _text(browser, "promoted-version") == promoted["version"]
    metrics = dict((r[0], r[1]) for r in _rows(browser, "model-metrics"))
    assert metrics["ROC-AUC"] == _num(promoted["metrics"]["roc_auc"], 3)
    assert metrics["PR-AUC"] == _num(promoted["metrics"]["pr_auc"], 3)
    assert [r[0].split(" ")[0] for r in _rows(browser, "model-versions")] == [
        v["version"] for v in reversed(history["versions"])
    ]
    assert [[r[0], r[1]] for r in _rows(browser, "model-users")] == [
        [u["user_id"], _num(u["features"]["purchase_proba"], 3)] for u in users["users"]
    ]
    # The plots come from the registry through the key, and are drawn
    WebDriverWait(browser, WAIT_S).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "img[data-plot]")) == len(promoted["plots"])
    )
    WebDriverWait(browser, WAIT_S).until(
        lambda d: d.execute_script(
            "return [...document.querySelectorAll('img[data-plot]')].every(i => i.naturalWidth > 0)"
        )
    )
    # When the prediction form is sent for the likeliest buyer with fewer events than they had
    first = users["users"][0]
    field = browser.find_element(By.CSS_SELECTOR, "form[aria-label='Prediction'] input[name='total_events']")
    field.clear()
    field.send_keys("12")
    field.send_keys(Keys.ENTER)
    _wait_for(browser, "[data-testid='prediction'] tbody tr")
    record: dict[str, Any] = {"user_id": first["user_id"]}
    for name in (
        "days_since_last",
        "days_since_first",
        "days_since_last_purchase",
        "total_events",
        "events_last_7d",
        "events_last_30d",
        "total_purchases",
        "total_spent",
        "avg_order_value",
        "purchases_last_30d",
    ):
        if first["features"].get(name) is not None:
            record[name] = first["features"][name]
    record["total_events"] = 12
    predicted = served.post("/predict", {"records": [record]})["predictions"][0]
    shown = dict((r[0], r[1]) for r in _rows(browser, "prediction"))
    assert shown["purchase_proba"] == _num(predicted["purchase_proba"], 4)
    assert shown["will_purchase_pred"] == _num(predicted["will_purchase_pred"], 4)
    assert _severe_console_messages(browser) == []
    _screenshot(browser, "models")


def test_operations_show_the_metrics_of_eventlens_local(browser: Any, served: Served) -> None:
    _sign_in(browser, served)
    _wait_loaded(browser, "Overview")
    _open(browser, "operations", "Operations")
    _wait_for(browser, "[data-testid='routes'] tbody tr")
    with urllib.request.urlopen(f"{served.url}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and "{" not in line:
            name, value = line.split()
            values[name] = float(value)
    # No events arrive while the test runs: the counters on the page are /metrics's
    assert _int(_text(browser, "events-received")) == values["events_received_total"]
    assert _int(_text(browser, "events-stored")) == values["events_stored_total"]
    assert _int(_text(browser, "consume-lag")) == values["consume_lag_records"] == 0
    assert _int(_text(browser, "dead-letters")) == values["dead_letters_pending"]
    assert _text(browser, "health") == served.get("/health")["status"]
    assert any(r[0] == "GET /stats/dau" for r in _rows(browser, "routes"))
    assert _severe_console_messages(browser) == []
    _screenshot(browser, "operations")


def test_keyboard_reaches_every_page_and_every_control_has_a_label(browser: Any, served: Served) -> None:
    _sign_in(browser, served)
    _wait_loaded(browser, "Overview")
    # The first Tab reaches the skip link, the next ones the page links in order
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    focused = [browser.switch_to.active_element.text]
    for _ in range(6):
        browser.switch_to.active_element.send_keys(Keys.TAB)
        focused.append(browser.switch_to.active_element.text)
    assert focused == [
        "Skip to content",
        "Overview",
        "Insights",
        "Content",
        "A person",
        "Models",
        "Operations",
    ]
    # Enter on a focused link opens its page, marked as the current one
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    _wait_loaded(browser, "Operations")
    assert browser.find_element(By.CSS_SELECTOR, "nav a[aria-current='page']").text == "Operations"
    # Arrow keys move between the insight tabs
    _open(browser, "insights", "Insights")
    browser.find_element(By.ID, "tab-trends").send_keys(Keys.ARROW_RIGHT)
    WebDriverWait(browser, WAIT_S).until(
        lambda d: d.switch_to.active_element.get_attribute("id") == "tab-funnel"
    )
    # Every control of every page has a label
    for page, title in [
        ("overview", "Overview"),
        ("insights", "Insights"),
        ("content", "Content"),
        ("person", "A person"),
        ("models", "Models"),
        ("operations", "Operations"),
    ]:
        _open(browser, page, title)
        unlabelled = browser.execute_script(
            "return [...document.querySelectorAll('main input, main select, main textarea')]"
            ".filter(e => !e.labels?.length && !e.getAttribute('aria-label')).map(e => e.outerHTML)"
        )
        assert unlabelled == [], page
    assert _severe_console_messages(browser) == []


def test_first_paint_is_recorded(browser: Any, served: Served) -> None:
    """Measured, not asserted (bench/console.py prints the figure): the page paints at all."""
    browser.get(served.url + "/")
    _wait_for(browser, "#key")
    time.sleep(0.2)
    paint = browser.execute_script(
        "return performance.getEntriesByType('paint').map(p => [p.name, p.startTime])"
    )
    names = {name for name, _ in paint}
    assert "first-contentful-paint" in names
    print("console first paint:", json.dumps(paint))
