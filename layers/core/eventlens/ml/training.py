"""training: fit a candidate on a training snapshot, evaluate it against the promoted model, promote.

The snapshot is split by date, never by row, so no user's future leaks into its past: the oldest
dates train, the next-to-last date picks the decision threshold (best F1), the last date is held
out. On the held-out rows the candidate is scored (ROC-AUC, PR-AUC, Brier; RMSE and MAE of the
regressions, on buyers) next to a recency/frequency baseline — logistic regression on days since
the last event, events in 30 days and events overall — and the plots (ROC, PR, calibration) are
drawn. ``evaluate`` scores the candidate and the promoted model on the same held-out rows; the
state machine promotes only a candidate that beats it by ``ml_min_auc_gain``.

Training is keyed by a fingerprint of what decides the model: the snapshot's bytes, this module's
and the model's code (with every hyperparameter), the features, the horizon and the versions of
scikit-learn and numpy. Trained again on the same inputs — a pipeline re-run with no new day
exported — it returns the version registered for them (the fits are deterministic), and the
registry does not grow with copies.

Each project trains from its own snapshot into its own registry: every step names its project and
reads and writes through that project's view of the store (``eventlens.ml.layout``), so a
``training_key`` cannot name another project's snapshot.

scikit-learn and matplotlib are imported inside the functions that use them (cold starts).
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np
import pyarrow as pa

from eventlens.ml import model as model_module
from eventlens.ml import registry
from eventlens.ml.contracts import (
    EvaluateRequest,
    EvaluateResult,
    PromoteRequest,
    PromoteResult,
    TrainRequest,
    TrainResult,
)
from eventlens.ml.features import FEATURES
from eventlens.ml.layout import ProjectObjects
from eventlens.ml.model import ContextAwareModel
from eventlens.ml.snapshot import read_table
from eventlens.objectstore import ObjectStore
from eventlens.settings import Settings

BASELINE_FEATURES = ("days_since_last", "events_last_30d", "total_events")


class TrainingDataError(ValueError):
    """The snapshot cannot train a model (too few dates, or one class only)."""


def run_step(
    store: ObjectStore, step: TrainRequest | EvaluateRequest | PromoteRequest, settings: Settings
) -> TrainResult | EvaluateResult | PromoteResult:
    """The training function's three steps, chosen by the state machine's ``action``, in the step's
    project."""
    objects = ProjectObjects(store, step.project_id)
    with single_threaded():
        if isinstance(step, TrainRequest):
            return train_candidate(objects, step, settings)
        if isinstance(step, EvaluateRequest):
            return evaluate_candidate(objects, step, settings)
    return registry.promote(objects, step.version, step.roc_auc)


def single_threaded() -> AbstractContextManager[object]:
    """One OpenMP/BLAS thread for scikit-learn. On a busy CPU (a shared 2-core machine, a Lambda with
    ~2 vCPUs next to other work) spin-waiting OpenMP threads made training 3× slower here; the
    data are small enough that one thread loses little when the CPU is idle."""
    import sklearn.ensemble  # noqa: F401 - loads OpenMP first: threadpoolctl limits only loaded libraries
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def training_fingerprint(snapshot: bytes, settings: Settings) -> str:
    """sha256 of everything that decides the trained model (see the module doc)."""
    import sklearn

    digest = hashlib.sha256()
    for part in (snapshot, Path(__file__).read_bytes(), Path(model_module.__file__).read_bytes()):
        digest.update(hashlib.sha256(part).digest())
    context = {
        "features": FEATURES,
        "horizon_days": settings.ml_horizon_days,
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
    }
    digest.update(json.dumps(context, sort_keys=True).encode())
    return digest.hexdigest()


def train_candidate(objects: ProjectObjects, request: TrainRequest, settings: Settings) -> TrainResult:
    """Fit, score and register a new model version from a training snapshot, or return the version
    registered already for the same snapshot, code and parameters."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    started = time.perf_counter()
    snapshot = objects.get(request.training_key)
    fingerprint = training_fingerprint(snapshot, settings)
    existing = registry.version_of_fingerprint(objects, fingerprint)
    if existing is not None:
        return TrainResult(
            version=existing,
            metrics=registry.metrics(objects, existing)["metrics"],
            artifacts=registry.version_keys(objects, existing),
            seconds=round(time.perf_counter() - started, 3),
        )
    train, valid, test = split_by_date(pq.read_table(io.BytesIO(snapshot)))
    x_fit, y_fit = _xy(train)
    # Shallow, strongly regularised trees: a few thousand rows per date must not be memorised.
    classifier = HistGradientBoostingClassifier(
        learning_rate=0.04,
        max_iter=120,
        max_depth=3,
        min_samples_leaf=80,
        l2_regularization=3.0,
        early_stopping=False,
        random_state=7,
    ).fit(x_fit, y_fit)
    threshold = _best_f1_threshold(_xy(valid)[1], classifier.predict_proba(_xy(valid)[0])[:, 1])

    buyers = pa.concat_tables([train, valid])
    buyers = buyers.filter(pc.equal(buyers.column("will_purchase"), 1))
    x_buy = _matrix(buyers)
    regressor = {
        "learning_rate": 0.05,
        "max_iter": 150,
        "max_leaf_nodes": 15,
        "min_samples_leaf": 20,
        "early_stopping": False,
        "random_state": 7,
    }
    days = HistGradientBoostingRegressor(**regressor).fit(
        x_buy, buyers.column("days_to_next_purchase").to_numpy()
    )
    amount = HistGradientBoostingRegressor(**regressor).fit(
        x_buy, np.log1p(buyers.column("next_purchase_amount").to_numpy())
    )
    model = ContextAwareModel(FEATURES, classifier, days, amount, threshold, settings.ml_horizon_days)

    metrics, curves = held_out_metrics(model, test, train)
    metrics.update(
        {
            "rows_train": float(train.num_rows),
            "rows_valid": float(valid.num_rows),
            "threshold": round(threshold, 4),
            "train_seconds": round(time.perf_counter() - started, 3),
        }
    )
    version = registry.next_version(objects)
    artifacts = registry.save_version(
        objects,
        version,
        model,
        {
            "version": version,
            "training_key": request.training_key,
            "fingerprint": fingerprint,
            "metrics": metrics,
        },
        draw_plots(**curves),
    )
    registry.remember_fingerprint(objects, fingerprint, version)
    return TrainResult(
        version=version, metrics=metrics, artifacts=artifacts, seconds=round(time.perf_counter() - started, 3)
    )


