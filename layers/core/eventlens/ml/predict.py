"""predict: the promoted model and the latest daily snapshot, served in AnModel's shapes.

A warm container loads the promoted version and the daily snapshot once, scores every user of the
snapshot up front (as AnModel's server did) and keeps them; ``GET /users`` pages through those rows,
``POST /predict`` scores the records it is sent — full feature rows, or just a ``user_id`` whose
snapshot row is then used, with any given features overriding it.
"""

from __future__ import annotations

import math
import threading
import weakref
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from eventlens.errors import InvalidParameter
from eventlens.ml import registry
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


def load_predictor(objects: ObjectStore) -> Predictor:
    """The promoted model and the newest daily snapshot, scored."""
    from threadpoolctl import threadpool_limits

    from eventlens.ml.training import model_features

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
    """The predictor of each object store, loaded on first use and kept while the container is warm."""

    def __init__(self) -> None:
        self._loaded: weakref.WeakKeyDictionary[Any, Predictor] = weakref.WeakKeyDictionary()
        self._errors: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def get(self, objects: ObjectStore) -> Predictor:
        with self._lock:
            predictor = self._loaded.get(objects)
            if predictor is None:
                try:
                    predictor = load_predictor(objects)
                except (ModelUnavailable, registry.UnknownVersion) as exc:
                    # Not cached: a model promoted later is picked up by the next request.
                    self._errors[objects] = str(exc)
                    raise ModelUnavailable(str(exc)) from exc
                self._loaded[objects] = predictor
                self._errors.pop(objects, None)
            return predictor

    def info(self, objects: ObjectStore) -> ServiceInfo:
        predictor = self._loaded.get(objects)
        if predictor is not None:
            return ServiceInfo(status="loaded", model_path=predictor.model_path)
        if objects in self._errors:
            return ServiceInfo(status="error", error=self._errors[objects])
        pointer = registry.promoted(objects)
        path = f"{registry.VERSIONS}/{pointer['version']}/model.pkl" if pointer else None
        return ServiceInfo(status="pending", model_path=path)


def services(cache: PredictorCache, objects: ObjectStore) -> ServicesResponse:
    """The services and the state of each in this container (AnModel's ``GET /services``)."""
    return ServicesResponse(services=list(SERVICES), details={name: cache.info(objects) for name in SERVICES})


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
