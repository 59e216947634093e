"""Active groups: how many groups (companies, teams…) of one type had activity in each day, week or month.

A group is what Segment's group call (type ``group``) or PostHog's ``$groupidentify`` (its
``$group_type``) names, and its members are the persons who sent a group call for it or whose events
carry it in ``$groups`` (migration 0009, ``group_members``). Membership is the person's, through any of
their distinct ids (``eventlens.identity``), and does not depend on time. A group is active in a period
when one of its members has an event in it.

It reads ``user_periods`` for the member persons' ids only (their 128-bit hashes), so its cost follows
the members, not the project's events.

Filtered to a cohort (``cohort_filter``), only its persons' activity counts: a group is active in a period
when one of its members who is in the cohort had an event in it (their ids' rows of ``user_periods``).
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from eventlens.errors import InvalidParameter
from eventlens.identity import LABELS, person_of
from eventlens.reports.activity import Period, check_range, period_starts
from eventlens.reports.cohort_filter import CohortFilter, with_cohort
from eventlens.warehouse import Warehouse

MAX_GROUP_TYPE = 64

# Every distinct id of each member person of a group of the type, as user_periods keeps ids, and the
# group: a merged person's ids from the mapping, an unmerged person's own id.
_MEMBER_IDS = """
SELECT DISTINCT reinterpretAsUInt128(sipHash128(if(l.distinct_id = '', m.person, l.distinct_id))) AS user,
       m.group_key AS group_key
FROM (
    SELECT DISTINCT {person} AS person, group_key FROM group_members
    WHERE project_id = {project:String} AND group_type = {group_type:String}
) AS m
LEFT JOIN ({labels}) AS l ON l.person_id = m.person
""".replace("{person}", person_of("distinct_id")).replace("{labels}", LABELS)

_ACTIVE_GROUPS = """
SELECT a.start AS period_start, uniqExact(m.group_key) AS groups
FROM (
    SELECT start, user FROM user_periods FINAL
    WHERE project_id = {project:String} AND period = {period:String}
        AND start BETWEEN {first:Date} AND {last:Date}
        AND user IN (SELECT user FROM ({member_ids})) AND {cohort_users}
) AS a
INNER JOIN ({member_ids}) AS m ON m.user = a.user
GROUP BY period_start
""".replace("{member_ids}", _MEMBER_IDS)


class ActiveGroups(BaseModel):
    period_start: date
    unique_groups: int


def active_groups(
    warehouse: Warehouse,
    project_id: str,
    period: Period,
    start: date,
    end: date,
    group_type: str,
    cohort: CohortFilter | None = None,
) -> list[ActiveGroups]:
    """Distinct groups of ``group_type`` with a member (of ``cohort`` when given) active in each day, week
    or month overlapping ``start``–``end`` (whole periods; periods without any count 0)."""
    check_range(start, end)
    if not 1 <= len(group_type) <= MAX_GROUP_TYPE:
        raise InvalidParameter("group_type", f"must be 1 to {MAX_GROUP_TYPE} characters")
    periods = period_starts(period, start, end)
    params = {"project": project_id, "period": period, "first": periods[0], "last": periods[-1]}
    sql, cohort_params = with_cohort(_ACTIVE_GROUPS, cohort)
    rows = warehouse.query(sql, {**params, **cohort_params, "group_type": group_type}).to_pylist()
    groups = {row["period_start"]: row["groups"] for row in rows}
    return [ActiveGroups(period_start=first, unique_groups=groups.get(first, 0)) for first in periods]
