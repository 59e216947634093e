"""``eventlens projects …``, ``eventlens keys …`` and ``eventlens persons …``: projects, their API
keys, and the privacy side (suppressed persons, the erasure audit log).

They read and write the key store directly (SQLite under $EVENTLENS_HOME, or the DynamoDB table
EVENTLENS_KEYS_TABLE), so they work whether or not ``eventlens local`` is running. Plain keys are
printed once, when made; listings show a key's id and hint only.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TextIO

from eventlens.errors import FieldError, NotFound
from eventlens.keys import (
    ApiKey,
    KeyKind,
    KeyStore,
    create_key,
    create_project,
    open_key_store,
    revoke_key,
    rotate_key,
    set_keyless_routes,
)
from eventlens.privacy import open_privacy_store
from eventlens.settings import Settings

Command = Callable[[str, str, str], argparse.ArgumentParser]


def register(command: Command) -> None:
    """Add the ``projects`` and ``keys`` commands through the main parser's ``command`` factory."""
    projects = command(
        "projects",
        "create and list projects (each gets a write key and a secret key)",
        "A project is the unit of isolation. 'create' prints one JSON object with the project id and\n"
        "its first write key (send events; safe to ship in an app) and secret key (reports,\n"
        "predictions, administration). Keep the secret key secret: it is shown only here.",
    )
    actions = projects.add_subparsers(
        dest="action", required=True, metavar="ACTION", help="create, list or keyless"
    )
    create = actions.add_parser("create", help="a new project with a write key and a secret key")
    create.add_argument("name", help="the project's name (letters, digits, space, '.', '_', '-')")
    actions.add_parser("list", help="every project, as JSON")
    keyless = actions.add_parser(
        "keyless",
        help="let the reference systems' clients, which send no key, reach this project",
        description="Requests without a key on the reference systems' routes (their ingest routes,\n"
        "their read routes, or both) reach this project; off by default, one project per kind at a\n"
        "time, always behind the per-IP rate limit. eventlens's own /v1/events always needs a key.",
    )
    keyless.add_argument("project", help="the project id")
    keyless.add_argument(
        "--routes", choices=["ingest", "read", "both", "none"], required=True, help="which routes need no key"
    )

    keys = command(
        "keys",
        "create, list, rotate and revoke API keys",
        "Keys are sent as 'Authorization: Bearer <key>'. 'rotate' makes a new key of the same kind\n"
        "and lets the old one work for --overlap-hours more; 'revoke' stops a key at once (running\n"
        "containers may accept it for up to 30 s from their cache).",
    )
    key_actions = keys.add_subparsers(
        dest="action", required=True, metavar="ACTION", help="create, list, revoke or rotate"
    )
    new = key_actions.add_parser("create", help="a new key for a project")
    new.add_argument("--project", required=True, help="the project id")
    new.add_argument("--kind", choices=["write", "secret"], default="write", help="what the key may do")
    listing = key_actions.add_parser("list", help="keys (id, project, kind, hint, state), as JSON")
    listing.add_argument("--project", help="only this project's keys")
    revoke = key_actions.add_parser("revoke", help="stop a key working")
    revoke.add_argument("key_id", help="the key's id (key_…), from 'keys list'")
    rotate = key_actions.add_parser("rotate", help="replace a key, the old one working for an overlap")
    rotate.add_argument("key_id", help="the key's id (key_…), from 'keys list'")
    rotate.add_argument(
        "--overlap-hours", type=float, default=24.0, help="how long the old key keeps working"
    )

    persons = command(
        "persons",
        "suppressed persons and the erasure audit log",
        "An erasure (DELETE /v1/persons/{user_id} with a secret key) suppresses the person: their\n"
        "events still in the queue or sent later are dropped at consume. 'unsuppress' lets them be\n"
        "stored again (the erased data does not come back); 'suppressed' lists who is suppressed;\n"
        "'erasures' prints a project's audit log (persons as SHA-256 of project NUL user id).",
    )
    person_actions = persons.add_subparsers(
        dest="action", required=True, metavar="ACTION", help="unsuppress, suppressed or erasures"
    )
    lift = person_actions.add_parser("unsuppress", help="store a suppressed person's events again")
    lift.add_argument("--project", required=True, help="the project id")
    lift.add_argument("user_id", help="the person's user id")
    shown = person_actions.add_parser("suppressed", help="suppressed persons, as JSON")
    shown.add_argument("--project", required=True, help="the project id")
    log = person_actions.add_parser("erasures", help="a project's erasures, oldest first, as JSON")
    log.add_argument("--project", required=True, help="the project id")


def run(args: argparse.Namespace, settings: Settings, out: TextIO | None = None) -> int:
    """Carry out a ``projects`` or ``keys`` command; 2 with a one-line error on a bad argument."""
    store = open_key_store(settings)
    try:
        if args.command == "persons":
            answer = _persons(store, settings, args)
        else:
            answer = _projects(store, args) if args.command == "projects" else _keys(store, args)
    except FieldError as exc:
        print(f"eventlens {args.command} {args.action}: {exc.field}: {exc.reason}", file=sys.stderr)
        return 2
    (out or sys.stdout).write(json.dumps(answer, indent=2, ensure_ascii=False) + "\n")
    return 0


def _projects(store: KeyStore, args: argparse.Namespace) -> Any:
    if args.action == "keyless":
        chosen: dict[str, set[KeyKind]] = {
            "ingest": {"write"},
            "read": {"secret"},
            "both": {"write", "secret"},
        }
        set_keyless_routes(store, args.project, chosen.get(args.routes, set()))
        return {"ingest": store.keyless("write"), "read": store.keyless("secret")}
    if args.action == "create":
        project, write, secret = create_project(store, args.name)
        return {
            "project_id": project.project_id,
            "name": project.name,
            "write_key": write,
            "secret_key": secret,
        }
    return [
        {"project_id": p.project_id, "name": p.name, "created_at": p.created_at.isoformat()}
        for p in store.projects()
    ]


def _keys(store: KeyStore, args: argparse.Namespace) -> Any:
    if args.action == "create":
        key, plain = create_key(store, args.project, args.kind)
        return {**_shown(key), "key": plain}
    if args.action == "list":
        return [_shown(k) for k in store.api_keys(args.project)]
    if args.action == "revoke":
        return _shown(revoke_key(store, args.key_id))
    new, plain, old = rotate_key(store, args.key_id, timedelta(hours=args.overlap_hours))
    return {"new": {**_shown(new), "key": plain}, "old": _shown(old)}


def _persons(store: KeyStore, settings: Settings, args: argparse.Namespace) -> Any:
    if store.project(args.project) is None:
        raise NotFound("project", f"no project {args.project}")
    privacy = open_privacy_store(settings)
    if args.action == "unsuppress":
        lifted = privacy.set_suppressed(args.project, args.user_id, False)
        return {"project_id": args.project, "user_id": args.user_id, "was_suppressed": lifted}
    if args.action == "suppressed":
        return sorted(user for project, user in privacy.suppressed() if project == args.project)
    return [
        {
            "job_id": r.job_id,
            "at": r.at.isoformat(),
            "key_id": r.key_id,
            "person_hash": r.person_hash,
            "removed": r.removed,
        }
        for r in privacy.erasures(args.project)
    ]


def _shown(key: ApiKey) -> dict[str, Any]:
    """A key as listings show it: never its hash or the key itself."""
    return {
        "key_id": key.key_id,
        "project_id": key.project_id,
        "kind": key.kind,
        "hint": key.hint + "…",
        "created_at": key.created_at.isoformat(),
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
    }
