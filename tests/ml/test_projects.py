"""Two projects with the same user ids (and event ids) but different events: the nightly run trains each,
and no export, snapshot, model or prediction of one holds anything of the other (chDB, moto's Step
Functions, the real handlers, local files)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from eventlens.components import Components
from eventlens.keys import DEFAULT_PROJECT
from eventlens.ml import predict, registry
from eventlens.ml.contracts import PipelineInput, ProjectRun, SnapshotRequest
from eventlens.ml.export import export_events
from eventlens.ml.layout import ProjectObjects
from eventlens.ml.snapshot import build_snapshots, snapshot_keys
from eventlens.ml.training import training_fingerprint
from eventlens.objectstore import LocalObjectStore
from eventlens_tools.local.invoke import LocalFunction
from eventlens_tools.local.pipeline import PipelineRun, run_pipeline
from eventlens_tools.shoppers import generate_shopper_events, warehouse_rows
from tests.conftest import (
    OTHER_PROJECT,
    OTHER_SECRET_KEY,
    TEST_SECRET_KEY,
    hand,
    isolated_settings,
    opened_components,
    response_json,
)
from tests.ml.conftest import END, LAST_DAY, api_event, in_project

PROJECTS = (DEFAULT_PROJECT, OTHER_PROJECT)
KEYS = {DEFAULT_PROJECT: TEST_SECRET_KEY, OTHER_PROJECT: OTHER_SECRET_KEY}


@pytest.fixture(scope="module")
def other_rows(shopper_rows: pa.Table) -> pa.Table:
    """Other shoppers' last four months (another seed), under the default project's user ids and event ids."""
    rows = warehouse_rows(generate_shopper_events(900, 120, seed=12, end=END), received_at=END)
    theirs = pc.unique(rows.column("user_id"))
    ours = pc.unique(shopper_rows.column("user_id"))[: len(theirs)]
    users = pc.take(ours, pc.index_in(rows.column("user_id"), theirs))
    ids = shopper_rows.column("event_id")[: rows.num_rows]
    rows = rows.set_column(rows.column_names.index("user_id"), "user_id", users)
    return rows.set_column(rows.column_names.index("event_id"), "event_id", ids)


@pytest.fixture(scope="module")
def rows_of(shopper_rows: pa.Table, other_rows: pa.Table) -> dict[str, pa.Table]:
    return {DEFAULT_PROJECT: shopper_rows, OTHER_PROJECT: other_rows}


@pytest.fixture(scope="module")
def two_projects(
    tmp_path_factory: pytest.TempPathFactory, chdb_dir: Path, rows_of: dict[str, pa.Table]
) -> Iterator[tuple[Components, PipelineRun]]:
    """Both projects' events in one warehouse, and the nightly run (input {}) over them."""
    settings = isolated_settings(tmp_path_factory.mktemp("two-projects"), chdb_dir, prefix="ml2")
    with opened_components(settings) as parts:
        for project, rows in rows_of.items():
            parts.warehouse.insert_arrow("events", in_project(rows, project))
        yield parts, run_pipeline(settings, PipelineInput(until=LAST_DAY), parts=parts)


@pytest.fixture(scope="module")
def alone(
    tmp_path_factory: pytest.TempPathFactory, chdb_dir: Path, rows_of: dict[str, pa.Table]
) -> dict[str, dict[str, bytes]]:
    """Each project's export and snapshots as an install holding only its events writes them."""
    written = {}
    for project, rows in rows_of.items():
        settings = isolated_settings(tmp_path_factory.mktemp(f"alone-{project}"), chdb_dir, prefix="alone")
        with opened_components(settings) as parts:
            parts.warehouse.insert_arrow("events", in_project(rows))
            export_events(
                parts.warehouse, parts.objects, ProjectRun(project_id=DEFAULT_PROJECT, until=LAST_DAY)
            )
            build_snapshots(parts.objects, SnapshotRequest(project_id=DEFAULT_PROJECT, as_of=None), settings)
            written[project] = objects_of(parts.objects, DEFAULT_PROJECT, ("exports/", "snapshots/"))
    return written


def objects_of(store: Any, project: str, prefixes: tuple[str, ...] = ("",)) -> dict[str, bytes]:
    view = ProjectObjects(store, project)
    return {key: view.get(key) for prefix in prefixes for key in view.list(prefix)}


def test_the_nightly_run_trains_every_project_with_events(
    two_projects: tuple[Components, PipelineRun], rows_of: dict[str, pa.Table]
) -> None:
    # Given two projects with events, and the schedule's input ({}: every project)
    _, run = two_projects

    # Then the execution trained each of them, one after the other, each on its own events
    assert run.status == "SUCCEEDED", (run.error, run.cause, run.output.get("outcome"))
    assert list(run.runs) == sorted(PROJECTS)
    one_project = [
        "Export",
        "Snapshot",
        "Train",
        "Evaluate",
        "BetterThanPromoted",
        "Promote",
        "ProjectTrained",
    ]
    assert run.states == [
        "Projects",
        "EveryProject",
        *one_project,
        *one_project,
        "EveryProjectTrained",
        "PipelineDone",
    ]
    for project, rows in rows_of.items():
        assert run.runs[project]["trained"] is True
        assert run.runs[project]["export"]["rows"] == rows.num_rows


