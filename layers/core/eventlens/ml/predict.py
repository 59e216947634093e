"""predict: a project's promoted model and latest daily snapshot, served in AnModel's shapes.

Each project is served its own model and snapshot (``eventlens.ml.layout``); a project without a
promoted model answers as an install without one did. A warm container loads a project's promoted
version and daily snapshot on its first request, scores every user of the snapshot up front (as
AnModel's server did) and keeps them a while (``PredictorCache``); ``GET /users`` pages through
those rows, ``POST /predict`` scores the records it is sent — full feature rows, or just a
``user_id`` whose snapshot row is then used, with any given features overriding it — and, sent no
body, pages through those precomputed predictions.
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from eventlens.errors import InvalidParameter
from eventlens.ml import registry
from eventlens.ml.layout import ProjectObjects
from eventlens.ml.model import PREDICTIONS, ContextAwareModel
from eventlens.ml.snapshot import latest_daily_key, read_table
from eventlens.objectstore import ObjectStore

SERVICES = (registry.SERVICE,)


class UnknownService(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"Unknown service: {name}")


class ModelUnavailable(RuntimeError):
    """No promoted model yet, or it cannot be loaded."""


class ServiceInfo(BaseModel):
    status: Literal["loaded", "error", "pending"]
    model_path: str | None = None
    error: str | None = None


class ServicesResponse(BaseModel):
    services: list[str]
    details: dict[str, ServiceInfo]


class PredictRequest(BaseModel):
    records: list[dict[str, Any]] = Field(
        min_length=1, max_length=10_000, description="feature rows, or {user_id} to use the snapshot's row"
    )
    service: str | None = Field(default=None, description="service/model name (the query parameter wins)")


class PredictResponse(BaseModel):
    predictions: list[dict[str, Any]]


class SnapshotPredictions(PredictResponse):
    """The predictions precomputed for every user of the latest daily snapshot, likeliest buyers first,
    ``limit`` of them from ``offset`` (what AnModel's Models API answers ``POST /predict`` with no body)."""

    total: int
    offset: int
    limit: int
    snapshot_date: date | None
    model_version: str


class UserRow(BaseModel):
    user_id: str
    features: dict[str, Any]


class UsersResponse(BaseModel):
    users: list[UserRow]
    total: int
    offset: int
    limit: int
    snapshot_date: date | None
    model_version: str


@dataclass
class Predictor:
    """One promoted version with the daily snapshot scored, users ordered by purchase_proba."""

    version: str
    model: ContextAwareModel
    snapshot_date: date | None
    user_ids: list[str]
    rows: dict[str, int]
    matrix: np.ndarray
    predictions: dict[str, np.ndarray]
    ranking: np.ndarray

    @property
    def model_path(self) -> str:
        return f"{registry.VERSIONS}/{self.version}/model.pkl"


def load_predictor(store: ObjectStore, project_id: str) -> Predictor:
    """The project's promoted model and its newest daily snapshot, scored."""
    from threadpoolctl import threadpool_limits

    from eventlens.ml.training import model_features

    objects = ProjectObjects(store, project_id)
    pointer = registry.promoted(objects)
    if pointer is None:
        raise ModelUnavailable("no model has been promoted yet: run the ML pipeline")
    model = registry.load_model(objects, pointer["version"])
    # Scoring one user is a few hundred tree lookups: starting OpenMP threads for it costs more
    # than it saves and, on a busy CPU, makes the tail slow. So this container scores on one thread
    # (set once, after unpickling has loaded OpenMP; a context per request would cost a millisecond
    # of library scanning each time).
    threadpool_limits(limits=1, user_api="openmp")
    daily_key = latest_daily_key(objects)
    if daily_key is None:
        user_ids: list[str] = []
        matrix = np.zeros((0, len(model.features)))
        snapshot_date = None
    else:
        table = read_table(objects, daily_key)
        user_ids = table.column("user_id").to_pylist()
        matrix = model_features(table, model.features)
        snapshot_date = table.column("snapshot_date")[0].as_py() if table.num_rows else None
    predictions = model.predict(matrix) if user_ids else {name: np.zeros(0) for name in PREDICTIONS}
    ranking = np.argsort(-predictions["purchase_proba"], kind="stable")
    return Predictor(
        pointer["version"],
        model,
        snapshot_date,
        user_ids,
        {user: i for i, user in enumerate(user_ids)},
        matrix,
        predictions,
        ranking,
    )


class PredictorCache:
    """Each project's predictor, per object store, loaded on first use and kept while the container is
    warm: for at most ``max_age_s`` (then the next request loads it again, so a model promoted since
    and a daily snapshot rewritten by an erasure are served within that time), and for at most
    ``max_projects`` projects (the least recently used one is dropped first)."""

    def __init__(self, max_age_s: float = 600.0, max_projects: int = 32) -> None:
        self.max_age_s = max_age_s
        self.max_projects = max_projects
        self._loaded: weakref.WeakKeyDictionary[Any, OrderedDict[str, tuple[float, Predictor]]] = (
            weakref.WeakKeyDictionary()
        )
        self._errors: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def get(self, objects: ObjectStore, project_id: str) -> Predictor:
        with self._lock:
            loaded = self._loaded.setdefault(objects, OrderedDict())
            errors = self._errors.setdefault(objects, {})
            now = time.monotonic()
            cached = loaded.get(project_id)
            if cached is not None and now - cached[0] < self.max_age_s:
                loaded.move_to_end(project_id)
                return cached[1]
            loaded.pop(project_id, None)
            try:
                predictor = load_predictor(objects, project_id)
            except (ModelUnavailable, registry.UnknownVersion) as exc:
                # Not cached: a model promoted later is picked up by the next request.
                errors[project_id] = str(exc)
                raise ModelUnavailable(str(exc)) from exc
            loaded[project_id] = (now, predictor)
            while len(loaded) > self.max_projects:
                loaded.popitem(last=False)
            errors.pop(project_id, None)
            return predictor

    def forget(self, objects: ObjectStore, project_id: str) -> None:
        """Drop the project's predictor: the next request loads the model and snapshot again."""
        with self._lock:
            self._loaded.get(objects, OrderedDict()).pop(project_id, None)

    def info(self, objects: ObjectStore, project_id: str) -> ServiceInfo:
        cached = self._loaded.get(objects, OrderedDict()).get(project_id)
        if cached is not None:
            return ServiceInfo(status="loaded", model_path=cached[1].model_path)
        errors = self._errors.get(objects, {})
        if project_id in errors:
            return ServiceInfo(status="error", error=errors[project_id])
        pointer = registry.promoted(ProjectObjects(objects, project_id))
        path = f"{registry.VERSIONS}/{pointer['version']}/model.pkl" if pointer else None
        return ServiceInfo(status="pending", model_path=path)


def services(cache: PredictorCache, objects: ObjectStore, project_id: str) -> ServicesResponse:
    """The services and the state of each for the project in this container (AnModel's
    ``GET /services``)."""
    return ServicesResponse(
        services=list(SERVICES), details={name: cache.info(objects, project_id) for name in SERVICES}
    )


def check_service(name: str) -> str:
    if name not in SERVICES:
        raise UnknownService(name)
    return name


def users_page(predictor: Predictor, offset: int, limit: int) -> UsersResponse:
    """Snapshot users, likeliest buyers first, with their features and predictions."""
    rows = predictor.ranking[offset : offset + limit]
    users = [
        UserRow(
            user_id=predictor.user_ids[i],
            features={
                **{name: _plain(predictor.matrix[i, j]) for j, name in enumerate(predictor.model.features)},
                **{name: _plain(predictor.predictions[name][i]) for name in PREDICTIONS},
            },
        )
        for i in rows
    ]
    return UsersResponse(
        users=users,
        total=len(predictor.user_ids),
        offset=offset,
        limit=limit,
        snapshot_date=predictor.snapshot_date,
        model_version=predictor.version,
    )


def snapshot_predictions(predictor: Predictor, offset: int, limit: int) -> SnapshotPredictions:
    """The precomputed predictions of the snapshot's users, likeliest buyers first, a page of them."""
    rows = predictor.ranking[offset : offset + limit]
    predictions = [
        {
            "user_id": predictor.user_ids[i],
            **{name: _plain(predictor.predictions[name][i]) for name in PREDICTIONS},
        }
        for i in rows
    ]
    return SnapshotPredictions(
        predictions=predictions,
        total=len(predictor.user_ids),
        offset=offset,
        limit=limit,
        snapshot_date=predictor.snapshot_date,
        model_version=predictor.version,
    )


def predict_records(predictor: Predictor, records: list[dict[str, Any]]) -> PredictResponse:
    """Score each record: its own features over the snapshot row of its ``user_id``, if any."""
    model = predictor.model
    matrix = np.full((len(records), len(model.features)), np.nan)
    for i, record in enumerate(records):
        row = predictor.rows.get(str(record.get("user_id")))
        if row is not None:
            matrix[i] = predictor.matrix[row]
        for j, name in enumerate(model.features):
            if name in record:
                matrix[i, j] = _number(record[name], f"records.{i}.{name}")
    scored = model.predict(matrix)
    predictions = []
    for i, record in enumerate(records):
        answer: dict[str, Any] = {"user_id": str(record["user_id"])} if "user_id" in record else {}
        answer.update({name: _plain(scored[name][i]) for name in PREDICTIONS})
        predictions.append(answer)
    return PredictResponse(predictions=predictions)


def _number(value: Any, field: str) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidParameter(field, "must be a number or null")
    return float(value)


def _plain(value: Any) -> float | int | None:
    """A numpy scalar as JSON: NaN becomes null, integers stay integers."""
    if isinstance(value, (np.integer, int)):
        return int(value)
    number = float(value)
    return None if math.isnan(number) else round(number, 6)
