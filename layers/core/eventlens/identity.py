"""Persons: which distinct ids are one person (identity stitching), kept exact.

**Facts.** An event may say that two distinct ids are one person: Segment's ``anonymousId`` beside a
``userId`` (``$anonymous_id``), PostHog's ``$identify`` (``$anon_distinct_id``), an alias
(``$create_alias``: Segment's ``$previous_id``, PostHog's ``alias``) or PostHog's
``$merge_dangerously`` (``alias``). A materialized view keeps each such pair in ``person_edges``
(migration 0009) in the same insert as the event, for any source: the reference systems' clients send
none of these, so their ``user_id`` keeps meaning one person.

**Persons.** A person is a connected component of the pairs, named by its smallest distinct id. The
component does not depend on the order in which pairs arrive, so merges that come late, out of order
or as chains (A→B then B→C, or B→C then A→B) give the same persons, and an anonymous visitor's events
from before signing up are the person's, retroactively. ``person_overrides`` maps every id of a
person with more than one id straight to that person (a flat union-find: a merge re-points every id
of the merged person); an id without a row is a person of its own.

**Keeping it.** ``stitch`` is a fixpoint: a pair is *satisfied* when both ids map to the same person,
and while some pair is not, the persons it joins are merged (all their ids re-pointed to the smallest
id among them). When every pair of a project is satisfied, each component maps to one person, and
that person is its smallest id: the mapping is exact whatever happened before. Writes only ever lower
an id's person (``min``), so a writer cut short or two writers racing leave a state from which the
next check repairs: consume runs ``after_store`` for every batch, after the batch is stored and before
it is marked done. It checks the batch's own pairs; after a merge, every pair touching an id it
re-pointed, until all are satisfied (a pair only breaks when one of its ids is re-pointed, so a merge
racing another consumer's is repaired by the later of the two); and a batch finished by recovery (a
consume killed mid-way) checks every pair of its projects.
A redelivered batch stores nothing new and finds its pairs satisfied: it changes nothing.

**Counting persons.** ``user_periods`` counts distinct ids per day, week and month. ``person_overlaps``
keeps, per period and person with more than one id active in it, how many ids more than one: the
rollup's count minus their sum is the count of persons, so DAU/WAU/MAU still read row counts.
``refresh_overlaps`` recomputes a person's rows from ``user_periods``: for the periods a batch touched
(every batch whose events belong to a merged person), and for every period of a person just merged.
Reports read the mapping as ``person_of`` (over ``events`` rows) or ``PERSON_HASHES`` (over the
rollups' 128-bit user hashes).

Limit: a consumer storing a merged person's events while another consumer of another partition merges
that person can leave one period's overlap short until the person's next event or merge (the same
kind of race the consume doc names for rollup rebuilds; one consumer, as ``eventlens local``, never
races with itself). The mapping itself is always repaired by the later writer's full check.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from eventlens.errors import WarehouseError
from eventlens.warehouse import Warehouse

# Ids PostHog refuses to merge (anything a client sends when it has no real id); lower-cased. The
# materialized view of migration 0009 holds the same list.
ILLEGAL_IDS = frozenset(
    {
        "anonymous",
        "guest",
        "distinctid",
        "distinct_id",
        "id",
        "not_authenticated",
        "email",
        "undefined",
        "true",
        "false",
        "null",
        "none",
        "nan",
        "0",
        "[object object]",
    }
)
MAX_ROUNDS = 8  # rounds of check and merge before giving up (each repairs what a racing writer left)

# Each merged id's person in one project (the min of its rows: writers only ever lower it).
LABELS = (
    "SELECT distinct_id, min(person_id) AS person_id FROM person_overrides"
    " WHERE project_id = {project:String} GROUP BY distinct_id"
)
# The same as 128-bit hashes, as user_periods and user_first keep users (sipHash128 of the id).
PERSON_HASHES = (
    "SELECT reinterpretAsUInt128(sipHash128(distinct_id)) AS user,"
    f" reinterpretAsUInt128(sipHash128(person_id)) AS person FROM ({LABELS})"
)
_MAP = f"(SELECT (groupArray(distinct_id), groupArray(person_id)) FROM ({LABELS}))"


def person_of(column: str = "user_id") -> str:
    """The SQL of a distinct id's person (``column``, a distinct id of a row of the project bound as
    ``{project:String}``): the id itself unless it was merged. The project's mapping is read once per
    query (a scalar subquery) and looked up per row."""
    return f"transform({column}, {_MAP}.1, {_MAP}.2, {column})"


_HAS_MERGES = (
    "SELECT count() AS n FROM (SELECT 1 FROM person_overrides WHERE project_id = {project:String} LIMIT 1)"
)
_HAS_OVERLAPS = """
SELECT count() AS n FROM (
    SELECT 1 FROM person_overlaps FINAL
    WHERE project_id = {project:String} AND period = {period:String}
      AND start BETWEEN {first:Date} AND {last:Date} AND extra > 0
    LIMIT 1
)
"""


def has_merges(warehouse: Warehouse, project_id: str) -> bool:
    """True when some person of the project has more than one distinct id."""
    return _count(warehouse, _HAS_MERGES, {"project": project_id}) > 0


def has_overlaps(warehouse: Warehouse, project_id: str, period: str, first: date, last: date) -> bool:
    """True when, in some ``period`` (day, week, month) starting between ``first`` and ``last``, a
    person was active under more than one distinct id: only then does a count of distinct ids differ
    from the count of persons."""
    params = {"project": project_id, "period": period, "first": first, "last": last}
    return _count(warehouse, _HAS_OVERLAPS, params) > 0


# --- the fixpoint ---------------------------------------------------------------------------------------

_LABELS_OF = (
    "SELECT distinct_id, min(person_id) AS person_id FROM person_overrides"
    " WHERE project_id = {project:String} AND distinct_id IN {ids:Array(String)} GROUP BY distinct_id"
)
_MEMBERS = f"SELECT distinct_id, person_id FROM ({LABELS}) WHERE person_id IN {{persons:Array(String)}}"
# Every pair of the project whose ids map to different persons, as those two persons.
_UNSATISFIED = f"""
SELECT DISTINCT if(l1.person_id = '', e.user_id, l1.person_id) AS a,
                if(l2.person_id = '', e.other_id, l2.person_id) AS b
