"""Training again on the same data reuses the registered model version: a demo or pipeline re-run
with no new day exported does not grow the registry."""

from __future__ import annotations

from eventlens.components import Components
from eventlens.keys import DEFAULT_PROJECT
from eventlens.ml import registry
from eventlens.ml.contracts import PipelineInput
from eventlens.ml.layout import ProjectObjects
from eventlens.ml.training import training_fingerprint
from eventlens.settings import Settings
from eventlens_tools.local.pipeline import PipelineRun, run_pipeline
from tests.ml.conftest import LAST_DAY


def test_a_rerun_on_the_same_data_keeps_the_version_count(served: Components, first_run: PipelineRun) -> None:
    # Given the state machine's first run, which registered and promoted a version
    assert first_run.status == "SUCCEEDED", (first_run.error, first_run.cause)
    objects = ProjectObjects(served.objects, DEFAULT_PROJECT)
    before = registry.versions(objects)
    promoted = registry.promoted(objects)
    first = first_run.runs[DEFAULT_PROJECT]

    # When the pipeline runs again on the same data (nothing new to export, the same snapshot)
    told: list[str] = []
    request = PipelineInput(project_id=DEFAULT_PROJECT, until=LAST_DAY)
    again = run_pipeline(served.settings, request, parts=served, on_state=told.append)

    # Then the training step returned the version it registered before, with its metrics
    assert again.status == "SUCCEEDED", (again.error, again.cause)
    output = again.runs[DEFAULT_PROJECT]
    assert output["export"]["rows"] == 0
    assert output["training"]["version"] == first["training"]["version"]
    assert output["training"]["metrics"] == first["training"]["metrics"]
    assert registry.versions(objects) == before
    # and that version stays promoted (it does not beat itself)
    assert "KeepPromoted" in again.states and "Promote" not in again.states
    assert registry.promoted(objects) == promoted
    # and each state was told as the execution entered it
    assert told == again.states


def test_the_fingerprint_changes_with_the_snapshot_and_the_parameters(settings: Settings) -> None:
    snapshot = b"PAR1 some snapshot bytes"
    same = training_fingerprint(snapshot, settings)
    assert training_fingerprint(snapshot, settings) == same
    assert training_fingerprint(snapshot + b"!", settings) != same
    other_horizon = settings.model_copy(update={"ml_horizon_days": settings.ml_horizon_days + 1})
    assert training_fingerprint(snapshot, other_horizon) != same
