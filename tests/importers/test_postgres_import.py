"""The Reports Backend's import from a real PostgreSQL (CRM + Telemetry) and its ``POST /report``,
checked against a computation in plain Python over the rows the source databases hold."""

from __future__ import annotations

import json
import urllib.request
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import pytest

from eventlens.components import Components
from eventlens.events import event_id_for
from eventlens.importers.postgres import erase_person_from_crm, import_postgres
from eventlens.warehouse import Warehouse
from eventlens_tools import cli
from eventlens_tools.local.runtime import LocalRuntime
from tests.conftest import OTHER_PROJECT, OTHER_SECRET_KEY, TEST_SECRET_KEY, http_event, response_json
from tests.importers.conftest import STRANGERS, USERS, Sources

JANUARY = (datetime(2026, 1, 1), datetime(2026, 2, 1))


def _post_report(functions: dict[str, Any], body: Any, key: str = TEST_SECRET_KEY) -> tuple[int, Any]:
    response = functions["report"].invoke(http_event("report_telemetry.json", body, key=key))
    return response["statusCode"], response_json(response)


def _cli_environment(monkeypatch: pytest.MonkeyPatch, components: Components, sources: Sources) -> None:
    """The ``eventlens`` command's environment: this test's home and warehouse, the two sources."""
    monkeypatch.setenv("EVENTLENS_HOME", str(components.settings.home_dir))
    monkeypatch.setenv("EVENTLENS_CHDB_PATH", str(components.settings.chdb_path))
    monkeypatch.setenv("CLICKHOUSE_DATABASE", components.settings.clickhouse_database)
    monkeypatch.setenv("EVENTLENS_CRM_DSN", sources.crm_dsn)
    monkeypatch.setenv("EVENTLENS_TELEMETRY_DSN", sources.telemetry_dsn)


def _project_rows(warehouse: Warehouse, project_id: str) -> dict[str, list[dict[str, Any]]]:
    """What a project holds of the imports: its CRM rows and its events."""
    scope = {"project": project_id}
    users = "SELECT * FROM users FINAL WHERE project_id = {project:String} ORDER BY user_id"
    events = (
        "SELECT event_id, user_id, event_type, ts, source, properties FROM events"
        " WHERE project_id = {project:String} ORDER BY event_id"
    )
    return {
        "users": warehouse.query(users, scope).to_pylist(),
        "events": warehouse.query(events, scope).to_pylist(),
    }


def _crm_ids(warehouse: Warehouse, project_id: str) -> set[int]:
    return {row["user_id"] for row in _project_rows(warehouse, project_id)["users"]}


def _events_of(warehouse: Warehouse, project_id: str, user_id: str) -> int:
    counted = warehouse.query(
        "SELECT count() AS n FROM events WHERE project_id = {project:String} AND user_id = {user:String}",
        {"project": project_id, "user": user_id},
    )
    return int(counted.column("n")[0].as_py())


def _expected(
    sources: Sources,
    rows: list[dict[str, Any]],
    user_id: int,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, Any]:
    """The Reports Backend's report from source rows: bounds inclusive at whole seconds."""
    mine = [
        r
        for r in rows
        if r["user_id"] == user_id
        and (start is None or r["event_timestamp"].replace(microsecond=0) >= start)
        and (end is None or r["event_timestamp"].replace(microsecond=0) <= end)
    ]
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in mine:
        by_type[row["prosthesis_type"]].append(row)
    user = sources.users[user_id]
    return {
        "user_name": user["name"],
        "user_email": user["email"],
        "total_events": len(mine),
        "total_duration": sum(r["signal_duration"] for r in mine),
        "prosthesis_stats": [
            {
                "prosthesis_type": kind,
                "events_count": len(group),
                "total_duration": sum(r["signal_duration"] for r in group),
                "avg_amplitude": sum(r["signal_amplitude"] for r in group) / len(group),
                "avg_frequency": sum(r["signal_frequency"] for r in group) / len(group),
            }
            for kind, group in sorted(by_type.items())
        ],
    }