def evaluate_candidate(
    objects: ProjectObjects, request: EvaluateRequest, settings: Settings
) -> EvaluateResult:
    """Score the candidate and the promoted model on the snapshot's held-out rows."""
    from sklearn.metrics import roc_auc_score

    _, _, test = split_by_date(read_table(objects, request.training_key))
    x, y = _xy(test)
    candidate = float(roc_auc_score(y, registry.load_model(objects, request.version).purchase_proba(x)))
    current = registry.promoted(objects)
    current_auc = None
    if current is not None:
        served = registry.load_model(objects, current["version"])
        current_auc = float(roc_auc_score(y, served.purchase_proba(_matrix(test, served.features))))
    better = current_auc is None or candidate > current_auc + settings.ml_min_auc_gain
    return EvaluateResult(
        candidate=request.version,
        candidate_roc_auc=round(candidate, 6),
        current=current["version"] if current else None,
        current_roc_auc=None if current_auc is None else round(current_auc, 6),
        better=better,
    )


def split_by_date(table: pa.Table) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(train, valid, test): all dates but the last two, the next-to-last, the last."""
    import pyarrow.compute as pc

    dates = sorted(set(table.column("snapshot_date").to_pylist()))
    if len(dates) < 3:
        raise TrainingDataError(f"a training snapshot needs 3 dates or more, this one has {len(dates)}")
    column = table.column("snapshot_date")
    train = table.filter(pc.less(column, pa.scalar(dates[-2], pa.date32())))
    valid = table.filter(pc.equal(column, pa.scalar(dates[-2], pa.date32())))
    test = table.filter(pc.equal(column, pa.scalar(dates[-1], pa.date32())))
    for name, part in (("train", train), ("valid", valid), ("test", test)):
        labels = set(part.column("will_purchase").to_pylist())
        if labels != {0, 1}:
            raise TrainingDataError(f"the {name} rows need buyers and non-buyers, they have {sorted(labels)}")
    return train, valid, test


def held_out_metrics(
    model: ContextAwareModel, test: pa.Table, train: pa.Table
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """The candidate's and the baseline's scores on the held-out rows, and the curves to plot."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    x, y = _xy(test)
    predictions = model.predict(x)
    proba = predictions["purchase_proba"]
    baseline = LogisticRegression(max_iter=1000).fit(_baseline_matrix(train), train.column("will_purchase"))
    baseline_proba = baseline.predict_proba(_baseline_matrix(test))[:, 1]
    buyers = y == 1
    days_true = test.column("days_to_next_purchase").to_numpy()[buyers]
    amount_true = test.column("next_purchase_amount").to_numpy()[buyers]
    days_error = predictions["days_to_next_pred"][buyers] - days_true
    amount_error = predictions["next_purchase_amount_pred"][buyers] - amount_true
    metrics = {
        "roc_auc": float(roc_auc_score(y, proba)),
        "pr_auc": float(average_precision_score(y, proba)),
        "brier": float(brier_score_loss(y, proba)),
        "baseline_roc_auc": float(roc_auc_score(y, baseline_proba)),
        "baseline_pr_auc": float(average_precision_score(y, baseline_proba)),
        "positive_rate": float(y.mean()),
        "rows_test": float(y.size),
        "days_rmse": float(np.sqrt(np.mean(days_error**2))),
        "days_mae": float(np.mean(np.abs(days_error))),
        "amount_rmse": float(np.sqrt(np.mean(amount_error**2))),
        "amount_mae": float(np.mean(np.abs(amount_error))),
    }
    metrics["roc_auc_gain_over_baseline"] = metrics["roc_auc"] - metrics["baseline_roc_auc"]
    return {k: round(v, 6) for k, v in metrics.items()}, {"y": y, "proba": proba, "baseline": baseline_proba}


