"""The pydantic models passed between the pipeline's states: each Task's input and output.

A state's output lands in the execution's JSON (``ResultPath``), and the next state's
``Parameters`` pick fields from it, so these models are the whole contract between steps.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Contract(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class PipelineInput(_Contract):
    """What starts an execution (the nightly schedule sends ``{}``)."""

    until: date | None = Field(default=None, description="last day to export; default: yesterday (UTC)")
    start: date | None = Field(default=None, description="re-export from this day instead of the watermark")


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
    training_key: str


class TrainResult(_Contract):
    version: str
    metrics: dict[str, float]
    artifacts: list[str]
    seconds: float


class EvaluateRequest(_Contract):
    action: Literal["evaluate"] = "evaluate"
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
    version: str
    roc_auc: float


class PromoteResult(_Contract):
    promoted: str
    previous: str | None


TrainingStep = Annotated[TrainRequest | EvaluateRequest | PromoteRequest, Field(discriminator="action")]
training_step = TypeAdapter(TrainingStep)