def _assert_report(got: dict[str, Any], expected: dict[str, Any]) -> None:
    """Equal, the averages to the two decimals the report rounds them to."""
    for key in ("user_name", "user_email", "total_events", "total_duration"):
        assert got[key] == expected[key], key
    assert [s["prosthesis_type"] for s in got["prosthesis_stats"]] == [
        s["prosthesis_type"] for s in expected["prosthesis_stats"]
    ]
    for mine, theirs in zip(got["prosthesis_stats"], expected["prosthesis_stats"], strict=True):
        assert (mine["events_count"], mine["total_duration"]) == (
            theirs["events_count"],
            theirs["total_duration"],
        )
        for key in ("avg_amplitude", "avg_frequency"):
            assert abs(mine[key] - theirs[key]) <= 0.005 + 1e-9, (key, mine, theirs)


def _assert_rollups_match_events(warehouse: Warehouse) -> None:
    """The rollups that reports read say what the event table holds, project by project (nothing but
    telemetry here)."""

    def rows(sql: str) -> list[dict[str, Any]]:
        return warehouse.query(sql).to_pylist()

    daily = (
        "SELECT project_id, day, sum(events) AS n, uniqExactMerge(users) AS u FROM daily_rollup"
        " GROUP BY project_id, day"
    )
    direct = (
        "SELECT project_id, toDate(ts) AS day, count() AS n, uniqExact(user_id) AS u FROM events"
        " GROUP BY project_id, day"
    )
    assert rows(f"{daily} HAVING n > 0 ORDER BY project_id, day") == rows(
        f"{direct} ORDER BY project_id, day"
    )
    hourly = (
        "SELECT project_id, day, hour, sum(events) AS n FROM hourly_rollup"
        " GROUP BY project_id, day, hour HAVING n > 0"
    )
    direct = (
        "SELECT project_id, toDate(ts) AS day, toHour(ts) AS hour, count() AS n FROM events"
        " GROUP BY project_id, day, hour"
    )
    order = " ORDER BY project_id, day, hour"
    assert rows(hourly + order) == rows(direct + order)
    periods = "SELECT project_id, toString(period) AS period, start, user FROM user_periods FINAL"
    direct = (
        "SELECT DISTINCT project_id, p.1 AS period, p.2 AS start, user FROM (SELECT DISTINCT project_id,"
        " toDate(ts) AS day, reinterpretAsUInt128(sipHash128(user_id)) AS user FROM events)"
        " ARRAY JOIN [('day', day), ('week', toMonday(day)), ('month', toStartOfMonth(day))] AS p"
    )
    order = " ORDER BY project_id, period, start, user"
    assert rows(periods + order) == rows(direct + order)
    first = "SELECT project_id, user, min(first_day) AS d FROM user_first GROUP BY project_id, user"
    direct = (
        "SELECT project_id, reinterpretAsUInt128(sipHash128(user_id)) AS user, min(toDate(ts)) AS d"
        " FROM events GROUP BY project_id, user"
    )
    assert rows(first + " ORDER BY project_id, user") == rows(direct + " ORDER BY project_id, user")
    per_project = "SELECT project_id, count() AS n, uniqExact(event_id) AS ids FROM {} GROUP BY project_id"
    order = " ORDER BY project_id"
    assert rows(per_project.format("telemetry_events") + order) == rows(per_project.format("events") + order)


def _stored_ids(warehouse: Warehouse) -> set[str]:
    return {str(v) for v in warehouse.query("SELECT event_id FROM events").column("event_id").to_pylist()}


def test_report_matches_an_independent_computation_after_import(
    components: Components, sources: Sources, functions: dict[str, Any]
) -> None:
    # Given both source databases imported whole
    result = import_postgres(
        components.warehouse, sources.crm_dsn, sources.telemetry_dsn, batch_rows=1_000, project_id="default"
    )
    rows = list(sources.telemetry.values())
    known = [r for r in rows if r["user_id"] not in STRANGERS]
    assert (result.users, result.telemetry_read, result.inserted) == (
        len(sources.users),
        len(rows),
        len(known),
    )
    periods = [
        (None, None),
        (datetime(2026, 1, 1), datetime(2026, 3, 1, 23, 59, 59)),
        (datetime(2026, 2, 10, 6, 30, 15), None),
        (None, datetime(2026, 1, 20, 12, 0, 0)),
    ]
    for user_id in sources.users:
        for start, end in periods:
            body: dict[str, Any] = {"user_id": user_id}
            body |= {"start_ts": start.isoformat()} if start else {}
            body |= {"end_ts": end.isoformat()} if end else {}
            # When a Reports Backend client asks for the user's report
            status, got = _post_report(functions, body)
            # Then it answers the Reports Backend's shape with what the source rows say
            assert status == 200, got
            _assert_report(got, _expected(sources, rows, user_id, start, end))
    # And the CRM's text came through CSV intact, NULL and "" kept apart
    users = {
        u["user_id"]: u
        for u in components.warehouse.query(
            "SELECT user_id, name, address, age, phone FROM users"
        ).to_pylist()
    }
    assert (users[7]["name"], users[7]["address"]) == ('Ivan "Vanya", Ivanov', "Lenina 1,\nkv. 2")
    assert (users[8]["age"], users[8]["address"], users[8]["phone"]) == (None, None, "")
    _assert_rollups_match_events(components.warehouse)


