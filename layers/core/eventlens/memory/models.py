"""Memory search's request and answer: Life Stream's ``{"user_id", "question"}`` in, its ``answer`` out,
with what the answer rests on."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from eventlens.memory.intents import Intent
from eventlens.memory.language import Language

# An answer lists at most this many pieces of evidence (``evidence_total`` says how many there were).
MAX_EVIDENCE = 200


class MemoryQuestion(BaseModel):
    """Life Stream's body: whose memory, and the question (Russian, Ukrainian or English)."""

    user_id: str = Field(min_length=1, max_length=256)
    question: str = Field(min_length=1, max_length=1000)
    timezone: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="IANA timezone the question's days are in (default: the person's timezone property, "
        "else UTC)",
    )


class TimeRange(BaseModel):
    """The local period searched, ``from`` inclusive (null: from the first event), ``to`` exclusive."""

    model_config = ConfigDict(populate_by_name=True)

    start: datetime | None = Field(alias="from")
    end: datetime = Field(alias="to")


class Evidence(BaseModel):
    """An event of the warehouse or a fact of the habits graph that the answer rests on."""

    id: str = Field(description="the event's id; for a graph fact, its key (MET: the meeting event's id)")
    kind: str = Field(
        description="the event type (geo, purchase, social, activity, health) or the graph fact (MET, "
        "Location, Habit, Routine)"
    )
    at: datetime | None = Field(description="when, in the person's timezone (a habit: when it was mined)")
    sources: list[Literal["warehouse", "graph"]]
    facts: dict[str, Any] = Field(description="what it says: item, amount, currency, person, place …")


class MemoryAnswer(BaseModel):
    user_id: str
    question: str
    answer: str
    intent: Intent
    language: Language
    timezone: str
    time_range: TimeRange
    evidence: list[Evidence]
    evidence_total: int = Field(description="pieces of evidence found; at most 200 are listed")
    graph: Literal["used", "not_configured"] = Field(
        description="whether the habits graph gave context; without it, the warehouse alone answered"
    )
    generated_by: Literal["composer", "language_model"] = Field(
        description="composer: the rule-based answer; language_model: its rewording, checked against the "
        "evidence"
    )
