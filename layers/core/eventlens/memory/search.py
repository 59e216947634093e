"""Memory search end to end: a person's question in, the answer and what it rests on out."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from eventlens.memory.clock import instants, person_clock
from eventlens.memory.compose import compose
from eventlens.memory.findings import Sources, gather
from eventlens.memory.models import MAX_EVIDENCE, Evidence, MemoryAnswer, MemoryQuestion, TimeRange
from eventlens.memory.question import parse_question
from eventlens.memory.retrieval import Window
from eventlens.rephrase import ChatModel, grounded_rewording


def search_memory(
    sources: Sources,
    project_id: str,
    request: MemoryQuestion,
    chat: ChatModel | None = None,
    now: datetime | None = None,
) -> MemoryAnswer:
    """Answer ``request`` about a person of ``project_id`` at ``now`` (default: now): the question
    understood in the person's timezone, the evidence from the warehouse (and the habits graph when
    ``sources`` has one), the composed answer, reworded by ``chat`` when given and grounded.

    A person the project does not hold is answered as one with no events: nothing found."""
    now = now or datetime.now(UTC)
    clock = person_clock(sources.warehouse, project_id, request.user_id, request.timezone, now)
    parsed = parse_question(request.question, clock.local_now)
    local_bounds = [parsed.end] if parsed.start is None else [parsed.start, parsed.end]
    bounds = instants(sources.warehouse, clock.timezone, local_bounds)
    start, end = (None, bounds[0]) if parsed.start is None else (bounds[0], bounds[1])
    window = Window(project_id, request.user_id, start, end, clock.timezone)
    findings = gather(sources, parsed, window, now)
    composed = compose(parsed, findings, sources.graph is not None, clock.timezone)
    reworded = grounded_rewording(
        chat, request.question, composed, parsed.language, _grounds(findings.evidence)
    )
    return MemoryAnswer(
        user_id=request.user_id,
        question=request.question,
        answer=reworded or composed,
        intent=parsed.intent,
        language=parsed.language,
        timezone=clock.timezone,
        time_range=TimeRange.model_validate({"from": start, "to": end}),
        evidence=findings.evidence[:MAX_EVIDENCE],
        evidence_total=len(findings.evidence),
        graph="used" if sources.graph is not None else "not_configured",
        generated_by="language_model" if reworded else "composer",
    )


def _grounds(evidence: list[Evidence]) -> list[str]:
    """The evidence as text a rewording may draw on: its facts, and its times as the person's clock
    shows them."""
    grounds = []
    for item in evidence:
        grounds.append(orjson.dumps(item.facts, default=str).decode())
        if item.at is not None:
            grounds.append(item.at.strftime("%H:%M %d %m %Y"))
    return grounds