def test_an_unknown_user_answers_404_naming_user_id(
    components: Components, sources: Sources, functions: dict[str, Any]
) -> None:
    # Given an import whose Telemetry DB has rows of a user the CRM does not know
    import_postgres(components.warehouse, sources.crm_dsn, sources.telemetry_dsn, project_id="default")
    # When that user's report is asked for
    status, body = _post_report(functions, {"user_id": STRANGERS[0]})
    # Then it answers 404 naming user_id, and none of the user's rows were stored
    assert status == 404 and body["error"]["field"] == "user_id" and body["detail"], body
    stored = components.warehouse.query("SELECT count() AS n FROM events WHERE user_id IN ('41', '42')")
    assert stored.column("n")[0].as_py() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "user_id"),
        ({"user_id": "five hundred"}, "user_id"),
        ({"user_id": 512, "start_ts": "invalid-date"}, "start_ts"),
        ({"user_id": 512, "end_ts": "2026-13-01T00:00:00"}, "end_ts"),
        ({"user_id": 512, "start_ts": "2026-03-01T00:00:00", "end_ts": "2026-01-01T00:00:00"}, "start_ts"),
    ],
)
def test_a_bad_body_answers_422_naming_the_field(
    components: Components, functions: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    # Given a report request with one bad field / When the handler gets it
    status, answer = _post_report(functions, body)
    # Then it answers 422 naming that field and why
    assert status == 422, answer
    assert answer["error"]["field"] == field and answer["error"]["reason"], answer


def test_a_reimport_of_the_same_rows_changes_nothing(
    components: Components, sources: Sources, functions: dict[str, Any]
) -> None:
    # Given the sources imported once
    warehouse = components.warehouse
    import_postgres(warehouse, sources.crm_dsn, sources.telemetry_dsn, project_id="default")
    before = _stored_ids(warehouse)
    status, report_before = _post_report(functions, {"user_id": 5})
    # When they are imported again, whole and for January
    again = import_postgres(warehouse, sources.crm_dsn, sources.telemetry_dsn, project_id="default")
    window = import_postgres(
        warehouse, sources.crm_dsn, sources.telemetry_dsn, *JANUARY, project_id="default"
    )
    # Then nothing was removed or inserted, and every row keeps its id: the UUID5 of its telemetry id
    assert (again.removed, again.inserted, window.removed, window.inserted) == (0, 0, 0, 0)
    assert (
        _stored_ids(warehouse)
        == before
        == {
            event_id_for(str(r["id"]), "telemetry")
            for r in sources.telemetry.values()
            if r["user_id"] not in STRANGERS
        }
    )
    assert _post_report(functions, {"user_id": 5}) == (status, report_before)
    _assert_rollups_match_events(warehouse)


def test_a_window_reimport_mirrors_the_source_in_that_window_only(
    components: Components, sources: Sources, functions: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the sources imported once
    warehouse = components.warehouse
    import_postgres(warehouse, sources.crm_dsn, sources.telemetry_dsn, project_id="default")
    imported = {row_id: dict(row) for row_id, row in sources.telemetry.items()}
    # And then, in the Telemetry DB: January rows deleted, changed and added, and a February row changed
    january = [r for r in imported.values() if JANUARY[0] <= r["event_timestamp"] < JANUARY[1]]
    february = [r for r in imported.values() if r["event_timestamp"] >= JANUARY[1]]
    sources.delete_telemetry([r["id"] for r in january[:40]])
    for row in january[40:70]:
        sources.set_amplitude(row["id"], row["signal_amplitude"] + 10)
    next_id = max(imported) + 1
    sources.add_telemetry(
        [
            sources.new_row(next_id + i, 1 + i % 40, datetime(2026, 1, 15, 8) + timedelta(minutes=i))
            for i in range(50)
        ]
    )
    sources.set_amplitude(february[0]["id"], 99.0)
    # When January is imported again through the CLI
    _cli_environment(monkeypatch, components, sources)
    code = cli.main(
        [
            "import-postgres",
            "--telemetry_start_ts",
            "2026-01-01 00:00:00",
            "--telemetry_end_ts",
            "2026-02-01 00:00:00",
        ]
    )
    # Then January is what the source holds now, the rest as it was imported
    assert code == 0
    expected_rows = [
        r for r in sources.telemetry.values() if JANUARY[0] <= r["event_timestamp"] < JANUARY[1]
    ] + [r for r in imported.values() if not JANUARY[0] <= r["event_timestamp"] < JANUARY[1]]
    for user_id in sources.users:
        status, got = _post_report(functions, {"user_id": user_id})
        assert status == 200, got
        _assert_report(got, _expected(sources, expected_rows, user_id))
    # (the February row changed outside the window keeps the value imported before)
    assert warehouse.query("SELECT 1 FROM telemetry_events WHERE signal_amplitude = 99").num_rows == 0
    _assert_rollups_match_events(warehouse)


def test_telemetry_of_users_gone_from_the_crm_is_removed(
    components: Components, sources: Sources, functions: dict[str, Any]
) -> None:
    # Given the sources imported once, then user 3 deleted from the CRM
    warehouse = components.warehouse
    import_postgres(warehouse, sources.crm_dsn, sources.telemetry_dsn, project_id="default")
    assert _post_report(functions, {"user_id": 3})[0] == 200
    sources.delete_user(3)
    # When only February is imported again
    result = import_postgres(
        warehouse,
        sources.crm_dsn,
        sources.telemetry_dsn,
        datetime(2026, 2, 1),
        datetime(2026, 3, 1),
        project_id="default",
    )
    # Then every event of user 3 is gone, in every month, and the user is unknown
    users_rows = sum(1 for r in sources.telemetry.values() if r["user_id"] == 3)
    assert result.removed == users_rows > 0 and result.inserted == 0
    assert warehouse.query("SELECT 1 FROM events WHERE user_id = '3'").num_rows == 0
    assert _post_report(functions, {"user_id": 3})[0] == 404
    _assert_rollups_match_events(warehouse)


def test_importing_into_one_project_leaves_the_other_projects_crm_rows_and_events_untouched(
    components: Components, sources: Sources, functions: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the sources imported into the default project
    warehouse = components.warehouse
    import_postgres(warehouse, sources.crm_dsn, sources.telemetry_dsn, project_id="default")
    before = _project_rows(warehouse, "default")
    report_before = _post_report(functions, {"user_id": 3})
    # When they are imported into the other project through the command, then user 3 leaves the CRM,
    # rows are deleted from the Telemetry DB, and the other project is imported again
    _cli_environment(monkeypatch, components, sources)
    assert cli.main(["import-postgres", "--project", OTHER_PROJECT]) == 0
    first = _project_rows(warehouse, OTHER_PROJECT)
    sources.delete_user(3)
    sources.delete_telemetry(sorted(sources.telemetry)[:30])
    again = import_postgres(warehouse, sources.crm_dsn, sources.telemetry_dsn, project_id=OTHER_PROJECT)
    # Then the default project's CRM rows, events and reports are exactly as they were
    assert _project_rows(warehouse, "default") == before
    assert _post_report(functions, {"user_id": 3}) == report_before
    # and the other project had every row (the same event ids as the default project's), then lost
    # user 3 and the deleted rows
    assert [e["event_id"] for e in first["events"]] == [e["event_id"] for e in before["events"]]
    assert [u | {"project_id": "default"} for u in first["users"]] == before["users"]
    assert again.removed > 0 and again.inserted == 0
    assert _crm_ids(warehouse, OTHER_PROJECT) == set(sources.users) and len(sources.users) == USERS - 1
    assert {str(e["event_id"]) for e in _project_rows(warehouse, OTHER_PROJECT)["events"]} == {
        event_id_for(str(r["id"]), "telemetry")
        for r in sources.telemetry.values()
        if r["user_id"] not in (*STRANGERS, 3)
    }
    assert _post_report(functions, {"user_id": 3}, OTHER_SECRET_KEY)[0] == 404
    _assert_rollups_match_events(warehouse)


def test_a_person_erased_from_a_projects_crm_stays_out_of_its_reimports_only(
    components: Components, sources: Sources
) -> None:
    # Given the sources imported into both projects
    warehouse = components.warehouse
    for project in ("default", OTHER_PROJECT):
        import_postgres(warehouse, sources.crm_dsn, sources.telemetry_dsn, project_id=project)
    fives = sum(1 for r in sources.telemetry.values() if r["user_id"] == 5)
    # When user 5 is erased from the default project's CRM by their id (twice), and user 6 from the
    # other project's by their UUID
    by_uuid = str(sources.users[6]["user_uuid"])
    erased = [
        erase_person_from_crm(warehouse, "default", "5"),
        erase_person_from_crm(warehouse, "default", "5"),
        erase_person_from_crm(warehouse, OTHER_PROJECT, by_uuid),
    ]
    # Then each left their own project's CRM only
    assert erased == [1, 0, 1]
    assert _crm_ids(warehouse, "default") == set(sources.users) - {5}
    assert _crm_ids(warehouse, OTHER_PROJECT) == set(sources.users) - {6}
    # And a re-import of the default project, with user 5 suppressed there, leaves them out and removes
    # their telemetry from it; the other project keeps theirs
    result = import_postgres(
        warehouse, sources.crm_dsn, sources.telemetry_dsn, project_id="default", suppressed={"5"}
    )
    assert (result.users, result.removed, result.inserted) == (USERS - 1, fives, 0) and fives > 0
    assert _crm_ids(warehouse, "default") == set(sources.users) - {5}
    assert (_events_of(warehouse, "default", "5"), _events_of(warehouse, OTHER_PROJECT, "5")) == (0, fives)
    _assert_rollups_match_events(warehouse)


@pytest.mark.parametrize("project", ["prj_nobody0000000000", "x') DROP TABLE users --", ""])
def test_an_import_into_a_missing_or_malformed_project_is_refused(
    components: Components,
    sources: Sources,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    project: str,
) -> None:
    # Given no import yet / When the command is asked to import into a project that cannot take it
    _cli_environment(monkeypatch, components, sources)
    code = cli.main(["import-postgres", "--project", project])
    # Then it exits 1 saying why, and nothing was imported
    assert code == 1 and capsys.readouterr().err.startswith("import-postgres: ")
    assert components.warehouse.query("SELECT count() AS n FROM users").column("n")[0].as_py() == 0
    assert components.warehouse.query("SELECT count() AS n FROM events").column("n")[0].as_py() == 0


def test_the_importer_refuses_a_project_id_it_could_not_write_into_ddl(
    components: Components, sources: Sources
) -> None:
    # Given / When the layer is called with a project id holding a quote / Then it refuses before reading
    with pytest.raises(ValueError, match="project id"):
        import_postgres(components.warehouse, sources.crm_dsn, sources.telemetry_dsn, project_id="it's")


def test_the_report_answers_through_eventlens_local(components: Components, sources: Sources) -> None:
    # Given the sources imported and eventlens local serving the manifest on that warehouse
    import_postgres(components.warehouse, sources.crm_dsn, sources.telemetry_dsn, project_id="default")
    settings = components.settings.model_copy(update={"home": components.settings.home_dir / "local"})
    runtime = LocalRuntime(settings, port=0)
    runtime.start()
    try:
        # When a Reports Backend client posts its request over HTTP
        body = {"user_id": 9, "start_ts": "2026-01-01T00:00:00", "end_ts": "2026-03-01T23:59:59"}
        assert runtime.default_keys is not None
        secret = runtime.default_keys.secret_key
        request = urllib.request.Request(
            f"{runtime.url}/report",
            data=json.dumps(body).encode(),
            headers={"content-type": "application/json", "authorization": f"Bearer {secret}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            got = json.loads(response.read())
        # Then it answers with what the source rows say
        rows = list(sources.telemetry.values())
        _assert_report(
            got, _expected(sources, rows, 9, datetime(2026, 1, 1), datetime(2026, 3, 1, 23, 59, 59))
        )
    finally:
        runtime.stop()
