"""The manifest of functions and triggers (functions/manifest.toml), shared by every deployer."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class HttpRoute:
    method: str
    path: str

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
            extra=spec,
        )
    return functions
