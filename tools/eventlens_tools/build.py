"""Deployment artifacts: reproducible zips of every function and of the shared layers, in ``dist/``.

The same sources always give the same bytes (fixed timestamps and permissions, sorted entries), so
a deploy changes exactly the functions whose code changed. Three kinds of artifact:

- ``function-<name>.zip``: the function's directory (``handler.py`` at the root);
- ``layer-core.zip``: the eventlens package as ``python/eventlens/...``;
- ``layer-deps.zip``: the third-party dependencies, installed for manylinux x86_64 / CPython 3.11
  (needs PyPI; ``with_deps=False`` skips it for a fast, offline build of the code alone).

Every module is shipped with its bytecode (``__pycache__/*.cpython-311.pyc``, unchecked-hash pycs, so the
bytes depend on the source alone): Lambda's code directories are read-only, so without it every cold
start compiles every module it imports — 2.0-2.7x the import time with bytecode (bench/cold_start.py).

A function with ``package = "image"`` in the manifest gets ``images/<name>/Dockerfile`` instead: its
dependencies (scikit-learn for training) do not fit Lambda's 250 MB unzipped limit.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.util
import marshal
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

# Packages other dependencies pull in that the Lambda Python runtime already has (its AWS SDK, as
# boto3 above): left out of the layer, the runtime's copy is used.
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath"}

# From extras, needed by zip functions: numpy (the snapshot and export functions' features) and
# AWS's MSK IAM signer (ingest and consume sign in to MSK Serverless with it) and the Neo4j driver
# (the report function reads the habits graph).
ALSO_IN_LAYER = ("numpy", "aws-msk-iam-sasl-signer-python", "neo4j")

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o100644 << 16  # a regular file, rw-r--r--
_SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
_SKIPPED_SUFFIXES = {".pyc", ".pyo"}
_FUNCTION_ROOT = "/var/task"  # where Lambda unpacks a function's zip
_LAYER_ROOT = "/opt"  # and its layers' (a layer's python/ is on sys.path)


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


def write_zip(path: Path, files: Iterable[tuple[str, Path]], runtime_root: str | None = None) -> Artifact:
    """Zip ``(name in archive, file)`` pairs into ``path``: sorted, fixed time and mode, deflated.

    With ``runtime_root`` (where Lambda unpacks the zip: ``/var/task`` or ``/opt``), each module gets
    its bytecode beside it (see ``bytecode``)."""
    entries: list[tuple[str, Path | bytes]] = list(files)
    if runtime_root is not None:
        entries += bytecode(entries, runtime_root)
    entries.sort(key=lambda entry: entry[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    unzipped = 0
    tmp = path.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w") as archive:
        for arcname, source in entries:
            info = zipfile.ZipInfo(arcname, date_time=_FIXED_TIME)
            info.external_attr = _FILE_MODE
            info.create_system = 3  # unix, so the mode above is honoured
            info.compress_type = zipfile.ZIP_DEFLATED
            data = source if isinstance(source, bytes) else source.read_bytes()
            unzipped += len(data)
            archive.writestr(info, data, compresslevel=9)
    tmp.replace(path)
    return Artifact(path.stem, path, path.stat().st_size, unzipped)


def bytecode(entries: Iterable[tuple[str, Path | bytes]], runtime_root: str) -> list[tuple[str, bytes]]:
    """``(__pycache__ name, pyc bytes)`` for each ``.py`` entry, as Lambda's Python would write them.

    Unchecked-hash pycs (PEP 552): no timestamp inside, and the runtime trusts them without reading
    the source (a zip never changes under it). Tracebacks name the module's path on Lambda. Built only
    by the runtime's Python version (the magic number is per version; another would ignore them);
    a file that does not compile there (a template, another version's code) ships as source only."""
    if sys.version_info[:2] != tuple(int(part) for part in PYTHON_VERSION.split(".")):
        return []
    compiled = []
    for arcname, source in entries:
        if not arcname.endswith(".py") or isinstance(source, bytes):
            continue
        pyc = _pyc(source.read_bytes(), f"{runtime_root}/{arcname}")
        if pyc is not None:
            folder, _, name = arcname.rpartition("/")
            compiled.append(
                (f"{folder}/__pycache__/{name[:-3]}.{sys.implementation.cache_tag}.pyc".lstrip("/"), pyc)
            )
    return compiled


@functools.lru_cache(maxsize=4096)
def _pyc(source: bytes, path: str) -> bytes | None:
    """An unchecked-hash pyc of ``source`` (PEP 552: magic, flags 0b01, the source's hash, the code);
    None when it does not compile. Cached: a build's layers share modules, tests build many times."""
    try:
        code = compile(source, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return None
    flags = (0b01).to_bytes(4, "little")
    return importlib.util.MAGIC_NUMBER + flags + importlib.util.source_hash(source) + marshal.dumps(code)


def tree(directory: Path, prefix: str = "") -> Iterator[tuple[str, Path]]:
    """Every file under ``directory`` as ``(prefix + relative path, path)``, caches left out."""
    for path in directory.rglob("*"):
        relative = path.relative_to(directory)
        skipped = _SKIPPED_PARTS & set(relative.parts) or path.suffix in _SKIPPED_SUFFIXES
        if path.is_file() and not skipped and path.name != ".complete":
            yield prefix + relative.as_posix(), path


def dependency_files(installed: Path) -> list[tuple[str, Path]]:
    """The installed dependencies' files for the layer, without what never runs on Lambda: console
    scripts, the packages' own test suites (numpy's and pyarrow's, 21 MB), and the AWS SDK that
    others pull in (``RUNTIME_PROVIDED``). With their bytecode the layer is ~230 MiB unzipped, under
    the 250 MiB a function and its layers may take (with the SDK and test suites it was ~274)."""
    kept = []
    for arcname, path in tree(installed, "python/"):
        parts = arcname.split("/")
        distribution = re.sub(r"-[^-]+\.dist-info$", "", parts[1]).lower().replace("_", "")
        if parts[1] == "bin" or "tests" in parts[2:-1] or distribution in RUNTIME_PROVIDED:
            continue
        kept.append((arcname, path))
    return kept


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
            artifacts.functions[name] = write_zip(
                dist / f"function-{name}.zip", tree(function.directory), _FUNCTION_ROOT
            )
    artifacts.layers["core"] = write_zip(
        dist / "layer-core.zip", tree(layer_source, "python/eventlens/"), _LAYER_ROOT
    )
    if with_deps:
        installed = install_dependencies(layer_requirements(), dist / ".cache")
        files = dependency_files(installed)
        artifacts.layers["deps"] = write_zip(dist / "layer-deps.zip", files, _LAYER_ROOT)
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
