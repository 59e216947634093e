"""Deployment artifacts: reproducible zips of every function and of the shared layers, in ``dist/``.

The same sources always give the same bytes (fixed timestamps and permissions, sorted entries), so
a deploy changes exactly the functions whose code changed. Three kinds of artifact:

- ``function-<name>.zip``: the function's directory (``handler.py`` at the root);
- ``layer-core.zip``: the eventlens package as ``python/eventlens/...``;
- ``layer-deps.zip``: the third-party dependencies, installed for manylinux x86_64 / CPython 3.11
  (needs PyPI; ``with_deps=False`` skips it for a fast, offline build of the code alone).

A function with ``package = "image"`` in the manifest gets ``images/<name>/Dockerfile`` instead: its
dependencies (scikit-learn for training) do not fit Lambda's 250 MB unzipped limit.
"""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from eventlens.manifest import Function, load_manifest

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024
DIRECT_UPLOAD_LIMIT = 50 * MB  # a zip sent in the CreateFunction / PublishLayerVersion call
UNZIPPED_LIMIT = 250 * MB  # a function and all its layers, unzipped
PYTHON_VERSION = "3.11"
PLATFORM = "manylinux2014_x86_64"

# Dependencies of the eventlens package that stay out of the Lambda layer, and why.
NOT_IN_LAYER = {
    "chdb": "the embedded warehouse; on Lambda the warehouse is a ClickHouse server (CLICKHOUSE_URL)",
    "boto3": "provided by the Lambda Python runtime",
    "localstack-client": "a local-development helper",
    "tqdm": "progress bars of the eventlens command; the layer reports progress through callbacks",
    "prometheus-client": "eventlens local's /metrics; on Lambda the functions print EMF metrics",
}

# From extras, needed by zip functions: numpy (the snapshot and export functions' features) and
# AWS's MSK IAM signer (ingest and consume sign in to MSK Serverless with it) and the Neo4j driver
# (the report function reads the habits graph).
ALSO_IN_LAYER = ("numpy", "aws-msk-iam-sasl-signer-python", "neo4j")

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o100644 << 16  # a regular file, rw-r--r--
_SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
_SKIPPED_SUFFIXES = {".pyc", ".pyo"}


@dataclass(frozen=True)
class Artifact:
    """One zip in ``dist/`` and what Lambda's limits count of it."""

    name: str
    path: Path
    zipped_bytes: int
    unzipped_bytes: int

    @property
    def sha256_base64(self) -> str:
        """The hash Lambda reports as CodeSha256 (a deploy compares it to skip unchanged code)."""
        return base64.b64encode(hashlib.sha256(self.path.read_bytes()).digest()).decode()


@dataclass
class Artifacts:
    functions: dict[str, Artifact] = field(default_factory=dict)
    layers: dict[str, Artifact] = field(default_factory=dict)
    images: dict[str, Path] = field(default_factory=dict)

    def unzipped_with_layers(self, function: str) -> int:
        return self.functions[function].unzipped_bytes + sum(a.unzipped_bytes for a in self.layers.values())


def write_zip(path: Path, files: Iterable[tuple[str, Path]]) -> Artifact:
    """Zip ``(name in archive, file)`` pairs into ``path``: sorted, fixed time and mode, deflated."""
    entries = sorted(files)
    path.parent.mkdir(parents=True, exist_ok=True)
    unzipped = 0
    tmp = path.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w") as archive:
        for arcname, source in entries:
            info = zipfile.ZipInfo(arcname, date_time=_FIXED_TIME)
            info.external_attr = _FILE_MODE
            info.create_system = 3  # unix, so the mode above is honoured
            info.compress_type = zipfile.ZIP_DEFLATED
            data = source.read_bytes()
            unzipped += len(data)
            archive.writestr(info, data, compresslevel=9)
    tmp.replace(path)
    return Artifact(path.stem, path, path.stat().st_size, unzipped)


def tree(directory: Path, prefix: str = "") -> Iterator[tuple[str, Path]]:
    """Every file under ``directory`` as ``(prefix + relative path, path)``, caches left out."""
    for path in directory.rglob("*"):
        relative = path.relative_to(directory)
        skipped = _SKIPPED_PARTS & set(relative.parts) or path.suffix in _SKIPPED_SUFFIXES
        if path.is_file() and not skipped and path.name != ".complete":
            yield prefix + relative.as_posix(), path


def layer_requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The package's dependencies that belong in the Lambda layer (see ``NOT_IN_LAYER``)."""
    dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    return [*(req for req in dependencies if _requirement_name(req) not in NOT_IN_LAYER), *ALSO_IN_LAYER]