FROM (SELECT user_id, other_id FROM person_edges WHERE project_id = {{project:String}}) AS e
LEFT ANY JOIN ({LABELS}) AS l1 ON l1.distinct_id = e.user_id
LEFT ANY JOIN ({LABELS}) AS l2 ON l2.distinct_id = e.other_id
WHERE a != b
"""
_ROOT_ROWS = f"""
INSERT INTO person_overrides (project_id, distinct_id, person_id)
SELECT {{project:String}}, person_id, person_id FROM ({LABELS})
WHERE person_id NOT IN (SELECT distinct_id FROM person_overrides WHERE project_id = {{project:String}})
GROUP BY person_id
"""
_UNSATISFIED_TOUCHING = _UNSATISFIED.replace(
    "FROM person_edges WHERE project_id = {project:String}",
    "FROM person_edges WHERE project_id = {project:String}"
    " AND (user_id IN {ids:Array(String)} OR other_id IN {ids:Array(String)})",
)


@dataclass(frozen=True)
class Merge:
    """One person made of several: ``person`` (its smallest id) and the persons it absorbed."""

    person: str
    absorbed: frozenset[str]


def stitch(
    warehouse: Warehouse, project_id: str, pairs: Iterable[tuple[str, str]] | None = None
) -> list[str]:
    """Merge the persons that pairs join until every pair is satisfied; returns the persons whose ids
    changed. ``pairs``: check these (a batch's own) — and after each merge, every pair touching an id
    it re-pointed; ``pairs`` None: check every pair of the project (recovery)."""
    changed: set[str] = set()
    candidates = None if pairs is None else list(pairs)
    touching: list[str] | None = None
    for _ in range(MAX_ROUNDS):
        if touching is not None:
            joined = _unsatisfied_touching(warehouse, project_id, touching)
        else:
            joined = _unsatisfied(warehouse, project_id, candidates)
        if not joined:
            if pairs is None:
                _root_rows(warehouse, project_id)
            return sorted(changed)
        merges, touching = _merge(warehouse, project_id, joined)
        changed.update(merge.person for merge in merges)
    raise WarehouseError(f"persons of project {project_id} did not settle in {MAX_ROUNDS} rounds")


def _root_rows(warehouse: Warehouse, project_id: str) -> None:
    """Give every person that ids map to a row of its own (a merge writes it with the others; this
    restores it should anything else have left it out), so that a person's ids are all listed."""
    warehouse.command(_ROOT_ROWS, {"project": project_id})


def _unsatisfied_touching(warehouse: Warehouse, project_id: str, ids: list[str]) -> list[tuple[str, str]]:
    """(person, person) of each pair with one of ``ids`` whose ids map to different persons.

    After a merge this is the check that matters: a pair can only become unsatisfied when the person
    of one of its ids changes, and every such change is followed by its writer's check of the pairs
    touching it; the last writer of an id sees the other writers' persons, so a race is repaired."""
    rows = warehouse.query(_UNSATISFIED_TOUCHING, {"project": project_id, "ids": ids}).to_pylist()
    return [(row["a"], row["b"]) for row in rows]


def _unsatisfied(
    warehouse: Warehouse, project_id: str, pairs: list[tuple[str, str]] | None
) -> list[tuple[str, str]]:
    """(person, person) of each pair whose ids map to different persons."""
    if pairs is None:
        rows = warehouse.query(_UNSATISFIED, {"project": project_id}).to_pylist()
        return [(row["a"], row["b"]) for row in rows]
    if not pairs:
        return []
    labels = labels_of(warehouse, project_id, {id_ for pair in pairs for id_ in pair})
    joined = {(labels.get(a, a), labels.get(b, b)) for a, b in pairs}
    return sorted((a, b) for a, b in joined if a != b)


def labels_of(warehouse: Warehouse, project_id: str, ids: Iterable[str]) -> dict[str, str]:
    """The person of each of ``ids`` that was merged (an id missing from the answer is its own)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = warehouse.query(_LABELS_OF, {"project": project_id, "ids": wanted}).to_pylist()
    return {row["distinct_id"]: row["person_id"] for row in rows}


def _merge(
    warehouse: Warehouse, project_id: str, joined: list[tuple[str, str]]
) -> tuple[list[Merge], list[str]]:
    """Merge the persons of each connected set of ``joined`` pairs into one, named by its smallest id,
    and re-point every id of theirs to it; returns the merges and every id of the merged persons."""
    import pyarrow as pa  # here: the report function imports this module for its SQL alone

    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in joined:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    persons = sorted(parent)
    rows = warehouse.query(_MEMBERS, {"project": project_id, "persons": persons}).to_pylist()
    current = {row["distinct_id"]: row["person_id"] for row in rows}
    ids_of: dict[str, set[str]] = defaultdict(set)
    for person in persons:
        ids_of[find(person)].add(person)
    for id_, person in current.items():
        ids_of[find(person)].add(id_)
    merges: list[Merge] = []
    writes: list[tuple[str, str]] = []
    for group in ids_of.values():
        person = min(group)
        absorbed = frozenset(current.get(id_, id_) for id_ in group) - {person}
        merges.append(Merge(person, absorbed))
        writes.extend((id_, person) for id_ in sorted(group) if current.get(id_) != person)
    # The absorbed persons' overlaps go first: should this stop half way, no row keyed by a person that
    # no longer exists is left counting (the new person's rows are recomputed after the mapping).
    zero_overlaps(warehouse, project_id, sorted({p for m in merges for p in m.absorbed}))
    warehouse.insert_arrow(
        "person_overrides",
        pa.table(
            {
                "project_id": pa.array([project_id] * len(writes), pa.string()),
                "distinct_id": pa.array([id_ for id_, _ in writes], pa.string()),
                "person_id": pa.array([person for _, person in writes], pa.string()),
            }
        ),
    )
    return merges, sorted({id_ for group in ids_of.values() for id_ in group})


# --- overlaps ---------------------------------------------------------------------------------------

_MEMBER_HASHES = f"{PERSON_HASHES} WHERE person_id IN {{persons:Array(String)}}"
_PERIODS = (
    " AND ((period = 'day' AND start IN {days:Array(Date)})"
    " OR (period = 'week' AND start IN {weeks:Array(Date)})"
    " OR (period = 'month' AND start IN {months:Array(Date)}))"
)
_REFRESH = f"""
INSERT INTO person_overlaps (project_id, period, start, person, extra, version)
SELECT {{project:String}}, period, start, person, max(extra), {{version:UInt64}}
FROM (
    SELECT period, start, m.person AS person, toUInt32(count() - 1) AS extra
    FROM (
        SELECT DISTINCT period, start, user FROM user_periods
        WHERE project_id = {{project:String}} AND user IN (SELECT user FROM ({_MEMBER_HASHES})){{periods}}
    ) AS a
    INNER JOIN ({_MEMBER_HASHES}) AS m USING user
    GROUP BY period, start, person
    HAVING count() > 1
    UNION ALL
    SELECT period, start, person, toUInt32(0) FROM person_overlaps FINAL
    WHERE project_id = {{project:String}} AND extra > 0
      AND person IN (SELECT reinterpretAsUInt128(sipHash128(arrayJoin({{persons:Array(String)}})))){{periods}}
)
GROUP BY period, start, person
"""
_ZERO = """
INSERT INTO person_overlaps (project_id, period, start, person, extra, version)
SELECT project_id, period, start, person, 0, {version:UInt64} FROM person_overlaps FINAL
WHERE project_id = {project:String} AND extra > 0
  AND person IN (SELECT reinterpretAsUInt128(sipHash128(arrayJoin({persons:Array(String)}))))
"""


def refresh_overlaps(
    warehouse: Warehouse, project_id: str, persons: Sequence[str], days: Iterable[date] | None = None
) -> None:
    """Recompute the overlaps of ``persons`` (their ids' rows in user_periods): of the day, week and
    month of each of ``days``, or of every period when ``days`` is None."""
    if not persons:
        return
    params: dict[str, object] = {"project": project_id, "persons": sorted(persons), "version": _version()}
    if days is None:
        sql = _REFRESH.replace("{periods}", "")
    else:
        chosen = sorted(set(days))
        if not chosen:
            return
        # As ISO text: both backends bind a list of strings into Array(Date).
        params["days"] = [d.isoformat() for d in chosen]
        params["weeks"] = sorted({(d - timedelta(days=d.weekday())).isoformat() for d in chosen})
        params["months"] = sorted({d.replace(day=1).isoformat() for d in chosen})
        sql = _REFRESH.replace("{periods}", _PERIODS)
    warehouse.command(sql, params)


def zero_overlaps(warehouse: Warehouse, project_id: str, persons: Sequence[str]) -> None:
    """Write every overlap row of ``persons`` again with extra = 0 (they no longer exist as persons)."""
    if persons:
        params = {"project": project_id, "persons": list(persons), "version": _version()}
        warehouse.command(_ZERO, params)


def _version() -> int:
    return time.time_ns()


# --- consume's step ---------------------------------------------------------------------------------

_BATCH_PAIRS = """
SELECT project_id, user_id, other_id FROM person_edges
WHERE (project_id, user_id) IN (
    SELECT DISTINCT project_id, user_id FROM consume_stage WHERE batch_id = {batch:String}
)
"""
_BATCH_PROJECTS = "SELECT DISTINCT project_id FROM consume_stage WHERE batch_id = {batch:String}"
# The batch's events of merged ids: their days, by project and id (the mapping read by its key).
_BATCH_MERGED_DAYS = """
SELECT DISTINCT project_id, user_id, toDate(ts) AS day FROM consume_stage
WHERE batch_id = {batch:String}
  AND (project_id, user_id) IN (
      SELECT project_id, distinct_id FROM person_overrides
      WHERE (project_id, distinct_id) IN (
          SELECT DISTINCT project_id, user_id FROM consume_stage WHERE batch_id = {batch:String}
      )
  )
"""


@dataclass(frozen=True)
class PersonsWork:
    """What a stored batch can ask of the persons step, as consume found it in the batch: ``pairs``,
    some event of it may say two ids are one person (``PAIR_CANDIDATE``); ``merges``, its projects
    have merged persons, whose overlaps its events may touch. Without either there is nothing to do:
    no new pair can be unsatisfied and no overlap changes."""

    pairs: bool = True
    merges: bool = True


ALL_PERSONS_WORK = PersonsWork()
# An event that may carry a pair (a superset of what migration 0009's view keeps: it also drops the
# ids PostHog refuses), as SQL over a row of events or consume_stage.
PAIR_CANDIDATE = (
    "(position(properties, '\"$anon') > 0 OR event_type IN ('$create_alias', '$merge_dangerously'))"
)


def after_store(
    warehouse: Warehouse, batch_id: str, recovering: bool = False, work: PersonsWork = ALL_PERSONS_WORK
) -> int:
    """Consume's persons step for a batch just stored (its stage still there): stitch the pairs its
    events said, then refresh the overlaps its events and merges touched. ``recovering``: the batch is
    finished by recovery, so every pair of its projects is checked and every period of its merged
    persons recomputed. ``work``: what the batch can need (a batch without identity events in projects
    without merged persons needs no statement at all). Returns how many persons changed."""
    if not recovering and not work.pairs and not work.merges:
        return 0
    pairs: dict[str, list[tuple[str, str]]] = defaultdict(list)
    if recovering or work.pairs:
        for row in warehouse.query(_BATCH_PAIRS, {"batch": batch_id}).to_pylist():
            pairs[row["project_id"]].append((row["user_id"], row["other_id"]))
    projects = set(pairs)
    if recovering:
        projects |= {
            r["project_id"] for r in warehouse.query(_BATCH_PROJECTS, {"batch": batch_id}).to_pylist()
        }
    merged: dict[str, list[str]] = {}
    for project in sorted(projects):
        merged[project] = stitch(warehouse, project, None if recovering else pairs.get(project, []))
    days_of: dict[str, dict[str, set[date]]] = defaultdict(lambda: defaultdict(set))
    # Merged ids exist only where a project has merges, or where this batch just made some.
    if recovering or work.merges or any(merged.values()):
        for row in warehouse.query(_BATCH_MERGED_DAYS, {"batch": batch_id}).to_pylist():
            days_of[row["project_id"]][row["user_id"]].add(row["day"])
    for project in sorted(set(merged) | set(days_of)):
        changed = merged.get(project, [])
        refresh_overlaps(warehouse, project, changed)
        ids = days_of.get(project, {})
        labels = labels_of(warehouse, project, ids)
        touched: dict[str, set[date]] = defaultdict(set)
        for id_, id_days in ids.items():
            person = labels.get(id_, id_)
            if person not in changed:
                touched[person] |= id_days
        if recovering:
            refresh_overlaps(warehouse, project, sorted(touched))
        else:
            for days, persons in _same_days(touched):
                refresh_overlaps(warehouse, project, persons, days)
    return sum(len(changed) for changed in merged.values())


def _same_days(touched: dict[str, set[date]]) -> list[tuple[list[date], list[str]]]:
    """The persons grouped by the days they were touched on (most batches: one group)."""
    groups: dict[tuple[date, ...], list[str]] = defaultdict(list)
    for person, days in touched.items():
        groups[tuple(sorted(days))].append(person)
    if len(groups) > 16:  # many different day sets: one refresh over all their days
        return [(sorted({d for days in touched.values() for d in days}), sorted(touched))]
    return [(list(days), sorted(persons)) for days, persons in groups.items()]


def stitch_all(warehouse: Warehouse) -> int:
    """Stitch every project's pairs and their persons' overlaps (once, for the events stored before
    migration 0009, whose pairs it copied); returns how many persons changed."""
    changed = 0
    for row in warehouse.query("SELECT DISTINCT project_id FROM person_edges").to_pylist():
        persons = stitch(warehouse, row["project_id"])
        refresh_overlaps(warehouse, row["project_id"], persons)
        changed += len(persons)
    return changed


# --- a person's ids, and forgetting them ------------------------------------------------------------

_ERASE = (
    "DELETE FROM person_overrides WHERE project_id = {project:String} AND distinct_id IN {ids:Array(String)}",
    "DELETE FROM person_edges WHERE project_id = {project:String}"
    " AND (user_id IN {ids:Array(String)} OR other_id IN {ids:Array(String)})",
    "DELETE FROM person_properties WHERE project_id = {project:String}"
    " AND distinct_id IN {ids:Array(String)}",
    "DELETE FROM group_members WHERE project_id = {project:String} AND distinct_id IN {ids:Array(String)}",
)


def ids_of_person(warehouse: Warehouse, project_id: str, user_id: str) -> list[str]:
    """Every distinct id of the person ``user_id`` belongs to (``[user_id]`` when it was never merged)."""
    person = labels_of(warehouse, project_id, [user_id]).get(user_id, user_id)
    rows = warehouse.query(_MEMBERS, {"project": project_id, "persons": [person]}).to_pylist()
    return sorted({user_id, *(row["distinct_id"] for row in rows)})


def forget_person(warehouse: Warehouse, project_id: str, ids: Sequence[str]) -> int:
    """Remove what identity keeps of these distinct ids (one whole person): their overlaps, mapping,
    pairs, properties and group memberships. Returns how many ids were mapped."""
    if not ids:
        return 0
    labels = labels_of(warehouse, project_id, ids)
    zero_overlaps(warehouse, project_id, sorted(set(labels.values()) | set(ids)))
    params = {"project": project_id, "ids": list(ids)}
    for statement in _ERASE:
        warehouse.command(statement, params)
    return len(labels)


def _count(warehouse: Warehouse, sql: str, params: dict[str, object]) -> int:
    return int(warehouse.query(sql, params).column("n")[0].as_py())
