"""The model registry in object storage: numbered versions, each with its metrics and plots.

Each project has its own registry under its root (``eventlens.ml.layout``): its versions, promoted
model and fingerprints; every function here takes the project's view of the store::

    models/context_aware/versions/v000003/model.pkl
    models/context_aware/versions/v000003/roc.png, pr.png, calibration.png
    models/context_aware/versions/v000003/metrics.json    written last: a version exists once it has this
    models/context_aware/promoted.json                    the version the predict function serves
    models/context_aware/fingerprints/<sha256>.json       the version trained from these inputs

A version is never rewritten; promotion only moves the pointer (one atomic put). A fingerprint (of
the training snapshot, the training code and its parameters) names the version trained from them,
so training again on the same inputs returns that version instead of adding an identical one. It
is written after the version is complete; a version without one is only trained again.
"""

from __future__ import annotations

import json
import pickle
import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from eventlens.ml.contracts import PromoteResult
from eventlens.ml.layout import ProjectObjects
from eventlens.ml.model import ContextAwareModel

SERVICE = "context_aware"
ROOT = f"models/{SERVICE}"
VERSIONS = f"{ROOT}/versions"
PROMOTED_KEY = f"{ROOT}/promoted.json"
FINGERPRINTS = f"{ROOT}/fingerprints"
_VERSION = re.compile(r"^v(\d{6})$")


class UnknownVersion(KeyError):
    """No complete model version by that name."""


def versions(objects: ProjectObjects) -> list[str]:
    """Complete versions, oldest first."""
    found = []
    for key in objects.list(f"{VERSIONS}/"):
        parts = key[len(VERSIONS) + 1 :].split("/")
        if len(parts) == 2 and parts[1] == "metrics.json" and _VERSION.match(parts[0]):
            found.append(parts[0])
    return sorted(found)


def next_version(objects: ProjectObjects) -> str:
    taken = {key[len(VERSIONS) + 1 :].split("/")[0] for key in objects.list(f"{VERSIONS}/")}
    numbers = [int(m[1]) for name in taken if (m := _VERSION.match(name))]
    return f"v{max(numbers, default=0) + 1:06d}"


def save_version(
    objects: ProjectObjects,
    version: str,
    model: ContextAwareModel,
    metrics: dict[str, Any],
    plots: dict[str, bytes],
) -> list[str]:
    """Store a version's model, plots and metrics (last); returns the keys written."""
    prefix = f"{VERSIONS}/{version}"
    written = []
    objects.put(f"{prefix}/model.pkl", pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
    written.append(f"{prefix}/model.pkl")
    for name, data in plots.items():
        objects.put(f"{prefix}/{name}", data)
        written.append(f"{prefix}/{name}")
    objects.put(f"{prefix}/metrics.json", json.dumps(metrics, indent=2, sort_keys=True).encode())
    written.append(f"{prefix}/metrics.json")
    return written


def version_of_fingerprint(objects: ProjectObjects, fingerprint: str) -> str | None:
    """The complete version trained from the inputs of ``fingerprint``, or None."""
    try:
        version = str(json.loads(objects.get(f"{FINGERPRINTS}/{fingerprint}.json"))["version"])
    except KeyError:
        return None
    return version if version in versions(objects) else None


def remember_fingerprint(objects: ProjectObjects, fingerprint: str, version: str) -> None:
    """Record that ``version`` (complete) was trained from the inputs of ``fingerprint``."""
    record = {"version": version, "fingerprint": fingerprint}
    objects.put(f"{FINGERPRINTS}/{fingerprint}.json", json.dumps(record, sort_keys=True).encode())


def version_keys(objects: ProjectObjects, version: str) -> list[str]:
    """The objects stored for ``version``: its model, plots and metrics."""
    return sorted(objects.list(f"{VERSIONS}/{version}/"))


def load_model(objects: ProjectObjects, version: str) -> ContextAwareModel:
    # Only our own pipeline writes here (the bucket is private to it), so unpickling is trusted.
    try:
        return pickle.loads(objects.get(f"{VERSIONS}/{version}/model.pkl"))  # noqa: S301
    except KeyError:
        raise UnknownVersion(version) from None


def metrics(objects: ProjectObjects, version: str) -> dict[str, Any]:
    try:
        return json.loads(objects.get(f"{VERSIONS}/{version}/metrics.json"))
    except KeyError:
        raise UnknownVersion(version) from None


def promoted(objects: ProjectObjects) -> dict[str, Any] | None:
    """``{"version", "roc_auc", "promoted_at", "previous"}`` of the served model, or None."""
    try:
        return json.loads(objects.get(PROMOTED_KEY))
    except KeyError:
        return None


def promote(objects: ProjectObjects, version: str, roc_auc: float) -> PromoteResult:
    """Point ``promoted.json`` at ``version`` (which must be complete)."""
    if version not in versions(objects):
        raise UnknownVersion(version)
    current = promoted(objects)
    previous = current["version"] if current else None
    record = {
        "version": version,
        "roc_auc": roc_auc,
        "previous": previous,
        "promoted_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    objects.put(PROMOTED_KEY, json.dumps(record, sort_keys=True).encode())
    return PromoteResult(promoted=version, previous=previous)


PLOTS = ("roc", "pr", "calibration")  # the PNGs training stores beside each version's metrics


class ModelVersion(BaseModel):
    version: str
    promoted: bool = Field(description="Whether the predict function serves this version")
    metrics: dict[str, float] = Field(description="Its metrics on the held-out date (training's)")
    training_key: str | None = Field(description="The training snapshot it learnt from")
    plots: list[str] = Field(
        description="Its plots: GET /v1/models/{service}/versions/{version}/plots/{plot}"
    )


class PromotedPointer(BaseModel):
    version: str
    roc_auc: float
    promoted_at: str
    previous: str | None


class ModelHistory(BaseModel):
    service: str
    promoted: PromotedPointer | None
    versions: list[ModelVersion] = Field(description="Every complete version, oldest first")


def history(objects: ProjectObjects) -> ModelHistory:
    """The project's registry as the console shows it: every version with its metrics and plots,
    and the promoted pointer."""
    pointer = promoted(objects)
    stored = set(objects.list(f"{VERSIONS}/"))
    described = []
    for version in versions(objects):
        record = metrics(objects, version)
        described.append(
            ModelVersion(
                version=version,
                promoted=pointer is not None and pointer.get("version") == version,
                metrics={
                    k: float(v) for k, v in record.get("metrics", {}).items() if isinstance(v, int | float)
                },
                training_key=record.get("training_key"),
                plots=[p for p in PLOTS if f"{VERSIONS}/{version}/{p}.png" in stored],
            )
        )
    return ModelHistory(
        service=SERVICE,
        promoted=PromotedPointer.model_validate(pointer) if pointer else None,
        versions=described,
    )


def plot(objects: ProjectObjects, version: str, name: str) -> bytes:
    """A version's plot (PNG); UnknownVersion when the version or the plot is not stored."""
    if name not in PLOTS or not _VERSION.match(version):
        raise UnknownVersion(f"{version}/{name}")
    try:
        return objects.get(f"{VERSIONS}/{version}/{name}.png")
    except KeyError:
        raise UnknownVersion(f"{version}/{name}") from None
