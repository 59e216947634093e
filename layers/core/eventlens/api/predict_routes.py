"""Predict routes of AnModel's Models API: ``/services``, ``/users``, ``/predict``; and the model
registry (``/v1/models/{service}``: versions, metrics, plots) for the console.

Each serves the caller's project (from its key): its promoted model and its daily snapshot's users.
``POST /predict`` with no body (AnModel's documented check) answers the snapshot's precomputed
predictions, paged; with a body, it scores the records sent.
A project without a promoted model answers as an install without one did (503, and ``/services``
says why).

AnModel's ``GET /health`` is not registered here: the report function serves ``GET /health`` for the
whole API (API Gateway routes are unique). Errors of these routes keep AnModel's ``{"detail": …}``
body (404 for an unknown service, 503 while no model is promoted); bad parameters answer 422 as
everywhere else.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel

from eventlens.api.access import ReaderParts, ReaderProject
from eventlens.api.errors import answer, answers, json_response
from eventlens.api.parameters import PERCENT_DECODED
from eventlens.ml import predict, registry
from eventlens.ml.layout import ProjectObjects
from eventlens.observability import logger

router = APIGatewayHttpRouter()
predictors = predict.PredictorCache()  # each project's promoted model, kept while the container is warm


class AnModelError(BaseModel):
    """AnModel's error body."""

    detail: str


NO_MODEL = answer("No model is promoted yet (run the ML pipeline); retry later", AnModelError)
PREDICT_ANSWERS = {
    **answers(400, 413, 415),
    404: answer("No such prediction service", AnModelError),
    503: NO_MODEL,
}


@router.get("/services")
def get_services(parts: ReaderParts, project: ReaderProject) -> predict.ServicesResponse:
    """The prediction services and whether this container has loaded each (for the caller's project)."""
    return predict.services(predictors, parts.objects, project)


@router.get("/users", responses={**answers(), 503: NO_MODEL})
def get_users(
    parts: ReaderParts,
    project: ReaderProject,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> predict.UsersResponse:
    """Users of the latest daily snapshot, likeliest buyers first, with features and predictions."""
    return predict.users_page(predictors.get(parts.objects, project), offset, limit)


# AnModel's documented check is ``POST /predict?service=context_aware`` with no body: the body is optional.
Records = Annotated[
    predict.PredictRequest | None,
    Body(description="feature rows to score; none: the snapshot's precomputed predictions, paged"),
]
Offset = Annotated[int, Query(ge=0, description="with no body: the first prediction of the page")]
Limit = Annotated[int, Query(ge=1, le=1000, description="with no body: predictions per page")]


def _predictions(
    parts: ReaderParts, project: str, request: predict.PredictRequest | None, offset: int, limit: int
) -> predict.PredictResponse | predict.SnapshotPredictions:
    predictor = predictors.get(parts.objects, project)
    if request is None:
        return predict.snapshot_predictions(predictor, offset, limit)
    return predict.predict_records(predictor, request.records)


@router.post("/predict", responses=PREDICT_ANSWERS)
def post_predict(
    parts: ReaderParts,
    project: ReaderProject,
    request: Records = None,
    service: Annotated[str | None, Query(description="service/model name")] = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> predict.PredictResponse | predict.SnapshotPredictions:
    """Predictions for feature rows (or snapshot users); the query's service wins over the body's. With
    no body, the predictions precomputed for the latest daily snapshot's users, likeliest buyers first,
    a page at a time (as AnModel's Models API answers its documented check)."""
    predict.check_service(service or (request.service if request else None) or predict.SERVICES[0])
    return _predictions(parts, project, request, offset, limit)


@router.post("/predict/<service_name>", responses=PREDICT_ANSWERS)
def post_predict_service(
    parts: ReaderParts,
    project: ReaderProject,
    service_name: Annotated[str, PERCENT_DECODED],
    request: Records = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> predict.PredictResponse | predict.SnapshotPredictions:
    """``/predict/context_aware`` is ``/predict?service=context_aware``."""
    predict.check_service(service_name)
    return _predictions(parts, project, request, offset, limit)


@router.get(
    "/v1/models/<service_name>", responses={**answers(), 404: answer("No such service", AnModelError)}
)
def get_model_history(
    parts: ReaderParts, project: ReaderProject, service_name: Annotated[str, PERCENT_DECODED]
) -> registry.ModelHistory:
    """The service's model registry of the caller's project: every version with its metrics on the
    held-out date and its plots, and which one is promoted (the console's Models page)."""
    predict.check_service(service_name)
    return registry.history(ProjectObjects(parts.objects, project))


@router.get(
    "/v1/models/<service_name>/versions/<version>/plots/<plot>",
    responses={
        **answers(),
        200: {
            "description": "The plot, a PNG image",
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
        },
        404: answer("No such service, version or plot", AnModelError),
    },
)
def get_model_plot(
    parts: ReaderParts,
    project: ReaderProject,
    service_name: Annotated[str, PERCENT_DECODED],
    version: Annotated[str, PERCENT_DECODED],
    plot: Annotated[str, PERCENT_DECODED],
):
    """One of a version's plots (``roc``, ``pr``, ``calibration``) as training drew it, a PNG."""
    # No return annotation: with one, Powertools would serialize the PNG's bytes as JSON text.
    predict.check_service(service_name)
    data = registry.plot(ProjectObjects(parts.objects, project), version, plot)
    return Response(
        200, content_type="image/png", body=data, headers={"cache-control": "private, max-age=3600"}
    )


@router.exception_handler(registry.UnknownVersion)
def _unknown_version(exc: registry.UnknownVersion) -> Response[Any]:
    return json_response(404, {"detail": f"no such model version or plot: {exc.args[0]}"})


@router.exception_handler(predict.UnknownService)
def _unknown_service(exc: predict.UnknownService) -> Response[Any]:
    return json_response(404, {"detail": str(exc)})


@router.exception_handler(predict.ModelUnavailable)
def _model_unavailable(exc: predict.ModelUnavailable) -> Response[Any]:
    logger.warning("no model to serve", extra={"reason": str(exc)})
    return json_response(503, {"detail": str(exc)})
