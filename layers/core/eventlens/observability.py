"""One logger and one metrics emitter for every function; the service name comes from the environment."""

from __future__ import annotations

import os
import warnings

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "eventlens")

logger = Logger(service=SERVICE)
metrics = Metrics(service=SERVICE, namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "eventlens"))

# An invocation that counted nothing (say, a batch of only duplicates) is normal here.
warnings.filterwarnings("ignore", message="No application metrics to publish")


def count(name: str, value: float) -> None:
    """Add a Count metric, unless metrics are disabled (Powertools would still buffer and print them)."""
    if not is_metrics_disabled():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
