"""The pydantic models passed between the pipeline's states: each Task's input and output.

A state's output lands in the execution's JSON (``ResultPath``), and the next state's
``Parameters`` pick fields from it, so these models are the whole contract between steps. Every
step after the first names its project (``project_id``) and touches that project's data only; keys
it is handed or hands on (``training_key``, ``manifest_key``) are relative to the project's root
(``eventlens.ml.layout``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from eventlens.ml.layout import PROJECT_ID_PATTERN


class _Contract(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


ProjectId = Annotated[str, Field(pattern=PROJECT_ID_PATTERN, description="the project the step works for")]


class PipelineInput(_Contract):
    """What starts an execution (the nightly schedule sends ``{}``: every project, through yesterday)."""

    project_id: ProjectId | None = Field(
        default=None, description="the one project to train; default: every project with events to learn from"
    )
    until: date | None = Field(default=None, description="last day to export; default: yesterday (UTC)")
    start: date | None = Field(default=None, description="re-export from this day instead of the watermark")


class ProjectRun(_Contract):
    """One project's pass through the pipeline: an item of the ``EveryProject`` Map state."""

    project_id: ProjectId
    until: date | None = Field(default=None, description="last day to export; default: yesterday (UTC)")
    start: date | None = Field(default=None, description="re-export from this day instead of the watermark")


class ProjectsRequest(_Contract):
    """The first state: which projects this execution trains."""

    action: Literal["projects"] = "projects"
    request: PipelineInput = PipelineInput()


class ProjectsResult(_Contract):
    projects: list[ProjectRun]


class ExportRequest(ProjectRun):
    action: Literal["export"] = "export"


class ExportedFile(_Contract):
    key: str
    day: date
    rows: int
    bytes: int
    sha256: str


class ExportSummary(_Contract):
    """What the export step hands on: counts and keys (its manifest object lists the files)."""

    start: date | None
    end: date | None
    rows: int
    files: int
    manifest_key: str | None
    watermark: date | None


class ExportResult(_Contract):
    """One export run: the days it wrote and the watermark after it."""

    start: date | None
    end: date | None
    rows: int
    files: list[ExportedFile]
    manifest_key: str | None
    watermark: date | None

    def summary(self) -> ExportSummary:
        """The run without its file list: state payloads are capped at 256 KiB, a year has 365 files."""
        return ExportSummary(
            start=self.start,
            end=self.end,
            rows=self.rows,
            files=len(self.files),
            manifest_key=self.manifest_key,
            watermark=self.watermark,
        )


class SnapshotRequest(_Contract):
    project_id: ProjectId
    as_of: date | None = Field(description="the last exported day; features see events up to its end")


class SnapshotResult(_Contract):
    as_of: date
    training_key: str
    daily_key: str
    training_rows: int
    training_dates: list[date]
    positive_rate: float
    daily_users: int
    seconds: float


class TrainRequest(_Contract):
    action: Literal["train"] = "train"
    project_id: ProjectId
    training_key: str


class TrainResult(_Contract):
    version: str
    metrics: dict[str, float]
    artifacts: list[str]
    seconds: float


class EvaluateRequest(_Contract):
    action: Literal["evaluate"] = "evaluate"
    project_id: ProjectId
    version: str
    training_key: str


class EvaluateResult(_Contract):
    """The candidate and the promoted model scored on the same held-out rows."""

    candidate: str
    candidate_roc_auc: float
    current: str | None
    current_roc_auc: float | None
    better: bool


class PromoteRequest(_Contract):
    action: Literal["promote"] = "promote"
    project_id: ProjectId
    version: str
    roc_auc: float


class PromoteResult(_Contract):
    promoted: str
    previous: str | None


ExportStep = Annotated[ProjectsRequest | ExportRequest, Field(discriminator="action")]
export_step = TypeAdapter(ExportStep)
TrainingStep = Annotated[TrainRequest | EvaluateRequest | PromoteRequest, Field(discriminator="action")]
training_step = TypeAdapter(TrainingStep)