def install_dependencies(requirements: list[str], cache: Path) -> Path:
    """Install ``requirements`` for Lambda's platform into a directory kept per requirement set."""
    key = hashlib.sha256("\n".join([PLATFORM, PYTHON_VERSION, *requirements]).encode()).hexdigest()[:16]
    target = cache / f"deps-{key}"
    if (target / ".complete").exists():
        return target
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--upgrade",
        "--target", str(target), "--platform", PLATFORM, "--implementation", "cp",
        "--python-version", PYTHON_VERSION, "--only-binary=:all:", *requirements,
    ]  # fmt: skip
    subprocess.run(command, check=True)
    (target / ".complete").touch()
    return target


def build_artifacts(
    dist: Path = ROOT / "dist",
    *,
    with_deps: bool = True,
    functions: dict[str, Function] | None = None,
    layer_source: Path = ROOT / "layers" / "core" / "eventlens",
    out: TextIO | None = None,
) -> Artifacts:
    """Build every artifact into ``dist`` and print each with its size (to ``out``, when given)."""
    functions = load_manifest() if functions is None else functions
    artifacts = Artifacts()
    for name, function in sorted(functions.items()):
        if function.package == "image":
            artifacts.images[name] = write_dockerfile(dist / "images" / name / "Dockerfile", function)
        else:
            artifacts.functions[name] = write_zip(dist / f"function-{name}.zip", tree(function.directory))
    artifacts.layers["core"] = write_zip(dist / "layer-core.zip", tree(layer_source, "python/eventlens/"))
    if with_deps:
        installed = install_dependencies(layer_requirements(), dist / ".cache")
        files = [entry for entry in tree(installed, "python/") if not entry[0].startswith("python/bin/")]
        artifacts.layers["deps"] = write_zip(dist / "layer-deps.zip", files)
    if out is not None:
        report(artifacts, functions, out)
    return artifacts


def limit_problems(artifacts: Artifacts) -> list[str]:
    """What breaks Lambda's limits; the infra uploads zips through S3, so 50 MB only warns."""
    return [
        f"function {name}: {artifacts.unzipped_with_layers(name) / MB:.1f} MB unzipped with its layers, "
        f'over Lambda\'s {UNZIPPED_LIMIT // MB} MB: mark it package = "image" in functions/manifest.toml'
        for name in artifacts.functions
        if artifacts.unzipped_with_layers(name) > UNZIPPED_LIMIT
    ]


def report(artifacts: Artifacts, functions: dict[str, Function], out: TextIO) -> None:
    """Each artifact with its sizes, each function's total against the limit, and image functions."""
    for artifact in [*artifacts.functions.values(), *artifacts.layers.values()]:
        upload = "direct upload ok" if artifact.zipped_bytes <= DIRECT_UPLOAD_LIMIT else "over 50 MB: via S3"
        sizes = f"{_size(artifact.zipped_bytes)} zipped  {_size(artifact.unzipped_bytes)} unzipped"
        print(f"{artifact.path}  {sizes}  ({upload})", file=out)
    if "deps" not in artifacts.layers:
        print("layer-deps.zip not built (--no-deps): the functions need it to run on Lambda", file=out)
    for name in artifacts.functions:
        total = artifacts.unzipped_with_layers(name)
        verdict = "ok" if total <= UNZIPPED_LIMIT else "OVER THE LIMIT"
        limit = f"limit {UNZIPPED_LIMIT // MB} MB"
        print(f"function {name}: {_size(total)} unzipped with layers ({limit}) {verdict}", file=out)
    for name, dockerfile in artifacts.images.items():
        extras = ", ".join(functions[name].extras) or "none"
        why = f"extras: {extras}; too big for a zip under the 250 MB limit"
        print(f"function {name}: container image ({why}) -> {dockerfile}", file=out)


def write_dockerfile(path: Path, function: Function) -> Path:
    """The image of a container-image function, built from the repository root (``docker build -f``)."""
    extras = f"[{','.join(function.extras)}]" if function.extras else ""
    handler_dir = function.directory.relative_to(ROOT).as_posix() if function.directory.is_relative_to(ROOT) \
        else f"functions/{function.name}"  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"# {function.name}: {function.description}\n"
        "# Build from the repository root: docker build -f <this file> .\n"
        f"FROM public.ecr.aws/lambda/python:{PYTHON_VERSION}\n"
        "COPY pyproject.toml README.md /tmp/eventlens/\n"
        "COPY layers/core /tmp/eventlens/layers/core\n"
        f'RUN pip install --no-cache-dir "/tmp/eventlens{extras}" && rm -rf /tmp/eventlens\n'
        f"COPY {handler_dir}/ ${{LAMBDA_TASK_ROOT}}/\n"
        f'CMD ["{function.handler}"]\n'
    )
    return path


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower()


def _size(size: int) -> str:
    return f"{size / MB:.1f} MB" if size >= MB else f"{size / 1024:.1f} KB"
