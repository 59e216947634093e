"""The OpenAPI document of the whole HTTP API, and its docs page: ``/openapi.json`` and ``/docs``.

API Gateway sends each route to the function the manifest names (ingest, report, predict), so no
function's resolver holds them all. The document comes from a resolver that includes every router,
for the schema only (it answers no request), built when first asked for: the report function, which
serves these two routes, does not import the ingest and predict routes at its cold start.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.openapi.types import COMPONENT_REF_TEMPLATE
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel

TITLE = "eventlens"
DESCRIPTION = (
    "Events in (eventlens's envelope and each reference system's own ingest payloads), reports out, "
    "and the purchase-propensity model's predictions. One API; each route served by the function "
    "functions/manifest.toml names."
)

router = APIGatewayHttpRouter()


@router.get(
    "/openapi.json",
    responses={200: {"description": "The OpenAPI 3.1 document", "content": {"application/json": {}}}},
)
def get_openapi() -> Response[str]:
    """This document: every route of the API, whichever function serves it."""
    return Response(200, content_types.APPLICATION_JSON, openapi_json())


@router.get(
    "/docs",
    responses={
        200: {
            "description": "Swagger UI on this document; with ?format=json, the document",
            "content": {content_types.TEXT_HTML: {}, content_types.APPLICATION_JSON: {}},
        }
    },
)
def get_docs(
    output: Annotated[Literal["json"] | None, Query(alias="format", description="json: the document")] = None,
) -> Response[str]:
    """The API's docs page (Swagger UI); ``?format=json`` answers the document, as the page asks."""
    if output == "json":
        return Response(200, content_types.APPLICATION_JSON, openapi_json())
    return Response(200, content_types.TEXT_HTML, docs_page())


@cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of every router of the API, with the ingest routes' bodies."""
    from eventlens.api import (
        ingest_bodies,
        ingest_routes,
        insights_routes,
        lifestream_routes,
        memory_routes,
        pattern_routes,
        persons_routes,
        predict_routes,
        report_routes,
        sdk_bodies,
        sdk_routes,
        telemetry_routes,
        viewing_routes,
    )

    whole = APIGatewayHttpResolver(enable_validation=True)
    for routes in (
        ingest_routes,
        report_routes,
        viewing_routes,
        lifestream_routes,
        memory_routes,
        pattern_routes,
        telemetry_routes,
        insights_routes,
        predict_routes,
        persons_routes,
        sdk_routes,
    ):
        whole.include_router(routes.router)
    whole.include_router(router)
    document: dict[str, Any] = json.loads(whole.get_openapi_json_schema(title=TITLE, description=DESCRIPTION))
    for path, model in ingest_bodies.REQUEST_BODIES.items():
        _add_request_body(document, path, model, ingest_bodies.EXAMPLES.get(path))
    for path, model in sdk_bodies.REQUEST_BODIES.items():
        _add_request_body(document, path, model, sdk_bodies.EXAMPLES.get(path))
    _add_query_parameters(document, ("get", sdk_routes.SNOWPLOW_GET), sdk_bodies.SNOWPLOW_QUERY)
    _mark_optional_bodies(document)
    _add_key_requirements(document)
    return document


# Routes anyone may call (the manifest's ``public``; a test holds the two lists together).
PUBLIC = frozenset({("get", "/health"), ("get", "/docs"), ("get", "/openapi.json")})
_KEY_ANSWERS = {
    "401": "No API key, or one that is unknown, revoked or expired (Authorization: Bearer <key>)",
    "403": "The key may not do this: a write key on a read route",
    "429": "Over the rate limit, per IP or per key; Retry-After says when to come back",
}


