"""Process tuning for functions that handle large batches."""

from __future__ import annotations

import gc


def tune_gc_for_batches() -> None:
    """Freeze what importing built and collect young objects rarely.

    A batch allocates hundreds of thousands of short-lived objects; with CPython's default
    thresholds the collector rescans them many times per batch (about a fifth of ingest's CPU,
    measured in bench/pipeline.py). Nothing here forms reference cycles worth collecting early.
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
