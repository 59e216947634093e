"""Erasure (GDPR art. 17): a person's data out of one project, everywhere eventlens keeps it.

A person is every distinct id identity stitching joined (``eventlens.identity``): erasing any of their
ids erases all of them. ``erase_person`` runs these steps, in this order, and returns what each removed:

1. **suppress** the person (each of their ids) first (``eventlens.privacy``): from the next consume
   batch on, events of theirs still in the queue or sent later are dropped, so nothing re-creates
   what follows removes;
2. their **events**, with every per-event copy and every rollup row they touched recomputed
   (``event_removal``: after it, each report equals a computation over the remaining events);
3. their **CRM row** (the Reports Backend's imported users), their **dead letters**, their rows in the
   **exported Parquet** partitions and the **feature snapshots**, and their part of the **habits
   graph** (when one is configured);
4. the events once more: a consume batch that decided to store the person's events just before the
   suppression (its decision is sealed before it stores) may have stored them during step 3;
5. what **identity** keeps of their ids: the mapping, the pairs that joined them, their person
   properties ($set, $set_once) and group memberships, their overlaps;
6. an **audit record** (when, which key, the counts; the person only as a hash).

Every step is idempotent: an erasure that failed half way (the ids are forgotten last, so asking again
finds them all) (a warehouse or graph outage) is finished
by asking again, and the person stays suppressed meanwhile. Trained models are not retrained here:
the next scheduled training learns from the erased snapshots (a model holds no row of a person).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from eventlens.event_removal import remove_events
from eventlens.identity import forget_person, ids_of_person
from eventlens.privacy import ErasureRecord, PrivacyStore, person_hash
from eventlens.warehouse import Warehouse

if TYPE_CHECKING:
    from eventlens.components import Components

_LIST_EVENTS = """
INSERT INTO events_removed (project_id, event_id, user_id, day, source)
SELECT DISTINCT project_id, event_id, user_id, toDate(ts), source FROM events
WHERE project_id = {project:String} AND user_id IN {users:Array(String)}
"""


class ErasureResult(BaseModel):
    """What an erasure did."""

    job_id: str = Field(
        description="This erasure's id, as the audit log (`eventlens persons erasures`) names it"
    )
    user_id: str
    erased_at: datetime
    removed: dict[str, int] = Field(
        description="What was removed, by kind: events, crm_users, dead_letters, …"
    )
    suppressed: bool = Field(
        default=True,
        description="Events of this person are dropped at consume until `eventlens persons unsuppress`",
    )


def erase_events(warehouse: Warehouse, project_id: str, user_ids: list[str]) -> int:
    """Remove the events of these distinct ids and recompute the rollup rows they touched; returns how
    many."""
    warehouse.command(_LIST_EVENTS, {"project": project_id, "users": user_ids})
    return remove_events(warehouse)


def suppress(privacy: PrivacyStore, project_id: str, user_id: str) -> bool:
    return privacy.set_suppressed(project_id, user_id, True)


def unsuppress(privacy: PrivacyStore, project_id: str, user_id: str) -> bool:
    """Let the person's events be stored again; True when they were suppressed."""
    return privacy.set_suppressed(project_id, user_id, False)


def audit(
    privacy: PrivacyStore, project_id: str, user_id: str, key_id: str, removed: dict[str, int]
) -> ErasureResult:
    """Write the audit record of a finished erasure and return its answer."""
    record = ErasureRecord(
        job_id=uuid.uuid4().hex,
        project_id=project_id,
        person_hash=person_hash(project_id, user_id),
        key_id=key_id,
        at=datetime.now(UTC),
        removed=removed,
    )
    privacy.add_erasure(record)
    return ErasureResult(job_id=record.job_id, user_id=user_id, erased_at=record.at, removed=removed)


def erase_person(parts: Components, project_id: str, user_id: str, key_id: str) -> ErasureResult:
    """Erase ``user_id`` from ``project_id`` (the steps of the module doc); ``key_id`` is who asked."""
    from eventlens.deadletter import erase_person_from_dead_letters
    from eventlens.importers.postgres import erase_person_from_crm
    from eventlens.mining.graph import erase_person_from_graph
    from eventlens.ml.erasure import erase_person_from_exports

    ids = ids_of_person(parts.warehouse, project_id, user_id)
    for id_ in ids:
        suppress(parts.privacy, project_id, id_)
    removed = {"events": erase_events(parts.warehouse, project_id, ids)}
    removed["crm_users"] = 0
    removed["dead_letters"] = 0
    for id_ in ids:
        removed["crm_users"] += erase_person_from_crm(parts.warehouse, project_id, id_)
        removed["dead_letters"] += erase_person_from_dead_letters(parts.dead_letters, project_id, id_)
        for kind, n in (
            *erase_person_from_exports(parts.objects, project_id, id_).items(),
            *erase_person_from_graph(parts.graph, project_id, id_).items(),
        ):
            removed[kind] = removed.get(kind, 0) + n
    removed["events"] += erase_events(parts.warehouse, project_id, ids)  # step 4
    removed["merged_ids"] = forget_person(parts.warehouse, project_id, ids)
    return audit(parts.privacy, project_id, user_id, key_id, removed)
