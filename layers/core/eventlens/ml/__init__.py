"""The ML pipeline: export → snapshot → train → evaluate → promote, and the predictions it serves.

Events stream into the warehouse; everything here runs in batches on Parquet in object storage, as
in AnModel (001): ``export`` writes the warehouse to date partitions, ``snapshot`` turns them into
per-user features (with targets for training), ``training`` fits and registers models, ``predict``
answers from the promoted one. ``state_machines/ml_pipeline.asl.json`` chains the steps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from eventlens.settings import Settings


def run_ml_pipeline(settings: Settings, out: TextIO) -> dict[str, Any]:
    """Run the state machine locally on the warehouse's events and print metrics and predictions."""
    from eventlens.ml.pipeline import run_ml_pipeline as run

    return run(settings, out)


__all__ = ["run_ml_pipeline"]
