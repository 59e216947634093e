"""The web console's static files, built from ``console/`` (TypeScript, bundled by esbuild) into
``static/``: ``eventlens local`` serves them at ``/`` and the Pulumi program uploads them.

Only the files the build wrote are served, each by its exact path, so a request cannot name anything
else on the disk. The console calls the API from the browser with the project's key in the
Authorization header; these files hold no data and no key.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
}
# The console's own origin, plus the object URLs of the model plots it fetches with the key; no inline
# script, no other host, never framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


@dataclass(frozen=True)
class StaticFile:
    key: str  # its path under static/, as uploaded to the console bucket
    content_type: str
    data: bytes

    @property
    def headers(self) -> dict[str, str]:
        return {
            "content-type": self.content_type,
            # index.html and config.json name what to load: always asked again; the bundle is small.
            "cache-control": "no-cache",
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
            **({"content-security-policy": CONTENT_SECURITY_POLICY} if self.key.endswith(".html") else {}),
        }


@cache
def static_files(root: Path = STATIC_DIR) -> dict[str, StaticFile]:
    """Every built file by its URL path (``/`` for index.html); empty when the console was not built."""
    files: dict[str, StaticFile] = {}
    if not root.is_dir():
        return files
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in CONTENT_TYPES:
            key = path.relative_to(root).as_posix()
            files["/" + key] = StaticFile(key, CONTENT_TYPES[path.suffix], path.read_bytes())
    if "/index.html" in files:
        files["/"] = files["/index.html"]
    return files


def console_file(path: str) -> StaticFile | None:
    """The console's file at this URL path, or None when it is not one of them."""
    return static_files().get(path)