def draw_plots(y: np.ndarray, proba: np.ndarray, baseline: np.ndarray) -> dict[str, bytes]:
    """ROC, precision-recall and calibration curves as PNG bytes (matplotlib, no display needed)."""
    from matplotlib.figure import Figure
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import precision_recall_curve, roc_curve

    def png(fig: Figure) -> bytes:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
        return buffer.getvalue()

    plots = {}
    fig = Figure(figsize=(5, 4))
    ax = fig.subplots()
    for name, scores in (("model", proba), ("recency/frequency baseline", baseline)):
        fpr, tpr, _ = roc_curve(y, scores)
        ax.plot(fpr, tpr, label=name)
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, held-out date")
    ax.legend(loc="lower right")
    plots["roc.png"] = png(fig)

    fig = Figure(figsize=(5, 4))
    ax = fig.subplots()
    for name, scores in (("model", proba), ("recency/frequency baseline", baseline)):
        precision, recall, _ = precision_recall_curve(y, scores)
        ax.plot(recall, precision, label=name)
    ax.axhline(float(y.mean()), linestyle=":", color="grey")
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall, held-out date")
    ax.legend(loc="upper right")
    plots["pr.png"] = png(fig)

    fig = Figure(figsize=(5, 4))
    ax = fig.subplots()
    observed, predicted = calibration_curve(y, proba, n_bins=10, strategy="quantile")
    ax.plot(predicted, observed, marker="o", label="model")
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey")
    ax.set(xlabel="predicted probability", ylabel="observed share of buyers", title="Calibration")
    ax.legend(loc="upper left")
    plots["calibration.png"] = png(fig)
    return plots


def _matrix(table: pa.Table, features: tuple[str, ...] = FEATURES) -> np.ndarray:
    columns = [
        table.column(name).to_numpy().astype(np.float64)
        if name in table.column_names
        else np.full(table.num_rows, np.nan)
        for name in features
    ]
    return np.column_stack(columns) if columns else np.zeros((table.num_rows, 0))


def _xy(table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    return _matrix(table), table.column("will_purchase").to_numpy().astype(np.int64)


def _baseline_matrix(table: pa.Table) -> np.ndarray:
    return np.log1p(_matrix(table, BASELINE_FEATURES))


def _best_f1_threshold(y: np.ndarray, proba: np.ndarray) -> float:
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(y, proba)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    return float(thresholds[int(np.argmax(f1[:-1]))]) if thresholds.size else 0.5


def model_features(table: pa.Table, features: tuple[str, ...] = FEATURES) -> np.ndarray:
    """The feature matrix of a snapshot table, in ``features`` order (missing columns are NaN)."""
    return _matrix(table, features)