def test_each_project_exports_and_snapshots_its_own_events_only(
    two_projects: tuple[Components, PipelineRun], alone: dict[str, dict[str, bytes]]
) -> None:
    # Given the two projects' objects after the nightly run
    parts, _ = two_projects

    # Then each project's exports and snapshots are byte for byte those of an install holding only
    # its events (the same user ids and event ids in the other project change nothing)
    for project in PROJECTS:
        assert objects_of(parts.objects, project, ("exports/", "snapshots/")) == alone[project], project
    # and the store holds the default project at its old place, the other one under its own root
    roots = {
        key.split("/")[0] if not key.startswith("projects/") else "/".join(key.split("/")[:2])
        for key in parts.objects.list()
    }
    assert roots == {"exports", "snapshots", "models", f"projects/{OTHER_PROJECT}"}


def test_each_project_trains_and_promotes_its_own_models(
    two_projects: tuple[Components, PipelineRun], alone: dict[str, dict[str, bytes]]
) -> None:
    # Given the two projects' registries after the nightly run
    parts, run = two_projects
    for project in PROJECTS:
        objects = ProjectObjects(parts.objects, project)
        version = run.runs[project]["training"]["version"]

        # Then each registered its own first version, from its own training snapshot, and promoted it
        assert registry.versions(objects) == ["v000001"] == [version]
        assert registry.promoted(objects)["version"] == version  # type: ignore[index]
        (training_key,) = [k for k in snapshot_keys(objects) if k.startswith("snapshots/training/")]
        stored = registry.metrics(objects, version)
        assert stored["training_key"] == training_key
        assert stored["fingerprint"] == training_fingerprint(alone[project][training_key], parts.settings)
    # and the two models differ (they learned from different events)
    default, other = (registry.metrics(ProjectObjects(parts.objects, p), "v000001") for p in PROJECTS)
    assert default["metrics"]["roc_auc"] != other["metrics"]["roc_auc"]


def test_predictions_serve_the_callers_project(
    two_projects: tuple[Components, PipelineRun], functions: dict[str, LocalFunction]
) -> None:
    # Given the predict function serving the two projects, and a user id both projects know
    parts, _ = two_projects
    hand(parts, functions)
    predict_fn = functions["predict"]
    served = {project: predict.load_predictor(parts.objects, project) for project in PROJECTS}
    shared = sorted(set(served[DEFAULT_PROJECT].user_ids) & set(served[OTHER_PROJECT].user_ids))[0]

    for project, key in KEYS.items():
        # When each project's secret key asks for the likeliest buyers and for the shared user
        users = predict_fn.invoke(api_event("GET", "/users", "limit=20", key=key))
        scored = predict_fn.invoke(
            api_event("POST", "/predict", "", {"records": [{"user_id": shared}]}, key=key)
        )
        services = predict_fn.invoke(api_event("GET", "/services", key=key))

        # Then each gets its own project's model and snapshot, and nothing else
        own = served[project]
        assert response_json(users) == json.loads(predict.users_page(own, 0, 20).model_dump_json())
        assert response_json(users)["total"] == len(own.user_ids)
        expected = predict.predict_records(own, [{"user_id": shared}]).model_dump(mode="json")
        assert response_json(scored) == expected
        assert response_json(services)["details"]["context_aware"]["status"] == "loaded"
    # and the shared user id is scored differently in the two projects
    answers = [predict.predict_records(served[p], [{"user_id": shared}]).predictions[0] for p in PROJECTS]
    assert answers[0] != answers[1]


def test_a_project_without_a_model_answers_as_an_empty_install(
    served: Components, components: Components, functions: dict[str, LocalFunction]
) -> None:
    predict_fn = functions["predict"]
    asks = [("GET", "/users", ""), ("POST", "/predict", "service=context_aware"), ("GET", "/services", "")]
    body = {"records": [{"user_id": "u1"}]}

    def answers(key: str) -> list[tuple[int, Any]]:
        out = []
        for method, path, query in asks:
            response = predict_fn.invoke(
                api_event(method, path, query, body if method == "POST" else None, key=key)
            )
            out.append((response["statusCode"], response_json(response)))
        return out

    # Given an install where the default project has a promoted model and the other project none
    hand(served, functions)
    # When the other project's key asks the predict routes
    other = answers(OTHER_SECRET_KEY)
    # Then it gets what an install without any model answers
    hand(components, functions)
    assert other == answers(TEST_SECRET_KEY)
    assert other[0][0] == 503 and other[2][1]["details"]["context_aware"]["status"] == "error"


def test_a_projects_view_of_the_store_never_reaches_another_project(tmp_path: Path) -> None:
    # Given a store with an object of each project
    store = LocalObjectStore(tmp_path / "objects")
    default, other = ProjectObjects(store, DEFAULT_PROJECT), ProjectObjects(store, OTHER_PROJECT)
    default.put("models/context_aware/promoted.json", b"default")
    other.put("models/context_aware/promoted.json", b"other")

    # Then each reads and lists its own only
    assert sorted(store.list()) == [
        "models/context_aware/promoted.json",
        f"projects/{OTHER_PROJECT}/models/context_aware/promoted.json",
    ]
    assert list(default.list()) == list(other.list()) == ["models/context_aware/promoted.json"]
    assert default.get("models/context_aware/promoted.json") == b"default"
    assert other.get("models/context_aware/promoted.json") == b"other"
    # and no key leads out of the project's root
    for key in (f"projects/{OTHER_PROJECT}/models/context_aware/promoted.json", "projects"):
        with pytest.raises(ValueError):
            default.get(key)
    for key in ("../default/x", "models/../../x", "/etc/passwd", ""):
        with pytest.raises(ValueError):
            other.get(key)
    for project_id in ("../x", "a/b", "", "x" * 65):
        with pytest.raises(ValueError):
            ProjectObjects(store, project_id)
