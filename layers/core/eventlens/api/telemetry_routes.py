"""The Reports Backend's route: ``POST /report``, a user's telemetry report in the caller's project."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from eventlens.api.access import ReaderParts, ReaderProject
from eventlens.api.errors import answers
from eventlens.reports import telemetry

router = APIGatewayHttpRouter()


@router.post("/report", responses=answers(400, 404, 413, 415, 503))
def post_report(
    parts: ReaderParts, project: ReaderProject, request: telemetry.TelemetryReportRequest
) -> telemetry.TelemetryReport:
    """A user's telemetry in a period (both ends optional, inclusive), in total and by prosthesis type."""
    return telemetry.user_report(parts.warehouse, project, request.user_id, request.start_ts, request.end_ts)
