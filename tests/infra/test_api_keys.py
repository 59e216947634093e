"""API keys in the cloud: the authorizer in front of every route that takes a key, the keys table,
and the ``keys`` need (run under Pulumi's mocks, like every infra test)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pulumi_mocks import ROOT, Deploy, Recording

from eventlens.api.access import SDK_INGEST_ROUTES
from eventlens.authorizer import needed_access
from eventlens.manifest import load_manifest

pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated in favor of:DeprecationWarning")

AUTHORIZER = "aws:apigatewayv2/authorizer:Authorizer"
ROUTE = "aws:apigatewayv2/route:Route"
TABLE = "aws:dynamodb/table:Table"
PUBLIC = {"GET /health", "GET /docs", "GET /openapi.json"}

HTTP_FUNCTION = """
[functions.reports]
description = "reports"
handler = "handler.lambda_handler"
memory = 512
timeout = 30
needs = ["keys"]
http = ["GET /stats/dau", "GET /health"]
public = ["GET /health"]
"""


def functions(recording: Recording) -> dict[str, dict[str, Any]]:
    return {resource.name: resource.outputs for resource in recording.of_type("aws:lambda/function:Function")}


def statements(recording: Recording, function: str) -> list[dict[str, Any]]:
    document = recording.one("aws:iam/rolePolicy:RolePolicy", f"{function}-policy").inputs["policy"]
    found: list[dict[str, Any]] = json.loads(document)["Statement"]
    return found


def dynamodb_statements(recording: Recording, function: str) -> list[dict[str, Any]]:
    return [s for s in statements(recording, function) if any(a.startswith("dynamodb:") for a in s["Action"])]


def test_every_route_but_the_public_ones_asks_the_authorizer(deploy: Deploy) -> None:
    # Given the repository's manifest: report's health check, docs page and OpenAPI document are public
    manifest = load_manifest(ROOT / "functions")
    assert {route.key for function in manifest.values() for route in function.public} == PUBLIC
    # When the program runs
    recording = deploy()
    authorizer = recording.one(AUTHORIZER, "api-keys")
    routes = {route.inputs["routeKey"]: route.inputs for route in recording.of_type(ROUTE)}
    # Then every other route is checked by the authorizer before its function runs ...
    for key, route in routes.items():
        if key in PUBLIC:
            # ... and the public ones by nothing
            assert route["authorizationType"] == "NONE" and "authorizerId" not in route, key
        elif key.split(" ", 1)[1] in SDK_INGEST_ROUTES:
            # ... but the analytics SDKs' routes, whose SDKs send the key where the authorizer does
            # not look (the body, Basic, X-Write-Key): their function checks it
            assert route["authorizationType"] == "NONE" and "authorizerId" not in route, key
        else:
            assert (route["authorizationType"], route["authorizerId"]) == ("CUSTOM", authorizer.id), key
    assert set(routes) > PUBLIC


def test_keyless_reference_routes_are_left_to_their_function_only_when_the_stack_says_so(
    deploy: Deploy,
) -> None:
    # Given a stack whose reference systems' ingest clients send no key (API Gateway would refuse
    # their requests before the authorizer, for lack of its identity source)
    recording = deploy(keyless_reference_routes="ingest")
    authorizer = recording.one(AUTHORIZER, "api-keys")
    routes = {route.inputs["routeKey"]: route.inputs for route in recording.of_type(ROUTE)}
    # When the program runs, then exactly those routes skip the authorizer (their function checks),
    # beside the analytics SDKs' routes, which always do
    skipped = {key for key, route in routes.items() if route["authorizationType"] == "NONE"} - PUBLIC
    skipped -= {key for key in skipped if key.split(" ", 1)[1] in SDK_INGEST_ROUTES}
    assert skipped == {
        "POST /events",
        "POST /collect",
        "POST /api/v1/stream/ingest",
        "POST /api/v1/stream/ingest/single",
        "POST /api/v1/analytics/events",
    }
    # And eventlens's own routes, reads and the erasure still ask the authorizer
    for key in ("POST /v1/events", "GET /stats/dau", "DELETE /v1/persons/{user_id}"):
        assert (routes[key]["authorizationType"], routes[key]["authorizerId"]) == ("CUSTOM", authorizer.id)
    # And a choice the program does not know stops the deployment
    with pytest.raises(Exception, match="keylessReferenceRoutes"):
        deploy(keyless_reference_routes="all")


def test_the_authorizer_is_the_manifest_function_cached_per_key_and_route(deploy: Deploy) -> None:
    # When the program runs on the repository's manifest
    recording = deploy()
    authorizer = recording.one(AUTHORIZER, "api-keys").inputs
    function = functions(recording)["authorizer"]
    # Then API Gateway asks the authorizer function with payload 2.0 and takes simple answers
    assert authorizer["authorizerType"] == "REQUEST"
    assert authorizer["authorizerUri"] == function["invokeArn"]
    assert (
        authorizer["authorizerPayloadFormatVersion"] == "2.0" and authorizer["enableSimpleResponses"] is True
    )
    # And its answers are cached per key *and route*: a write key allowed on an ingest route is asked
    # about again on a read route, never answered from the cache
    assert authorizer["identitySources"] == ["$request.header.Authorization", "$context.routeKey"]
    assert authorizer["authorizerResultTtlInSeconds"] > 0
    # And only this API's authorizers may invoke it
    permission = recording.one("aws:lambda/permission:Permission", "invoke-authorizer").inputs
    execution_arn = recording.of_type("aws:apigatewayv2/api:Api")[0].outputs["executionArn"]
    authorizer_id = recording.one(AUTHORIZER, "api-keys").id
    assert permission["function"] == function["name"]
    assert permission["principal"] == "apigateway.amazonaws.com"
    assert permission["sourceArn"] == f"{execution_arn}/authorizers/{authorizer_id}"


def test_the_authorizer_is_told_which_routes_a_write_key_may_call(deploy: Deploy) -> None:
    # Given the manifest's access per function
    manifest = load_manifest(ROOT / "functions")
    # When the program runs
    recording = deploy()
    deployed = functions(recording)
    variables = deployed["authorizer"]["environment"]["variables"]
    write_routes = json.loads(variables["EVENTLENS_WRITE_ROUTES"])
    # Then the ingest routes are the write routes
    assert write_routes == sorted(route.key for route in manifest["ingest"].http)
    # And for every route that takes a key, the authorizer asks for the key the manifest names
    for function in manifest.values():
        for route in function.http:
            if route not in function.public:
                assert needed_access(route.key, write_routes) == function.access, route.key
    # And no other function is handed the table
    assert [
        name for name, f in deployed.items() if "EVENTLENS_WRITE_ROUTES" in f["environment"]["variables"]
    ] == ["authorizer"]


def test_the_keys_table_is_pay_per_request_expiring_recoverable_and_encrypted(deploy: Deploy) -> None:
    # When the program runs
    recording = deploy()
    table = recording.one(TABLE, "keys").inputs
    # Then the table is keyed by pk (a string) and billed per request
    assert table["billingMode"] == "PAY_PER_REQUEST"
    assert table["hashKey"] == "pk" and table["attributes"] == [{"name": "pk", "type": "S"}]
    # And rate-limit counters expire by their expires_at
    assert table["ttl"] == {"attributeName": "expires_at", "enabled": True}
    # And it can be restored to any second of the last 35 days, and is encrypted at rest with KMS
    assert table["pointInTimeRecovery"]["enabled"] is True
    assert table["serverSideEncryption"]["enabled"] is True
    # And a stack that keeps its data (not forceDestroy) cannot delete it by accident
    assert table["deletionProtectionEnabled"] is True
    destroyable = deploy(force_destroy=True).one(TABLE, "keys").inputs
    assert destroyable["deletionProtectionEnabled"] is False


def test_the_keys_need_grants_a_lookup_and_the_rate_limit_counters_on_the_table_only(deploy: Deploy) -> None:
    # Given the HTTP functions need the keys, and the authorizer only reads them
    manifest = load_manifest(ROOT / "functions")
    http = sorted(name for name, function in manifest.items() if function.http)
    assert http == ["ingest", "persons", "predict", "report"]
    assert all("keys" in manifest[name].needs for name in http)
    http.remove("persons")  # it has the privacy grants too: the next test
    # When the program runs
    recording = deploy()
    table = recording.one(TABLE, "keys").outputs
    deployed = functions(recording)
    for name in http:
        granted = dynamodb_statements(recording, name)
        # Then each may get items and update items of the keys table, nothing more, nowhere else ...
        assert sorted(a for s in granted for a in s["Action"]) == ["dynamodb:GetItem", "dynamodb:UpdateItem"]
        assert all(s["Resource"] == [table["arn"]] for s in granted)
        # ... and may update only rate-limit counters, never a key or a project
        update = next(s for s in granted if "dynamodb:UpdateItem" in s["Action"])
        assert update["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["rl#*"]}}
        # And it is told the table's name
        assert deployed[name]["environment"]["variables"]["EVENTLENS_KEYS_TABLE"] == table["name"]
    # And the authorizer may only look keys up, in the same table, which it is told of
    authorizer = dynamodb_statements(recording, "authorizer")
    assert [(s["Action"], s["Resource"]) for s in authorizer] == [(["dynamodb:GetItem"], [table["arn"]])]
    assert deployed["authorizer"]["environment"]["variables"]["EVENTLENS_KEYS_TABLE"] == table["name"]
    # And no function may scan or delete anything, nor put anything but an erasure's audit record;
    # functions without a need of the table touch no table at all
    for name in manifest:
        granted = dynamodb_statements(recording, name)
        actions = {a for s in granted for a in s["Action"]}
        assert actions <= {"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem"}
        for statement in granted:
            if "dynamodb:PutItem" in statement["Action"]:
                assert statement["Condition"] == {
                    "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["erasure#*"]}
                }
        assert all("*" not in resource for s in granted for resource in s["Resource"])
        if not {"keys", "keys:read", "privacy", "privacy:read"} & set(manifest[name].needs):
            assert actions == set(), name
            assert "EVENTLENS_KEYS_TABLE" not in deployed[name]["environment"]["variables"]


def test_the_privacy_needs_grant_the_suppressed_item_and_the_audit_log_only(deploy: Deploy) -> None:
    # Given consume reads who is suppressed, and the persons function erases (suppresses, audits)
    manifest = load_manifest(ROOT / "functions")
    assert "privacy:read" in manifest["consume"].needs and "privacy" in manifest["persons"].needs
    recording = deploy()
    table = recording.one(TABLE, "keys").outputs
    suppressed = {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["suppressed"]}}
    audit = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["erasure#*"]}}
    counters = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["rl#*"]}}
    # When the program runs, then consume may get the suppressed item only
    assert [(s["Action"], s.get("Condition")) for s in dynamodb_statements(recording, "consume")] == [
        (["dynamodb:GetItem"], suppressed)
    ]
    # And the persons function may read keys, count requests, change the suppressed item and add
    # audit records, in the keys table only
    granted = dynamodb_statements(recording, "persons")
    assert sorted((s["Action"][0], str(s.get("Condition"))) for s in granted) == sorted(
        [
            ("dynamodb:GetItem", "None"),
            ("dynamodb:UpdateItem", str(counters)),
            ("dynamodb:GetItem", str(suppressed)),
            ("dynamodb:UpdateItem", str(suppressed)),
            ("dynamodb:PutItem", str(audit)),
        ]
    )
    assert all(s["Resource"] == [table["arn"]] for s in granted)


def test_the_stage_throttles_every_client_together(deploy: Deploy) -> None:
    # When the program runs with its defaults, and with the stack's own limits
    stage = deploy().one("aws:apigatewayv2/stage:Stage", "http-default").inputs
    configured = deploy(throttling_rate_limit=50.0, throttling_burst_limit=100)
    limits = configured.one("aws:apigatewayv2/stage:Stage", "http-default").inputs["defaultRouteSettings"]
    # Then every route of the stage is throttled, by default and as configured
    assert stage["defaultRouteSettings"]["throttlingRateLimit"] > 0
    assert stage["defaultRouteSettings"]["throttlingBurstLimit"] > 0
    assert (limits["throttlingRateLimit"], limits["throttlingBurstLimit"]) == (50.0, 100)


def test_a_route_taking_a_key_without_an_authorizer_stops_the_deployment(
    deploy: Deploy, project: Callable[..., dict[str, Path]]
) -> None:
    # Given a manifest whose routes take keys but which has no authorizer
    paths = project(HTTP_FUNCTION, {})
    # When the program runs, Then it refuses rather than deploy the routes open
    with pytest.raises(ValueError, match=r"GET /stats/dau.*no authorizer"):
        deploy(**paths)


def test_an_api_whose_routes_are_all_public_has_no_authorizer(
    deploy: Deploy, project: Callable[..., dict[str, Path]]
) -> None:
    # Given a manifest whose only function serves public routes
    paths = project(
        HTTP_FUNCTION.replace('public = ["GET /health"]', 'public = ["GET /stats/dau", "GET /health"]'), {}
    )
    # When the program runs
    recording = deploy(**paths)
    # Then no authorizer is made, and no route asks for one
    assert recording.of_type(AUTHORIZER) == []
    assert {r.inputs["authorizationType"] for r in recording.of_type(ROUTE)} == {"NONE"}


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ('access = "admin"', "access must be 'write' or 'secret'"),
        ('public = ["GET /stats/wau"]', r"public routes \['GET /stats/wau'\] are not among its http routes"),
        ('public = ["POST /health"]', r"public routes \['POST /health'\] are not among its http routes"),
    ],
)
def test_a_manifest_with_a_bad_access_or_public_route_is_refused(
    project: Callable[..., dict[str, Path]], section: str, message: str
) -> None:
    # Given a function whose access is unknown, or whose public route it does not serve
    paths = project(HTTP_FUNCTION.replace('public = ["GET /health"]', section), {})
    # When the manifest is read, Then it is refused, naming the fault
    with pytest.raises(ValueError, match=message):
        load_manifest(paths["functions_dir"])


AUTHORIZER_FUNCTION = """
[functions.{name}]
description = "keys"
handler = "handler.lambda_handler"
memory = 256
timeout = 5
needs = ["keys:read"]
authorizer = true
"""


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (
            AUTHORIZER_FUNCTION.format(name="one") + AUTHORIZER_FUNCTION.format(name="two"),
            "one authorizer per API",
        ),
        (AUTHORIZER_FUNCTION.format(name="one") + 'http = ["GET /x"]\n', "without triggers"),
        (AUTHORIZER_FUNCTION.format(name="one") + 'schedule = ["rate(1 hour)"]\n', "without triggers"),
        (AUTHORIZER_FUNCTION.format(name="one") + 'access = "write"\n', "has none"),
    ],
    ids=["two-authorizers", "authorizer-with-routes", "authorizer-with-schedule", "access-without-routes"],
)
def test_a_manifest_with_a_misplaced_authorizer_is_refused(
    project: Callable[..., dict[str, Path]], manifest: str, message: str
) -> None:
    paths = project(manifest, {})
    with pytest.raises(ValueError, match=message):
        load_manifest(paths["functions_dir"])


def test_an_authorizer_that_cannot_read_the_keys_stops_the_deployment(
    deploy: Deploy, project: Callable[..., dict[str, Path]]
) -> None:
    # Given an authorizer without the keys need (it would look keys up in an empty local file)
    paths = project(
        HTTP_FUNCTION + AUTHORIZER_FUNCTION.format(name="gate").replace('["keys:read"]', "[]"), {}
    )
    # When the program runs, Then it refuses
    with pytest.raises(ValueError, match="needs 'keys:read'"):
        deploy(**paths)
