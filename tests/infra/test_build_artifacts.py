"""eventlens build: reproducible zips within Lambda's limits, on the fast path (no PyPI)."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from pulumi_mocks import ROOT

from eventlens.manifest import load_manifest
from eventlens_tools.build import (
    UNZIPPED_LIMIT,
    Artifact,
    Artifacts,
    build_artifacts,
    layer_requirements,
    limit_problems,
)
from eventlens_tools.cli import main


def test_two_builds_of_the_same_sources_are_byte_identical(tmp_path: Path) -> None:
    # Given a copy of the repository's functions and layer, built once
    functions, layer = tmp_path / "functions", tmp_path / "eventlens"
    shutil.copytree(ROOT / "functions", functions)
    shutil.copytree(ROOT / "layers" / "core" / "eventlens", layer)
    first = build_artifacts(
        tmp_path / "one", with_deps=False, functions=load_manifest(functions), layer_source=layer
    )
    # When every source is touched (new mtime and mode, same content) and everything is built again
    for path in [*functions.rglob("*"), *layer.rglob("*")]:
        if path.is_file():
            os.utime(path, (1_900_000_000, 1_900_000_000))
            path.chmod(0o600)
    second = build_artifacts(
        tmp_path / "two", with_deps=False, functions=load_manifest(functions), layer_source=layer
    )
    # Then every zip has the same bytes
    pairs = [*zip(first.functions.values(), second.functions.values(), strict=True),
             *zip(first.layers.values(), second.layers.values(), strict=True)]  # fmt: skip
    assert pairs
    for one, two in pairs:
        assert one.path.read_bytes() == two.path.read_bytes(), one.name


def test_zip_entries_are_sorted_with_a_fixed_time_and_mode(tmp_path: Path) -> None:
    # When the layer is built
    layer = build_artifacts(tmp_path, with_deps=False).layers["core"]
    entries = zipfile.ZipFile(layer.path).infolist()
    # Then its entries are sorted, dated 1980-01-01 and rw-r--r--, without caches
    names = [entry.filename for entry in entries]
    assert names == sorted(names)
    assert {entry.date_time for entry in entries} == {(1980, 1, 1, 0, 0, 0)}
    assert {entry.external_attr >> 16 for entry in entries} == {0o100644}
    caches = [name for name in names if name.endswith((".pyc", ".pyo")) and "/__pycache__/" not in name]
    assert caches == [], "only bytecode the build compiled, none copied from a source tree"


def test_the_core_layer_holds_the_package_where_lambda_imports_it(tmp_path: Path) -> None:
    # When the layer is built
    layer = build_artifacts(tmp_path, with_deps=False).layers["core"]
    names = set(zipfile.ZipFile(layer.path).namelist())
    # Then the package, its SQL and its migrations sit under python/eventlens/
    assert {"python/eventlens/settings.py", "python/eventlens/manifest.py"} <= names
    assert any(name.startswith("python/eventlens/migrations/") and name.endswith(".sql") for name in names)
    assert all(name.startswith("python/eventlens/") for name in names)


def test_the_core_layer_holds_runtime_code_only(tmp_path: Path) -> None:
    # When the layer is built
    layer = zipfile.ZipFile(build_artifacts(tmp_path, with_deps=False).layers["core"].path)
    sources = {name: layer.read(name).decode() for name in layer.namelist() if name.endswith(".py")}
    # Then no module of it is tooling, and none imports the tooling package or moto
    assert sources, "the layer has no Python modules"
    assert not {"cli.py", "demo.py", "generator.py", "build.py"} & {Path(n).name for n in sources}
    tooling_import = re.compile(r"^\s*(from|import)\s+(eventlens_tools|moto)\b", re.MULTILINE)
    importing_tooling = [name for name, text in sources.items() if tooling_import.search(text)]
    assert importing_tooling == []


def test_each_zip_function_gets_its_handler_and_each_image_function_a_dockerfile(tmp_path: Path) -> None:
    # Given the repository's manifest
    manifest = load_manifest(ROOT / "functions")
    # When everything is built
    artifacts = build_artifacts(tmp_path, with_deps=False)
    # Then a zip function's zip has its handler at the root, and an image function has a Dockerfile
    for name, spec in manifest.items():
        if spec.package == "zip":
            assert "handler.py" in zipfile.ZipFile(artifacts.functions[name].path).namelist()
        else:
            dockerfile = artifacts.images[name].read_text()
            assert f"COPY functions/{name}/" in dockerfile
            assert (
                f"[{','.join(spec.extras)}]" in dockerfile and 'CMD ["handler.lambda_handler"]' in dockerfile
            )
            assert name not in artifacts.functions


def test_the_build_command_prints_each_artifact_with_its_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # When eventlens build runs on the fast path
    status = main(["build", "--no-deps", "--dist", str(tmp_path)])
    printed = capsys.readouterr().out
    # Then it succeeds and names every zip with its zipped and unzipped sizes
    assert status == 0
    for path in sorted(tmp_path.glob("*.zip")):
        line = next(line for line in printed.splitlines() if line.startswith(str(path)))
        assert " zipped " in line and line.rstrip().endswith("(direct upload ok)")
    assert "layer-deps.zip not built" in printed


def test_a_function_over_lambdas_unzipped_limit_is_reported() -> None:
    # Given a function whose zip and layers add up to more than 250 MB
    fake = Path("unused.zip")
    artifacts = Artifacts(
        functions={"huge": Artifact("huge", fake, 1, 100)},
        layers={"deps": Artifact("deps", fake, 1, UNZIPPED_LIMIT)},
    )
    # When the limits are checked, Then the function is named with the way out
    problems = limit_problems(artifacts)
    assert len(problems) == 1 and "huge" in problems[0] and 'package = "image"' in problems[0]


def test_the_dependency_layer_leaves_out_what_lambda_does_not_need() -> None:
    # When the layer's requirements are read from pyproject.toml
    requirements = layer_requirements()
    names = {req.split(">")[0].split("[")[0].split("=")[0].lower() for req in requirements}
    # Then chDB (embedded only) and boto3 (in the runtime) are left out, the Kafka client is in
    assert "chdb" not in names and "boto3" not in names
    assert {"kafka-python", "clickhouse-connect", "pyarrow", "numpy"} <= names


def test_zips_are_written_whole(tmp_path: Path) -> None:
    # When a zip is built, Then it reads back as a valid archive with no temporary file left
    artifact = build_artifacts(tmp_path, with_deps=False).layers["core"]
    assert zipfile.ZipFile(io.BytesIO(artifact.path.read_bytes())).testzip() is None
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="bytecode is built by Lambda's Python, 3.11")
def test_every_module_ships_with_bytecode_that_the_runtime_uses_without_its_source(tmp_path: Path) -> None:
    # When the layer and the functions are built (by the runtime's Python version, as CI's is)
    artifacts = build_artifacts(tmp_path, with_deps=False)
    layer = zipfile.ZipFile(artifacts.layers["core"].path)
    names = set(layer.namelist())
    # Then each module has an unchecked-hash pyc beside it, under __pycache__
    modules = [name for name in names if name.endswith(".py")]
    pyc = "{}/__pycache__/{}.cpython-311.pyc"
    missing = [m for m in modules if pyc.format(m.rpartition("/")[0], Path(m).stem) not in names]
    assert modules and missing == []
    # And Python imports the package from the pycs alone, with the sources gone (so it cannot have
    # compiled them), the layer unpacked where a read-only /opt would hold it
    unpacked = tmp_path / "opt"
    layer.extractall(unpacked)
    for source in (unpacked / "python").rglob("*.py"):
        source.write_text("raise SystemExit('the source was read, not the bytecode')\n")
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import eventlens.manifest, eventlens.errors; "
        "print(eventlens.manifest.__cached__.endswith('.pyc'), eventlens.errors.__file__)"
    )
    done = subprocess.run(
        [sys.executable, "-B", "-c", probe, str(unpacked / "python")],
        capture_output=True, text=True, env={"PATH": os.environ["PATH"]}, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", str(unpacked / "python" / "eventlens" / "errors.py")]
    # And a function's zip carries its handler's bytecode too
    ingest = zipfile.ZipFile(artifacts.functions["ingest"].path).namelist()
    assert "__pycache__/handler.cpython-311.pyc" in ingest