def _add_key_requirements(document: dict[str, Any]) -> None:
    """Every route but the public ones takes a bearer key and may answer 401, 403 and 429; the
    analytics SDKs' routes take it where their SDKs send it too, and answer in their own shapes."""
    from eventlens.api.access import SDK_INGEST_ROUTES

    components = document.setdefault("components", {})
    schemes = components.setdefault("securitySchemes", {})
    schemes["apiKey"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "A project's write key (ingest routes) or secret key (every route)",
    }
    schemes["basicWriteKey"] = {
        "type": "http",
        "scheme": "basic",
        "description": "The analytics SDKs' routes: the write key as the user name (RudderStack, Segment)",
    }
    schemes["writeKeyHeader"] = {
        "type": "apiKey",
        "in": "header",
        "name": "X-Write-Key",
        "description": "The analytics SDKs' routes: the write key in a header (or in the body: writeKey …)",
    }
    error = {"$ref": COMPONENT_REF_TEMPLATE.format(model="FieldErrorAnswer")}
    if "FieldErrorAnswer" not in components.get("schemas", {}):
        raise ValueError("the document has no FieldErrorAnswer schema for the key answers to refer to")
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if (method, path) in PUBLIC:
                continue
            operation["security"] = [{"apiKey": []}]
            if path in SDK_INGEST_ROUTES:
                operation["security"] += [{"basicWriteKey": []}, {"writeKeyHeader": []}]
            for status, description in _KEY_ANSWERS.items():
                operation["responses"].setdefault(
                    status,
                    {
                        "description": description,
                        "content": {content_types.APPLICATION_JSON: {"schema": error}},
                    },
                )


def _add_request_body(
    document: dict[str, Any], path: str, model: type[BaseModel], example: dict[str, Any] | None
) -> None:
    """``POST path`` takes ``model`` (kept in the document's components), with ``example`` if any."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schema = model.model_json_schema(ref_template=COMPONENT_REF_TEMPLATE)
    for name, definition in {**schema.pop("$defs", {}), model.__name__: schema}.items():
        if schemas.setdefault(name, definition) != definition:
            raise ValueError(f"two models named {name} in the OpenAPI document")
    content: dict[str, Any] = {"schema": {"$ref": COMPONENT_REF_TEMPLATE.format(model=model.__name__)}}
    if example is not None:
        content["example"] = example
    document["paths"][path]["post"]["requestBody"] = {
        "required": True,
        "content": {content_types.APPLICATION_JSON: content},
    }


def _mark_optional_bodies(document: dict[str, Any]) -> None:
    """A body a route may go without (``Model | None = None``, e.g. AnModel's ``POST /predict``) is
    documented as that model's body, not required, rather than as "the model or JSON null"."""
    for operations in document["paths"].values():
        for operation in operations.values():
            content = operation.get("requestBody", {}).get("content", {}).get(content_types.APPLICATION_JSON)
            choices = (content or {}).get("schema", {}).get("anyOf", [])
            models = [choice for choice in choices if "$ref" in choice]
            if len(choices) == 2 and len(models) == 1 and {"type": "null"} in choices:
                content["schema"] = models[0]
                operation["requestBody"]["required"] = False


def _add_query_parameters(
    document: dict[str, Any], operation: tuple[str, str], described: dict[str, str]
) -> None:
    """The operation takes these optional query parameters (text), each described."""
    method, path = operation
    document["paths"][path][method].setdefault("parameters", []).extend(
        {"name": name, "in": "query", "required": False, "schema": {"type": "string"}, "description": text}
        for name, text in described.items()
    )


@cache
def openapi_json() -> str:
    return json.dumps(openapi_document())


@cache
def docs_page() -> str:
    """Swagger UI with the document inline, its script and styles from Powertools' copy."""
    from aws_lambda_powertools.event_handler.openapi import swagger_ui

    assets = Path(swagger_ui.__file__).parent
    return swagger_ui.generate_swagger_html(
        openapi_json().replace("</", "<\\/"),  # so no string of the document closes the page's <script>
        (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        (assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
        swagger_base_url="",
        oauth2_config=None,
    )
