"""Run ``state_machines/ml_pipeline.asl.json`` on this machine: moto's Step Functions executor
drives the definition, and its Task states reach our real handlers through the local Lambda API.

Nothing here interprets ASL: the definition deployed by infra/ is the one executed, read by the same
``eventlens.manifest.load_state_machines`` and filled by the same ``fill_function_arns``, with local
function ARNs. ``eventlens pipeline run`` and ``eventlens demo`` call this, for one project (the
``default`` one unless told); the nightly schedule's input ``{}`` runs every project with events.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

from eventlens.components import Components
from eventlens.keys import DEFAULT_PROJECT
from eventlens.manifest import fill_function_arns, load_manifest, load_state_machines
from eventlens.ml.contracts import PipelineInput
from eventlens.settings import Settings

STATE_MACHINE = "ml_pipeline"
REGION = "us-east-1"
ACCOUNT = "123456789012"
_ENTERED = (
    "TaskStateEntered",
    "MapStateEntered",
    "ChoiceStateEntered",
    "PassStateEntered",
    "FailStateEntered",
    "SucceedStateEntered",
)


@dataclass
class PipelineRun:
    status: str  # SUCCEEDED, FAILED, TIMED_OUT, ABORTED
    states: list[str]  # in the order they were entered (a Map's states once per project)
    # The execution's output; for a failed one, what it held when it entered its Fail state.
    output: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    cause: str | None = None
    invocations: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def runs(self) -> dict[str, dict[str, Any]]:
        """Each project's pass (``export``, ``snapshot``, ``training``, …, ``trained``), by project."""
        runs = self.output.get("outcome", {}).get("runs", [])
        return {run["project_id"]: run for run in runs}


def definition(arns: dict[str, str], name: str = STATE_MACHINE) -> dict[str, Any]:
    """The state machine's ASL with its function placeholders filled from ``arns`` (by function)."""
    filled: dict[str, Any] = fill_function_arns(load_state_machines()[name].definition, arns)
    return filled


def local_function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def run_pipeline(
    settings: Settings,
    request: PipelineInput | None = None,
    parts: Components | None = None,
    timeout_s: float = 1800,
    on_state: Callable[[str], None] | None = None,
) -> PipelineRun:
    """Start one execution of the ML pipeline and wait for it; ``on_state`` is told each state's name
    as the execution enters it. ``request`` names the project (default: every project with events,
    as the nightly schedule's ``{}``).

    The handlers are handed ``parts`` when given (a test's, or a runtime's serving in this process),
    otherwise new ones for ``settings``, closed after the run.
    """
    from eventlens_tools.local.lambda_api import LambdaApiServer

    own = parts is None
    parts = parts or Components(settings)
    machine = load_state_machines()[STATE_MACHINE]
    manifest = load_manifest()
    started = time.perf_counter()
    try:
        with LambdaApiServer({name: manifest[name] for name in machine.functions}, parts) as api:
            arns = {name: local_function_arn(name) for name in machine.functions}
            with _local_step_functions(api.url, passthrough_s3=bool(settings.bucket)) as sfn:
                run = _execute(sfn, definition(arns), request or PipelineInput(), timeout_s, on_state)
            run.invocations = list(api.invocations)
    finally:
        if own:
            parts.close()
    run.seconds = round(time.perf_counter() - started, 2)
    return run


@contextmanager
def _local_step_functions(lambda_url: str, passthrough_s3: bool) -> Iterator[Any]:
    """A Step Functions client on moto's executor, whose Lambda calls go to ``lambda_url``."""
    import boto3
    from moto import mock_aws

    config: dict[str, Any] = {"stepfunctions": {"execute_state_machine": True}}
    if passthrough_s3:  # the handlers' bucket is real (or MinIO/LocalStack), not moto's
        config["core"] = {"passthrough": {"services": ["s3"]}}
    saved = os.environ.get("AWS_ENDPOINT_URL_LAMBDA")
    os.environ["AWS_ENDPOINT_URL_LAMBDA"] = lambda_url
    try:
        with mock_aws(config=config):  # type: ignore[call-overload]
            yield boto3.client(
                "stepfunctions", region_name=REGION, endpoint_url=f"https://states.{REGION}.amazonaws.com"
            )
    finally:
        if saved is None:
            os.environ.pop("AWS_ENDPOINT_URL_LAMBDA", None)
        else:
            os.environ["AWS_ENDPOINT_URL_LAMBDA"] = saved


