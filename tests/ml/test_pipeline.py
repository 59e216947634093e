"""The state machine, run by moto's Step Functions executor with Task states reaching our real handlers."""

from __future__ import annotations

import json

from eventlens.components import Components
from eventlens.keys import DEFAULT_PROJECT
from eventlens.ml import registry
from eventlens.ml.contracts import PipelineInput
from eventlens.ml.layout import ProjectObjects
from eventlens_tools.local.lambda_api import function_name
from eventlens_tools.local.pipeline import PipelineRun, definition, run_pipeline
from tests.ml.conftest import LAST_DAY

PNG = b"\x89PNG\r\n\x1a\n"
TRAINED = ["Export", "Snapshot", "Train", "Evaluate", "BetterThanPromoted"]  # then Promote or KeepPromoted
DEFAULT = PipelineInput(project_id=DEFAULT_PROJECT, until=LAST_DAY)


def default_objects(parts: Components) -> ProjectObjects:
    return ProjectObjects(parts.objects, DEFAULT_PROJECT)


def test_state_machine_runs_end_to_end_through_the_real_handlers(first_run: PipelineRun) -> None:
    # Given a warehouse with a year of shoppers and an empty registry (the session's first run)
    # When the ml_pipeline state machine has run
    # Then it went through every step of the project, each a real handler invoked over the Lambda API,
    # and promoted
    assert first_run.status == "SUCCEEDED", (first_run.error, first_run.cause)
    assert first_run.states == [
        "Projects",
        "EveryProject",
        *TRAINED,
        "Promote",
        "ProjectTrained",
        "EveryProjectTrained",
        "PipelineDone",
    ]
    assert first_run.invocations == [
        ("export", "ok"),
        ("export", "ok"),
        ("snapshot", "ok"),
        ("training", "ok"),
        ("training", "ok"),
        ("training", "ok"),
    ]
    assert list(first_run.runs) == [DEFAULT_PROJECT]
    output = first_run.runs[DEFAULT_PROJECT]
    assert output["trained"] is True
    assert output["export"]["watermark"] == LAST_DAY.isoformat() and output["export"]["rows"] > 100_000
    assert output["snapshot"]["as_of"] == LAST_DAY.isoformat()
    assert output["promotion"] == {"promoted": output["training"]["version"], "previous": None}


def test_classifier_beats_the_recency_frequency_baseline_on_held_out_data(first_run: PipelineRun) -> None:
    # Given the first run's candidate, scored on the held-out (last) snapshot date
    metrics = first_run.runs[DEFAULT_PROJECT]["training"]["metrics"]

    # Then it separates buyers well, better than recency and frequency alone
    assert metrics["roc_auc"] >= 0.80
    assert metrics["roc_auc"] > metrics["baseline_roc_auc"]
    assert metrics["pr_auc"] > metrics["baseline_pr_auc"]
    # and the regressions are in a sensible range for a 7-day horizon
    assert 0 < metrics["days_mae"] < 3.5


def test_metrics_and_plots_are_stored_beside_the_model(served: Components, first_run: PipelineRun) -> None:
    # Given the version the first run registered
    version = first_run.runs[DEFAULT_PROJECT]["training"]["version"]
    prefix = f"{registry.VERSIONS}/{version}"

    # Then its model, metrics and ROC, PR and calibration plots are in object storage (the default
    # project's, where they were before projects)
    keys = set(served.objects.list(prefix))
    assert keys == {
        f"{prefix}/{name}" for name in ("model.pkl", "metrics.json", "roc.png", "pr.png", "calibration.png")
    }
    for plot in ("roc.png", "pr.png", "calibration.png"):
        assert served.objects.get(f"{prefix}/{plot}").startswith(PNG)
    stored = json.loads(served.objects.get(f"{prefix}/metrics.json"))
    assert stored["metrics"] == first_run.runs[DEFAULT_PROJECT]["training"]["metrics"]
    expected = {"roc_auc", "pr_auc", "days_rmse", "days_mae", "amount_rmse", "amount_mae"}
    assert expected <= set(stored["metrics"])
    promoted = registry.promoted(default_objects(served))
    assert promoted is not None and promoted["version"] == version


def test_a_candidate_that_is_not_better_stays_unpromoted(served: Components, first_run: PipelineRun) -> None:
    # Given a promoted model and no new events since
    promoted = registry.promoted(default_objects(served))

    # When the pipeline runs again (nothing new to export; the same snapshot trains an equal model)
    again = run_pipeline(served.settings, DEFAULT, parts=served)

    # Then the new version is registered but the Choice keeps the promoted one
    assert again.status == "SUCCEEDED", (again.error, again.cause)
    assert again.states[-5:-2] == ["BetterThanPromoted", "KeepPromoted", "ProjectTrained"]
    output = again.runs[DEFAULT_PROJECT]
    assert output["export"]["rows"] == 0
    assert output["evaluation"]["better"] is False
    assert output["training"]["version"] in registry.versions(default_objects(served))
    assert registry.promoted(default_objects(served)) == promoted


def test_a_failing_step_is_caught_and_fails_the_execution(components: Components) -> None:
    # Given a warehouse with no events at all
    # When the pipeline runs for the default project
    run = run_pipeline(components.settings, DEFAULT, parts=components)

    # Then export finds nothing, snapshot raises, the Catch ends the project's run, and the execution
    # fails saying why
    assert run.status == "FAILED"
    assert run.states == [
        "Projects",
        "EveryProject",
        "Export",
        "Snapshot",
        "ProjectNotTrained",
        "EveryProjectTrained",
        "PipelineFailed",
    ]
    assert run.invocations == [("export", "ok"), ("export", "ok"), ("snapshot", "NotEnoughHistory")]
    assert run.error == "MlPipelineFailed"
    assert run.runs[DEFAULT_PROJECT]["trained"] is False
    assert run.runs[DEFAULT_PROJECT]["error"]["Error"] == "NotEnoughHistory"


def test_the_schedule_input_with_no_events_anywhere_trains_nothing(components: Components) -> None:
    # Given a warehouse with no events at all
    # When the pipeline runs with the nightly schedule's input ({}: every project with events)
    run = run_pipeline(components.settings, PipelineInput(until=LAST_DAY), parts=components)

    # Then there is no project to train, and nothing failed
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert run.states == ["Projects", "EveryProject", "EveryProjectTrained", "PipelineDone"]
    assert run.runs == {} and run.invocations == [("export", "ok")]


def test_the_deployed_definition_has_only_function_placeholders() -> None:
    # Given the ASL file infra/ deploys
    # When its placeholders are filled with function ARNs
    filled = json.dumps(
        definition(
            {n: f"arn:aws:lambda:eu-west-1:1:function:{n}" for n in ("export", "snapshot", "training")}
        )
    )

    # Then nothing is left unfilled, and the Lambda API finds each function by its ARN
    assert "${" not in filled
    assert function_name("arn%3Aaws%3Alambda%3Aeu-west-1%3A1%3Afunction%3Atraining") == "training"
    assert function_name("arn:aws:lambda:eu-west-1:1:function:export:live") == "export"
