"""One logger and one metrics emitter for every function; the service name comes from the environment.

Two log formats, one logger (Powertools'):

* ``json`` — Powertools' structured lines. Always on Lambda (``AWS_LAMBDA_FUNCTION_NAME`` is set),
  wherever it is asked for (``EVENTLENS_LOG_FORMAT=json``, ``eventlens … --log-format json``), and
  by default when the output is no terminal;
* ``text`` — one readable line per record (time, level, function, message, its keys as
  ``key=value``): by default on a terminal (``eventlens local``), or with ``EVENTLENS_LOG_FORMAT=text``.

Each invocation's metrics (CloudWatch EMF JSON lines) are printed on Lambda and when JSON is asked
for, not otherwise: off Lambda no one reads them unless they asked. Whoever invokes a handler may
also take its counts as they are made (:func:`counting_into`): the local runtime's Prometheus
``/metrics`` counts the same figures the EMF lines carry on Lambda.

Every line either format writes passes through :func:`eventlens.redaction.redact`: no password,
token or key reaches a log, whatever an exception's text holds.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TextIO

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from eventlens.redaction import redact

if TYPE_CHECKING:
    from aws_lambda_powertools.logging.types import LogRecord

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "eventlens")
LOG_FORMAT_ENV = "EVENTLENS_LOG_FORMAT"
LOG_FORMATS = ("text", "json")


def on_lambda(environ: Mapping[str, str] | None = None) -> bool:
    return bool((os.environ if environ is None else environ).get("AWS_LAMBDA_FUNCTION_NAME"))


def asked_log_format(environ: Mapping[str, str] | None = None) -> str | None:
    """The format ``$EVENTLENS_LOG_FORMAT`` names, if any."""
    asked = (os.environ if environ is None else environ).get(LOG_FORMAT_ENV, "").strip().lower()
    return asked if asked in LOG_FORMATS else None


def log_format(environ: Mapping[str, str] | None = None, stream: TextIO | None = None) -> str:
    """``json`` on Lambda whatever is asked; else ``$EVENTLENS_LOG_FORMAT`` when it names a format;
    else ``text`` when ``stream`` (the logger's, stdout) is a terminal, ``json`` when it is not."""
    if on_lambda(environ):
        return "json"
    asked = asked_log_format(environ)
    if asked is not None:
        return asked
    stream = sys.stdout if stream is None else stream
    try:
        return "text" if stream.isatty() else "json"
    except (AttributeError, ValueError):  # no stream, or a closed one
        return "json"


class JsonFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON lines, with credentials masked."""

    def serialize(self, log: LogRecord) -> str:
        return redact(super().serialize(log))


class TextFormatter(LambdaPowertoolsFormatter):
    """A Powertools log record as one readable line:

    ``12:00:01.123 INFO  [consume] batch stored  stored=2000 dead_lettered=0``

    The Lambda context's keys (request id, ARN, memory, cold start …) are left out; a logged
    exception follows on the next lines."""

    _HIDDEN = frozenset(
        {
            "level",
            "location",
            "message",
            "timestamp",
            "service",
            "sampling_rate",
            "cold_start",
            "function_name",
            "function_memory_size",
            "function_arn",
            "function_request_id",
            "xray_trace_id",
            "exception",
            "exception_name",
            "exception_notes",
            "stack_trace",
        }
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(datefmt="%H:%M:%S.%F", serialize_stacktrace=False, **kwargs)

    def serialize(self, log: LogRecord) -> str:
        parts = [str(log.get("timestamp", "")), f"{log.get('level', ''):<7}"]
        if log.get("function_name"):
            parts.append(f"[{log['function_name']}]")
        parts.append(str(log.get("message", "")))
        keys = " ".join(f"{key}={_text(value)}" for key, value in log.items() if key not in self._HIDDEN)
        line = " ".join(parts) + (f"  {keys}" if keys else "")
        if log.get("exception"):
            line += "\n" + str(log["exception"])
        return redact(line)


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return f'"{text}"' if isinstance(value, str) and (" " in text or not text) else text


_format = log_format()
_metrics_printed = on_lambda() or asked_log_format() == "json"
logger = Logger(service=SERVICE, logger_formatter=TextFormatter() if _format == "text" else JsonFormatter())
metrics = Metrics(service=SERVICE, namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "eventlens"))

# An invocation that counted nothing (say, a batch of only duplicates) is normal here.
warnings.filterwarnings("ignore", message="No application metrics to publish")


def use_log_format(fmt: str | None = None) -> str:
    """Switch the logger to ``fmt`` (``text`` or ``json``; default: what :func:`log_format` picks) and
    return the format in use: on Lambda it stays ``json`` whatever is asked. Metrics are printed
    when ``fmt`` or ``$EVENTLENS_LOG_FORMAT`` asks for ``json``, and on Lambda. Call it before any
    invocation (keys appended since the logger was made are carried over)."""
    global _format, _metrics_printed
    if fmt is not None and fmt not in LOG_FORMATS:
        raise ValueError(f"log format {fmt!r}: one of {', '.join(LOG_FORMATS)}")
    chosen = "json" if on_lambda() else (fmt or log_format())
    _metrics_printed = on_lambda() or (fmt or asked_log_format()) == "json"
    if chosen != _format:
        keys = dict(logger.get_current_keys())
        formatter = TextFormatter() if chosen == "text" else JsonFormatter()
        logger.registered_handler.setFormatter(formatter)
        formatter.append_keys(
            **{k: v for k, v in keys.items() if k not in ("level", "location", "message", "timestamp")}
        )
        _format = chosen
    return _format


def current_log_format() -> str:
    return _format


def metrics_printed() -> bool:
    """Whether :func:`count` adds metrics (printed as EMF JSON after each invocation)."""
    return _metrics_printed and not is_metrics_disabled()


CountSink = Callable[[str, float], None]
_count_sink: ContextVar[CountSink | None] = ContextVar("count_sink", default=None)


@contextmanager
def counting_into(sink: CountSink) -> Iterator[None]:
    """Hand every :func:`count` made in this context (this thread, this invocation) to ``sink`` too."""
    token = _count_sink.set(sink)
    try:
        yield
    finally:
        _count_sink.reset(token)


def count(name: str, value: float) -> None:
    """Add a Count metric, when metrics are printed (see the module doc) and not disabled
    (``POWERTOOLS_METRICS_DISABLED``: Powertools would still buffer and print them); and hand it to
    the sink of :func:`counting_into`, when the invoker set one."""
    sink = _count_sink.get()
    if sink is not None:
        sink(name, value)
    if metrics_printed():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