def _execute(
    sfn: Any,
    asl: dict[str, Any],
    request: PipelineInput,
    timeout_s: float,
    on_state: Callable[[str], None] | None = None,
) -> PipelineRun:
    machine = sfn.create_state_machine(
        name=STATE_MACHINE,
        definition=json.dumps(asl),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/{STATE_MACHINE}-local",
    )["stateMachineArn"]
    execution = sfn.start_execution(
        stateMachineArn=machine,
        name=f"local-{uuid.uuid4().hex[:12]}",
        input=request.model_dump_json(exclude_none=True),
    )["executionArn"]
    deadline = time.monotonic() + timeout_s
    described = sfn.describe_execution(executionArn=execution)
    told = 0
    while described["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.1)
        described = sfn.describe_execution(executionArn=execution)
        if on_state is not None:
            told = _tell_states(sfn, execution, told, on_state)
    events = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
    states = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"] in _ENTERED]
    if on_state is not None:
        for state in states[told:]:
            on_state(state)
    failed = [e.get("executionFailedEventDetails", {}) for e in events if e["type"] == "ExecutionFailed"]
    failure = failed[0] if failed else {}
    output = described.get("output") or _fail_state_input(events)
    return PipelineRun(
        status=described["status"],
        states=states,
        output=json.loads(output or "{}"),
        error=described.get("error") or failure.get("error"),
        cause=described.get("cause") or failure.get("cause"),
    )


def _fail_state_input(events: list[dict[str, Any]]) -> str | None:
    """What a failed execution held when it entered its Fail state (its output is empty)."""
    entered = [e["stateEnteredEventDetails"] for e in events if e["type"] == "FailStateEntered"]
    return entered[-1].get("input") if entered else None


def _tell_states(sfn: Any, execution: str, told: int, on_state: Callable[[str], None]) -> int:
    """Tell ``on_state`` the states entered since the first ``told``; returns how many are told."""
    events = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
    states = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"] in _ENTERED]
    for state in states[told:]:
        on_state(state)
    return max(told, len(states))


def run_ml_pipeline(
    settings: Settings,
    out: TextIO,
    request: PipelineInput | None = None,
    on_state: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The pipeline on the warehouse's events of one project (``default`` unless ``request`` names
    another), then its predictions; prints what they answer."""
    request = request or PipelineInput(project_id=DEFAULT_PROJECT)
    run = run_pipeline(settings, request, on_state=on_state)
    out.write(
        f"\nML pipeline (state machine {STATE_MACHINE}, moto's executor, real handlers): "
        f"{run.status} in {run.seconds:.1f} s\n  states: {' → '.join(run.states)}\n"
    )
    projects = {name: _project_report(settings, name, result, out) for name, result in run.runs.items()}
    if run.status != "SUCCEEDED":
        failed = run.output.get("error") or {"error": run.error, "cause": run.cause}
        if not run.runs:
            out.write(f"  failed: {json.dumps(failed)[:600]}\n")
        summary: dict[str, Any] = {"status": run.status, "states": run.states, "error": failed}
        return {**summary, "projects": projects}
    if request.project_id is not None and request.project_id in projects:
        # One project asked for: its figures at the top level, as the demo prints them.
        return {
            "status": run.status,
            "states": run.states,
            "seconds": run.seconds,
            **projects[request.project_id],
        }
    return {"status": run.status, "states": run.states, "seconds": run.seconds, "projects": projects}


def _project_report(settings: Settings, project: str, result: dict[str, Any], out: TextIO) -> dict[str, Any]:
    """Print one project's pass through the pipeline; returns its figures."""
    if not result.get("trained"):
        error = result.get("error") or {}
        out.write(f"  project {project}: not trained: {_reason(error)}\n")
        return {"trained": False, "error": error}
    export, snapshot, training = result["export"], result["snapshot"], result["training"]
    evaluation, promotion = result["evaluation"], result["promotion"]
    metrics = training["metrics"]
    out.write(
        f"  project {project}\n"
        f"  export: {export['rows']:,} rows in {export['files']} files, watermark {export['watermark']}\n"
        f"  snapshot as of {snapshot['as_of']}: {snapshot['training_rows']:,} training rows over "
        f"{len(snapshot['training_dates'])} dates ({snapshot['positive_rate']:.1%} buy within the horizon), "
        f"{snapshot['daily_users']:,} users scored daily\n"
        f"  model {training['version']} on the held-out date ({metrics['rows_test']:.0f} users): "
        f"ROC-AUC {metrics['roc_auc']:.3f} vs {metrics['baseline_roc_auc']:.3f} for recency/frequency "
        f"(+{metrics['roc_auc_gain_over_baseline']:.3f}); PR-AUC {metrics['pr_auc']:.3f} vs "
        f"{metrics['baseline_pr_auc']:.3f}\n"
        f"  days to next purchase MAE {metrics['days_mae']:.2f} (RMSE {metrics['days_rmse']:.2f}); "
        f"amount MAE {metrics['amount_mae']:.2f} (RMSE {metrics['amount_rmse']:.2f})\n"
        f"  promoted: {promotion.get('promoted') or 'no, ' + str(evaluation['current']) + ' stays'}\n"
    )
    top = _top_users(settings, project, 5)
    out.write("  likeliest buyers (GET /users?limit=5):\n")
    for user in top:
        f = user["features"]
        out.write(
            f"    {user['user_id']}  p={f['purchase_proba']:.2f}  in ~{f['days_to_next_pred']:.1f} d  "
            f"~{f['next_purchase_amount_pred']:.0f}  (last seen {f['days_since_last']:.0f} d ago)\n"
        )
    return {
        "trained": True,
        "metrics": metrics,
        "evaluation": evaluation,
        "promotion": promotion,
        "top_users": top,
    }


def _reason(error: dict[str, Any]) -> str:
    """A Catch's ``{"Error", "Cause"}`` as one line: a Lambda error's cause is its JSON, with a trace."""
    try:
        cause = json.loads(error.get("Cause") or "{}")
    except ValueError:
        cause = {}
    message = cause.get("errorMessage") if isinstance(cause, dict) else None
    return f"{error.get('Error')}: {message or error.get('Cause')}"[:600]


def _top_users(settings: Settings, project: str, limit: int) -> list[dict[str, Any]]:
    """What ``GET /users?limit=…`` answers the project's secret keys (the predict routes' domain call:
    this command holds no project's key)."""
    from eventlens.ml import predict

    parts = Components(settings)
    try:
        predictor = predict.load_predictor(parts.objects, project)
        return [user.model_dump(mode="json") for user in predict.users_page(predictor, 0, limit).users]
    except predict.ModelUnavailable:
        return []
    finally:
        parts.close()
