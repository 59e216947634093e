"""The console's bundle: the committed files are what console/ builds (so pip installs without Node.js
serve the current console), and it stays within its budget of 300 KB gzipped."""

from __future__ import annotations

import gzip
import shutil
import subprocess
from pathlib import Path

import pytest

from eventlens_tools.console import STATIC_DIR, static_files

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "console"
BUDGET_BYTES = 300 * 1024


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_committed_bundle_is_within_300_kb_gzipped() -> None:
    files = _files(STATIC_DIR)
    assert {"index.html", "console/app.js", "console/app.css", "console/config.json"} <= set(files)
    gzipped = sum(len(gzip.compress(data, compresslevel=9)) for data in files.values())
    print(f"console bundle: {gzipped / 1024:.1f} KB gzipped")
    assert gzipped <= BUDGET_BYTES


def test_the_committed_bundle_is_what_the_sources_build(tmp_path: Path) -> None:
    if shutil.which("node") is None or not (CONSOLE / "node_modules" / "esbuild").is_dir():
        pytest.skip("console/node_modules is not installed (scripts/setup.sh runs npm ci when npm exists)")
    # When the sources are built into another directory
    built = subprocess.run(
        ["node", "build.mjs", str(tmp_path / "static")],
        cwd=CONSOLE,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stderr
    # Then every file equals the committed one
    assert _files(tmp_path / "static") == _files(STATIC_DIR)


def test_eventlens_local_serves_only_the_built_files_by_their_paths() -> None:
    served = static_files()
    assert served["/"].data == (STATIC_DIR / "index.html").read_bytes()
    assert served["/console/app.js"].content_type.startswith("text/javascript")
    assert "content-security-policy" in served["/"].headers
    assert not any(".." in path or path.endswith(".py") for path in served)
