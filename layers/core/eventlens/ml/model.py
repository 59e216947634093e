"""ContextAwareModel: AnModel's model, remade — a purchase classifier and two regressors.

``purchase_proba`` is the chance of a purchase within the horizon; ``will_purchase_pred`` applies
the threshold chosen on validation rows; ``days_to_next_pred`` and ``next_purchase_amount_pred``
say how soon and how much, given a purchase (the regressors learn from buyers only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

PREDICTIONS = ("purchase_proba", "will_purchase_pred", "days_to_next_pred", "next_purchase_amount_pred")


@dataclass
class ContextAwareModel:
    features: tuple[str, ...]
    classifier: Any
    days_regressor: Any
    amount_regressor: Any  # fitted on log1p(amount)
    threshold: float
    horizon_days: int

    def matrix(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Feature rows → the model's matrix; a missing or null feature is NaN (the trees handle it)."""
        rows = np.full((len(records), len(self.features)), np.nan)
        for i, record in enumerate(records):
            for j, name in enumerate(self.features):
                value = record.get(name)
                if value is not None:
                    rows[i, j] = float(value)
        return rows

    def purchase_proba(self, x: np.ndarray) -> np.ndarray:
        return self.classifier.predict_proba(x)[:, 1]

    def predict(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Each prediction of ``PREDICTIONS`` for each row of ``x``."""
        proba = self.purchase_proba(x)
        days = np.clip(self.days_regressor.predict(x), 1, self.horizon_days)
        amount = np.maximum(np.expm1(self.amount_regressor.predict(x)), 0)
        return {
            "purchase_proba": proba,
            "will_purchase_pred": (proba >= self.threshold).astype(int),
            "days_to_next_pred": days,
            "next_purchase_amount_pred": amount,
        }
