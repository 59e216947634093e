"""Loading a manifest function's handler and invoking it as Lambda would, one request at a time."""

from __future__ import annotations

import importlib.util
import queue
import time
import uuid
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from eventlens.components import Components
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
    """Warm 'containers' of a function: each loads the module once and serves one request at a time,
    as a Lambda container does; ``concurrency`` of them serve requests side by side.

    Each handler module binds its own ``parts`` at import; given ``parts``, every container gets
    those instead (``bind``): chDB opens one data directory per process, so the functions a process
    runs share one ``Components``, the runtime's.
    """

    def __init__(self, function: Function, concurrency: int = 1, parts: Components | None = None) -> None:
        self.function = function
        self._modules = [_load_module(function, slot) for slot in range(concurrency)]
        for module in self._modules:
            _prepare_routes(module)
        self._idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
        attribute = function.handler.rsplit(".", 1)[1]
        for module in self._modules:
            self._idle.put(getattr(module, attribute))
        if parts is not None:
            self.bind(parts)

    def bind(self, parts: Components) -> None:
        """Hand ``parts`` to every container: each handler module's ``parts`` becomes them."""
        for module in self._modules:
            if not hasattr(module, "parts"):
                raise TypeError(f"the handler of {self.function.name} binds no parts")
            vars(module)["parts"] = parts

    def invoke(self, event: dict[str, Any]) -> Any:
        context = LocalContext(
            function_name=self.function.name,
            memory_limit_in_mb=self.function.memory,
            timeout_s=self.function.timeout,
            _deadline=time.monotonic() + self.function.timeout,
        )
        entry = self._idle.get()  # waits for a free container
        try:
            return entry(event, context)
        finally:
            self._idle.put(entry)


def _prepare_routes(module: ModuleType) -> None:
    """Build each HTTP route's parameter model now, one container after another, before any request.

    Powertools builds a route's model lazily, on the route's first request, and this runtime's containers
    of one function share the route modules (their functions and parameter annotations). With the models
    built on the console's parallel first requests, the console tests failed now and then (a report read
    as if ``limit`` were not given; a 422 for a valid request): 2 of 5 runs and one fresh-clone CI run.
    Built here first: 4 runs of 4 passed. Which shared state the lazy builds race on is not pinned down;
    a Lambda container serves one request at a time, so only this runtime is concerned."""
    resolver = getattr(module, "app", None)
    for route in [*getattr(resolver, "_static_routes", []), *getattr(resolver, "_dynamic_routes", [])]:
        route.dependant  # noqa: B018 - the property builds and caches it
        route.body_field  # noqa: B018


def _load_module(function: Function, slot: int = 0) -> ModuleType:
    module_file, _ = function.handler.rsplit(".", 1)
    path = function.directory / f"{module_file.replace('.', '/')}.py"
    spec = importlib.util.spec_from_file_location(f"eventlens_functions.{function.name}_{slot}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
