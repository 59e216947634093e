"""Loading a manifest function's handler and invoking it as Lambda would, one request at a time."""

from __future__ import annotations

import importlib.util
import threading
import time
import uuid
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from eventlens.manifest import Function


@dataclass
class LocalContext:
    """The parts of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    timeout_s: int
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"
    _deadline: float = field(default=0.0)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:local:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LocalFunction:
    """One warm 'container' of a function: its module loaded once, invocations serialised."""

    def __init__(self, function: Function) -> None:
        self.function = function
        self._lock = threading.Lock()
        self._entry = getattr(_load_module(function), function.handler.rsplit(".", 1)[1])

    def invoke(self, event: dict[str, Any]) -> Any:
        context = LocalContext(
            function_name=self.function.name,
            memory_limit_in_mb=self.function.memory,
            timeout_s=self.function.timeout,
            _deadline=time.monotonic() + self.function.timeout,
        )
        with self._lock:  # a Lambda container serves one request at a time
            return self._entry(event, context)


def _load_module(function: Function) -> ModuleType:
    module_file, _ = function.handler.rsplit(".", 1)
    path = function.directory / f"{module_file.replace('.', '/')}.py"
    spec = importlib.util.spec_from_file_location(f"eventlens_functions.{function.name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
