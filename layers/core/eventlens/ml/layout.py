"""Where a project's ML objects live: one root per project in the object store.

Every object of the pipeline — exports, manifests and watermark, snapshots, model versions,
fingerprints and the promoted pointer — belongs to one project and lives under that project's root::

    projects/<project_id>/exports/events/date=…/part-00000.parquet
    projects/<project_id>/snapshots/…
    projects/<project_id>/models/context_aware/…

except the ``default`` project's, which stay where they were before projects existed, at the root of
the store (``exports/events/…``, ``snapshots/…``, ``models/…``). Everything stored then was the
default project's, and leaving it in place was chosen over a move because:

* an object store has no rename: a move is a copy and a delete per object (a year of Parquet
  through a Lambda) and, until it is done, either the pipeline or the predict function (which may
  only read the bucket) looks in the wrong place — the served model would vanish on upgrade until
  the next nightly run;
* readers outside eventlens (an Athena or DuckDB table over ``exports/events/``) keep working, and a
  re-export of the default project writes the very bytes it wrote before (no project column joins
  the Parquet: the object's place names its project).

The two shapes meet in one place, :class:`ProjectObjects`: a view of the store through which every
ML module reads and writes, with keys relative to the project's root. It refuses keys that would
leave the root (``..``, a leading ``/``) and, for ``default``, keys under ``projects/``, and lists
only the project's own keys, so code holding one project's view cannot name another's objects.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from eventlens.keys import DEFAULT_PROJECT
from eventlens.objectstore import ObjectStore

PROJECTS = "projects/"
PROJECT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
_PROJECT_ID = re.compile(PROJECT_ID_PATTERN)


def project_root(project_id: str) -> str:
    """The prefix of the project's objects: ``projects/<id>/``, or ``""`` for ``default``."""
    if not _PROJECT_ID.match(project_id):
        raise ValueError(f"not a project id: {project_id!r}")
    return "" if project_id == DEFAULT_PROJECT else f"{PROJECTS}{project_id}/"


class ProjectObjects:
    """One project's part of an object store, with keys relative to the project's root."""

    def __init__(self, objects: ObjectStore, project_id: str) -> None:
        self.objects = objects
        self.project_id = project_id
        self.root = project_root(project_id)

    def put(self, key: str, data: bytes) -> None:
        self.objects.put(self._key(key), data)

    def get(self, key: str) -> bytes:
        """The object's bytes; KeyError when there is none."""
        return self.objects.get(self._key(key))

    def list(self, prefix: str = "") -> Iterator[str]:
        """The project's keys under ``prefix`` (relative), in lexical order."""
        if prefix:
            self._key(prefix)
        for key in self.objects.list(self.root + prefix):
            if not self.root and key.startswith(PROJECTS):
                continue  # another project's
            yield key[len(self.root) :]

    def delete(self, key: str) -> None:
        self.objects.delete(self._key(key))

    def ping(self) -> bool:
        return self.objects.ping()

    def _key(self, key: str) -> str:
        parts = key.split("/")
        if not key or key.startswith("/") or any(part in (".", "..") for part in parts):
            raise ValueError(f"not a key of a project: {key!r}")
        if not self.root and parts[0] == PROJECTS.rstrip("/"):
            raise ValueError(f"not a key of the {DEFAULT_PROJECT} project: {key!r}")
        return self.root + key
