"""The ``default`` project of a local home: made on first start, its keys kept in a file of the home.

``eventlens local`` and ``eventlens demo`` call this before serving, so the two README commands
keep working with every route closed: the demo reads its keys from the file, and a user finds them
there (``$EVENTLENS_HOME/default-project.json``, readable by its owner only). Keys revoked since are
replaced by new ones of the same kind.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from eventlens.errors import Unauthorized
from eventlens.keys import (
    DEFAULT_PROJECT,
    Authenticator,
    KeyKind,
    KeyStore,
    create_key,
    ensure_default_project,
)


@dataclass(frozen=True)
class DefaultKeys:
    write_key: str
    secret_key: str
    path: Path
    created: bool  # the project was made just now


def default_project_keys(store: KeyStore, home: Path) -> DefaultKeys:
    """The default project's working keys, making the project or new keys where needed."""
    path = home / "default-project.json"
    made = ensure_default_project(store)
    if made is not None:
        _, write, secret = made
        return _saved(path, write, secret, created=True)
    known = json.loads(path.read_text()) if path.exists() else {}
    auth = Authenticator(store, cache_seconds=0)
    write = _working(auth, store, known.get("write_key"), "write")
    secret = _working(auth, store, known.get("secret_key"), "secret")
    if (write, secret) != (known.get("write_key"), known.get("secret_key")):
        return _saved(path, write, secret, created=False)
    return DefaultKeys(write, secret, path, created=False)


def _working(auth: Authenticator, store: KeyStore, key: str | None, kind: KeyKind) -> str:
    try:
        if key and auth.principal(key, kind).project_id == DEFAULT_PROJECT:
            return key
    except Unauthorized:
        pass
    return create_key(store, DEFAULT_PROJECT, kind)[1]


def _saved(path: Path, write: str, secret: str, created: bool) -> DefaultKeys:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"project_id": DEFAULT_PROJECT, "write_key": write, "secret_key": secret}, out, indent=2)
    os.replace(tmp, path)
    return DefaultKeys(write, secret, path, created)
