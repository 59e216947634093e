"""The manifest of functions and triggers (functions/manifest.toml), shared by every deployer."""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

# The key a function's HTTP routes take (eventlens.keys): "write" sends events, "secret" reads too.
Access = Literal["write", "secret"]


@dataclass(frozen=True)
class HttpRoute:
    method: str
    path: str

    @property
    def key(self) -> str:
        """The route key as API Gateway names it: ``"GET /stats/dau"``."""
        return f"{self.method} {self.path}"

    @property
    def pattern(self) -> re.Pattern[str]:
        """The path as a regex, each ``{name}`` matching one path segment."""
        return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path)) + "$")


@dataclass(frozen=True)
class KafkaTrigger:
    topic: str
    batch_size: int = 10_000
    maximum_batching_window_s: int = 5
    starting_position: str = "TRIM_HORIZON"


@dataclass(frozen=True)
class Function:
    name: str
    description: str
    handler: str
    memory: int
    timeout: int
    directory: Path
    http: tuple[HttpRoute, ...] = ()
    kafka: tuple[KafkaTrigger, ...] = ()
    schedule: tuple[str, ...] = ()
    # What the function touches beyond its logs ("kafka", "bucket", "secrets:clickhouse", ...):
    # the deployer derives its environment and its IAM permissions from this list alone.
    needs: tuple[str, ...] = ()
    # "zip" (code zip + shared layers) or "image" (a container image, for dependencies that do not
    # fit Lambda's 250 MB unzipped limit); ``extras`` are the pyproject extras an image installs.
    package: str = "zip"
    extras: tuple[str, ...] = ()
    # The key its HTTP routes need ("secret" unless told), and the routes that need none.
    access: Access = "secret"
    public: tuple[HttpRoute, ...] = ()
    # The HTTP API's Lambda authorizer: asked before every route but the public ones (no routes of its own).
    authorizer: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def functions_dir() -> Path:
    """Where the functions live: $EVENTLENS_FUNCTIONS_DIR, or ``functions/`` of this checkout."""
    configured = os.environ.get("EVENTLENS_FUNCTIONS_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[3] / "functions"


def load_manifest(directory: Path | None = None) -> dict[str, Function]:
    """Every function in the manifest, by name."""
    directory = directory or functions_dir()
    raw = tomllib.loads((directory / "manifest.toml").read_text())
    functions = {}
    for name, spec in raw["functions"].items():
        routes = tuple(HttpRoute(*route.split(" ", 1)) for route in spec.pop("http", []))
        kafka = tuple(KafkaTrigger(**trigger) for trigger in spec.pop("kafka", []))
        schedule = tuple(spec.pop("schedule", []))
        package = spec.pop("package", "zip")
        if package not in ("zip", "image"):
            raise ValueError(f"function {name}: package must be 'zip' or 'image', not {package!r}")
        access, public = _access(name, spec, routes)
        authorizer = spec.pop("authorizer", False)
        if authorizer is not False and (authorizer is not True or routes or kafka or schedule):
            raise ValueError(f"function {name}: authorizer = true, on a function without triggers")
        functions[name] = Function(
            name=name,
            description=spec.pop("description"),
            handler=spec.pop("handler"),
            memory=spec.pop("memory"),
            timeout=spec.pop("timeout"),
            directory=directory / name,
            http=routes,
            kafka=kafka,
            schedule=schedule,
            needs=tuple(spec.pop("needs", [])),
            package=package,
            extras=tuple(spec.pop("extras", [])),
            access=access,
            public=public,
            authorizer=authorizer,
            extra=spec,
        )
    authorizers = sorted(name for name, function in functions.items() if function.authorizer)
    if len(authorizers) > 1:
        raise ValueError(f"one authorizer per API; the manifest has {authorizers}")
    return functions


def _access(
    name: str, spec: dict[str, Any], routes: tuple[HttpRoute, ...]
) -> tuple[Access, tuple[HttpRoute, ...]]:
    """A function's ``access`` and ``public`` routes, checked against its ``http`` routes."""
    if ("access" in spec or "public" in spec) and not routes:
        raise ValueError(f"function {name}: access and public are about http routes, and it has none")
    access = spec.pop("access", "secret")
    if access not in ("write", "secret"):
        raise ValueError(f"function {name}: access must be 'write' or 'secret', not {access!r}")
    public = tuple(HttpRoute(*route.split(" ", 1)) for route in spec.pop("public", []))
    unknown = [route.key for route in public if route not in routes]
    if unknown:
        raise ValueError(f"function {name}: public routes {unknown} are not among its http routes")
    return access, public


# An ASL file names a function by this placeholder; nothing else may be a placeholder.
FUNCTION_ARN = re.compile(r"\$\{(\w+?)_function_arn\}")
_ANY_PLACEHOLDER = re.compile(r"\$\{\w+\}")


@dataclass(frozen=True)
class StateMachine:
    """``state_machines/<name>.asl.json`` and its manifest section ``[state_machines.<name>]``.

    The one model of a state machine: infra/ deploys it and the local runner executes it, both
    filling its placeholders with :func:`fill_function_arns`.
    """

    name: str
    source: Path
    definition: Any  # the parsed ASL, placeholders unfilled
    functions: tuple[str, ...]  # the functions its placeholders name, sorted
    schedule: tuple[str, ...] = ()


def state_machines_dir() -> Path:
    return functions_dir().parent / "state_machines"


def load_state_machines(
    directory: Path | None = None, functions_directory: Path | None = None
) -> dict[str, StateMachine]:
    """Every ASL file in ``directory``, checked against the manifest's functions, by name.

    A placeholder that names no function of the manifest, or a manifest section without an ASL
    file, is an error: the ASL would deploy fine and fail when run.
    """
    directory = directory or state_machines_dir()
    functions_directory = functions_directory or functions_dir()
    deployed = set(load_manifest(functions_directory))
    sections: dict[str, dict[str, Any]] = tomllib.loads(
        (functions_directory / "manifest.toml").read_text()
    ).get("state_machines", {})
    files = {path.name.removesuffix(".asl.json"): path for path in sorted(directory.glob("*.asl.json"))}
    missing = set(sections) - set(files)
    if missing:
        raise ValueError(f"the manifest names state machines without an ASL file: {sorted(missing)}")
    machines = {}
    for name, path in files.items():
        definition = json.loads(path.read_text())
        machines[name] = StateMachine(
            name=name,
            source=path,
            definition=definition,
            functions=_referenced_functions(definition, path.name, deployed),
            schedule=tuple(sections.get(name, {}).get("schedule", [])),
        )
    return machines


def fill_function_arns(node: Any, arns: dict[str, str]) -> Any:
    """``node`` (parsed ASL) with each ``${<function>_function_arn}`` replaced by ``arns[function]``."""
    if isinstance(node, str):
        return FUNCTION_ARN.sub(lambda match: arns[match.group(1)], node)
    if isinstance(node, dict):
        return {key: fill_function_arns(value, arns) for key, value in node.items()}
    if isinstance(node, list):
        return [fill_function_arns(value, arns) for value in node]
    return node


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return []


def _referenced_functions(definition: Any, source: str, deployed: set[str]) -> tuple[str, ...]:
    names = set()
    for text in _strings(definition):
        for placeholder in _ANY_PLACEHOLDER.findall(text):
            match = FUNCTION_ARN.fullmatch(placeholder)
            if match is None:
                raise ValueError(f"{source}: {placeholder} is not a ${{<function>_function_arn}} placeholder")
            if match.group(1) not in deployed:
                raise ValueError(f"{source}: {placeholder} names no function of functions/manifest.toml")
            names.add(match.group(1))
    return tuple(sorted(names))
