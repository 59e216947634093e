"""The Pulumi program, run under mocks: what it would deploy, read from every registered resource."""

from __future__ import annotations

import json
import runpy
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi_mocks import ROOT, Deploy, Recording

from eventlens.manifest import Function, load_manifest
from eventlens.settings import Settings

pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated in favor of:DeprecationWarning")

FUNCTION = "aws:lambda/function:Function"
SCHEDULE = "aws:scheduler/schedule:Schedule"

# A project using everything the program supports: a schedule, a container image, and state
# machines naming functions directly, through lambda:invoke, and inside Parallel and Map states.
FULL_MANIFEST = """
[functions.export]
description = "export a day"
handler = "handler.lambda_handler"
memory = 512
timeout = 60
needs = ["bucket", "secrets:clickhouse"]
schedule = ["cron(15 2 * * ? *)"]

[functions.training]
description = "train a model"
handler = "handler.lambda_handler"
memory = 4096
timeout = 900
needs = ["bucket:read"]
package = "image"
extras = ["ml"]

[functions.predict]
description = "serve predictions"
handler = "handler.lambda_handler"
memory = 1024
timeout = 30
needs = ["keys"]
http = ["GET /v1/predict/{user_id}"]

[functions.authorizer]
description = "API keys"
handler = "handler.lambda_handler"
memory = 256
timeout = 5
needs = ["keys:read"]
authorizer = true
"""

PIPELINE = {
    "StartAt": "Export",
    "States": {
        "Export": {"Type": "Task", "Resource": "${export_function_arn}", "Next": "Both"},
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Train",
                    "States": {
                        "Train": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::lambda:invoke",
                            "Parameters": {"FunctionName": "${training_function_arn}", "Payload.$": "$"},
                            "End": True,
                        }
                    },
                },
                {
                    "StartAt": "Each",
                    "States": {
                        "Each": {
                            "Type": "Map",
                            "ItemProcessor": {
                                "StartAt": "Predict",
                                "States": {
                                    "Predict": {
                                        "Type": "Task",
                                        "Resource": "${predict_function_arn}",
                                        "End": True,
                                    }
                                },
                            },
                            "End": True,
                        }
                    },
                },
            ],
            "End": True,
        },
    },
}


def lambda_functions(recording: Recording) -> dict[str, dict[str, Any]]:
    """Each deployed function's outputs, by manifest name."""
    return {resource.name: resource.outputs for resource in recording.of_type(FUNCTION)}


def states(node: Any) -> Iterator[dict[str, Any]]:
    """Every state of an ASL definition, nested Parallel branches and Map processors included."""
    for state in node.get("States", {}).values():
        yield state
        for branch in state.get("Branches", []):
            yield from states(branch)
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from states(state[key])


def task_targets(definition: dict[str, Any]) -> list[str]:
    """The Lambda each Task state calls: its Resource, or FunctionName for lambda:invoke."""
    targets = []
    for state in states(definition):
        if state["Type"] != "Task":
            continue
        resource = state["Resource"]
        if resource.startswith("arn:aws:states:::lambda:invoke"):
            resource = (state.get("Parameters") or state["Arguments"])["FunctionName"]
        targets.append(resource)
    return targets


def allow_statements(recording: Recording) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every Allow statement of every policy document any resource carries, with its resource."""
    for resource in recording.resources:
        for key in ("policy", "assumeRolePolicy"):
            text = resource.inputs.get(key)
            if not text:
                continue
            statements = json.loads(text)["Statement"]
            for statement in statements if isinstance(statements, list) else [statements]:
                if statement["Effect"] == "Allow":
                    yield f"{resource.type} {resource.name}", statement


def as_list(value: str | list[str] | None) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else value


def role_policy(recording: Recording, function: str) -> list[dict[str, Any]]:
    return json.loads(recording.one("aws:iam/rolePolicy:RolePolicy", f"{function}-policy").inputs["policy"])[
        "Statement"
    ]


def granted_actions(recording: Recording, function: str) -> set[str]:
    return {
        action for statement in role_policy(recording, function) for action in as_list(statement["Action"])
    }


def assert_every_function_deployed_with_its_triggers(
    recording: Recording, manifest: dict[str, Function]
) -> None:
    deployed = lambda_functions(recording)
    assert set(deployed) == set(manifest)
    failed_batches = recording.one("aws:s3/bucket:Bucket", "failed-batches").outputs["arn"]
    for name, spec in manifest.items():
        function = deployed[name]
        assert (function["memorySize"], function["timeout"]) == (spec.memory, spec.timeout)
        if spec.package == "zip":
            assert (function["handler"], function["runtime"]) == (spec.handler, "python3.11")
            assert function["layers"], f"{name} runs without the shared layers"
        mappings = [m.inputs for m in recording.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")]
        mine = [m for m in mappings if m["functionName"] == function["arn"]]
        assert sorted(topic for m in mine for topic in m["topics"]) == sorted(t.topic for t in spec.kafka)
        for mapping in mine:
            assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]
            assert mapping["destinationConfig"]["onFailure"]["destinationArn"] == failed_batches
        schedules = [s.inputs for s in recording.of_type("aws:scheduler/schedule:Schedule")]
        mine_scheduled = [s["scheduleExpression"] for s in schedules if s["target"]["arn"] == function["arn"]]
        assert sorted(mine_scheduled) == sorted(spec.schedule)


def test_every_function_of_the_repository_manifest_is_deployed_with_its_triggers(deploy: Deploy) -> None:
    # Given the repository's manifest, whatever functions it lists today
    manifest = load_manifest(ROOT / "functions")
    # When the program runs
    recording = deploy()
    # Then each function exists once, sized as the manifest says, with each Kafka trigger and schedule
    assert_every_function_deployed_with_its_triggers(recording, manifest)
    assert manifest["consume"].kafka, "the repository's consume function is fed by Kafka"


def test_schedules_images_and_state_machines_of_a_fuller_manifest_are_all_deployed(
    deploy: Deploy, project: Callable[..., dict[str, Path]]
) -> None:
    # Given a manifest with a scheduled function, a container-image function and an HTTP one
    paths = project(FULL_MANIFEST, {"pipeline": json.dumps(PIPELINE)})
    # When the program runs on it
    recording = deploy(**paths)
    # Then every function and trigger is there, and training is an image from its own repository
    assert_every_function_deployed_with_its_triggers(recording, load_manifest(paths["functions_dir"]))
    training = lambda_functions(recording)["training"]
    repository = recording.one("aws:ecr/repository:Repository", "training-image").outputs["repositoryUrl"]
    assert training["packageType"] == "Image"
    assert training["imageUri"] == f"{repository}:latest"


def test_every_route_is_wired_to_its_function_which_only_that_route_may_invoke(deploy: Deploy) -> None:
    # Given the repository's manifest and its HTTP routes
    manifest = load_manifest(ROOT / "functions")
    # When the program runs
    recording = deploy()
    # Then each route targets an AWS_PROXY integration (payload 2.0) of its own function ...
    functions = lambda_functions(recording)
    api = recording.of_type("aws:apigatewayv2/api:Api")[0].outputs
    integrations = {r.id: r.inputs for r in recording.of_type("aws:apigatewayv2/integration:Integration")}
    routes = {
        r.inputs["routeKey"]: r.inputs["target"] for r in recording.of_type("aws:apigatewayv2/route:Route")
    }
    permissions = [
        p.inputs
        for p in recording.of_type("aws:lambda/permission:Permission")
        if p.name != "invoke-authorizer"
    ]
    expected = {f"{r.method} {r.path}": name for name, spec in manifest.items() for r in spec.http}
    assert set(routes) == set(expected)
    for route_key, name in expected.items():
        integration = integrations[routes[route_key].removeprefix("integrations/")]
        assert integration["integrationUri"] == functions[name]["arn"]
        assert integration["integrationType"] == "AWS_PROXY"
        assert integration["payloadFormatVersion"] == "2.0"
        # ... and API Gateway may invoke the function for exactly this method and path
        method, path = route_key.split(" ", 1)
        scoped = f"{api['executionArn']}/*/{method}{path}"
        assert {"function": functions[name]["name"], "sourceArn": scoped} in [
            {"function": p["function"], "sourceArn": p["sourceArn"]} for p in permissions
        ]
    assert len(permissions) == len(expected), "a permission without a route (or an unscoped one) exists"


def test_every_task_of_every_state_machine_calls_a_deployed_function(
    deploy: Deploy, project: Callable[..., dict[str, Path]]
) -> None:
    # Given state machines naming functions directly, through lambda:invoke, in Parallel and in Map
    paths = project(FULL_MANIFEST, {"pipeline": json.dumps(PIPELINE)})
    # When the program runs
    recording = deploy(**paths)
    # Then every Task's Lambda is the ARN of a function the stack deploys, and no placeholder is left
    functions = {name: outputs["arn"] for name, outputs in lambda_functions(recording).items()}
    machines = recording.of_type("aws:sfn/stateMachine:StateMachine")
    assert [m.name for m in machines] == ["pipeline"]
    definition = json.loads(machines[0].inputs["definition"])
    assert sorted(task_targets(definition)) == sorted(
        [functions["export"], functions["training"], functions["predict"]]
    )
    assert "${" not in machines[0].inputs["definition"]
    # And its role may invoke exactly those functions
    policy = json.loads(
        recording.one("aws:iam/rolePolicy:RolePolicy", "pipeline-states-policy").inputs["policy"]
    )
    invocable = {arn for statement in policy["Statement"] for arn in as_list(statement["Resource"])}
    tasks = [functions[name] for name in ("export", "training", "predict")]
    assert invocable == {*tasks, *(f"{arn}:*" for arn in tasks)}


def test_every_task_of_the_repository_state_machines_calls_a_deployed_function(deploy: Deploy) -> None:
    # Given the repository's state machines (those that exist today; none is fine)
    files = sorted((ROOT / "state_machines").glob("*.asl.json"))
    # When the program runs
    recording = deploy()
    # Then there is one state machine per file and each Task resolves to a deployed function
    functions = {outputs["arn"] for outputs in lambda_functions(recording).values()}
    machines = recording.of_type("aws:sfn/stateMachine:StateMachine")
    assert sorted(m.name for m in machines) == sorted(f.name.removesuffix(".asl.json") for f in files)
    for machine in machines:
        for target in task_targets(json.loads(machine.inputs["definition"])):
            assert target in functions, (
                f"{machine.name}: a Task calls {target}, which the stack does not deploy"
            )
    # And each schedule of a [state_machines.<name>] section starts that machine, and only it
    sections = tomllib.loads((ROOT / "functions" / "manifest.toml").read_text()).get("state_machines", {})
    arns = {m.name: m.outputs["arn"] for m in machines}
    for name, section in sections.items():
        targets = recording.of_type(SCHEDULE)
        started = [s.inputs["scheduleExpression"] for s in targets if s.inputs["target"]["arn"] == arns[name]]
        assert sorted(started) == sorted(section.get("schedule", []))
        if started:
            policy = recording.one("aws:iam/rolePolicy:RolePolicy", f"{name}-scheduler-policy").inputs[
                "policy"
            ]
            assert json.loads(policy)["Statement"] == [
                {
                    "Sid": "StartExecution",
                    "Effect": "Allow",
                    "Action": ["states:StartExecution"],
                    "Resource": [arns[name]],
                }
            ]


def test_a_task_naming_a_function_missing_from_the_manifest_stops_the_deployment(
    deploy: Deploy, project: Callable[..., dict[str, Path]]
) -> None:
    # Given a state machine whose Task names a function the manifest does not have
    ghost = {
        "StartAt": "Mine",
        "States": {"Mine": {"Type": "Task", "Resource": "${mining_function_arn}", "End": True}},
    }
    paths = project(FULL_MANIFEST, {"habits": json.dumps(ghost)})
    # When the program runs, Then it refuses, naming the placeholder
    with pytest.raises(ValueError, match=r"\$\{mining_function_arn\} names no function"):
        deploy(**paths)


@pytest.mark.parametrize(
    "kafka",
    [
        {},
        {"kafka_bootstrap": "kafka.internal:9092"},
        {"subnet_ids": ("subnet-1",), "security_group_ids": ("sg-1",)},
    ],
    ids=["msk-serverless", "own-kafka", "msk-in-own-network"],
)
def test_no_policy_allows_every_action_or_every_resource(deploy: Deploy, kafka: dict[str, Any]) -> None:
    # Given each way of providing Kafka
    # When the program runs
    recording = deploy(**kafka)
    statements = list(allow_statements(recording))
    assert statements
    for owner, statement in statements:
        # Then no Allow statement names an action with a wildcard ...
        for action in as_list(statement.get("Action")):
            assert "*" not in action, f"{owner} allows {action}"
        # ... nor every resource, except EC2's read-only Describe actions, which IAM offers only on
        # "*" (Lambda needs them for network interfaces), pinned to the stack's region
        if "*" in as_list(statement.get("Resource")):
            assert set(as_list(statement["Action"])) <= DESCRIBE_ONLY, (
                f"{owner} allows {statement['Action']} on *"
            )
            assert statement["Condition"]["StringEquals"]["aws:RequestedRegion"]
        principal = statement.get("Principal")
        assert principal != "*" and principal != {"AWS": "*"}, f"{owner} allows anyone"


def test_without_a_vpc_no_policy_names_every_resource(deploy: Deploy) -> None:
    # Given a Kafka of one's own reached without a VPC
    # When the program runs
    recording = deploy(kafka_bootstrap="kafka.example.com:9092")
    # Then no statement at all names every resource
    assert [owner for owner, s in allow_statements(recording) if "*" in as_list(s.get("Resource"))] == []


def test_each_function_is_granted_only_what_its_manifest_needs(deploy: Deploy) -> None:
    # Given ingest needs Kafka and the keys, consume the bucket and ClickHouse, report ClickHouse and the keys
    # When the program runs
    recording = deploy()
    ingest, consume, report = (granted_actions(recording, name) for name in ("ingest", "consume", "report"))
    # Then ingest may write the topic but touches no object
    assert "kafka-cluster:WriteData" in ingest and not any(a.startswith("s3:") for a in ingest)
    # And consume reads the topic, writes objects, and cannot publish
    assert {"kafka-cluster:ReadData", "s3:PutObject"} <= consume and "kafka-cluster:WriteData" not in consume
    # And report may only write its logs and look keys up (and count requests)
    assert report == {"logs:CreateLogStream", "logs:PutLogEvents", "dynamodb:GetItem", "dynamodb:UpdateItem"}
    # And each writes only its own log group
    for name in ("ingest", "consume", "report"):
        logs = next(s for s in role_policy(recording, name) if s["Sid"] == "WriteLogs")
        assert logs["Resource"] == [
            f"{recording.one('aws:cloudwatch/logGroup:LogGroup', f'{name}-logs').outputs['arn']}:*"
        ]

    # And ingest's topic is the topic consume reads
    def topic(name: str) -> list[str]:
        return next(
            s["Resource"]
            for s in role_policy(recording, name)
            if "kafka-cluster:DescribeTopic" in s["Action"]
        )

    assert topic("ingest") == topic("consume")


def test_buckets_are_private_encrypted_tls_only_and_expire(deploy: Deploy) -> None:
    # Given the stack's buckets
    # When the program runs
    recording = deploy()
    buckets = recording.of_type("aws:s3/bucket:Bucket")
    assert {b.name for b in buckets} == {"data", "failed-batches", "artifacts", "console"}
    by_bucket = lambda type_: {r.inputs["bucket"]: r.inputs for r in recording.of_type(type_)}  # noqa: E731
    blocks = by_bucket("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    encryption = by_bucket(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    lifecycle = by_bucket("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    policies = by_bucket("aws:s3/bucketPolicy:BucketPolicy")
    for bucket in buckets:
        name = bucket.outputs["bucket"]
        # Then public access is blocked in all four ways, and no ACL opens it
        assert {k: blocks[name][k] for k in PUBLIC_ACCESS_BLOCK} == dict.fromkeys(PUBLIC_ACCESS_BLOCK, True)
        assert bucket.inputs.get("acl") in (None, "private")
        # And objects are encrypted at rest and expire
        rule = encryption[name]["rules"][0]["applyServerSideEncryptionByDefault"]
        assert rule["sseAlgorithm"] in ("AES256", "aws:kms")
        # (all but the console's files, which each deployment uploads again)
        assert bucket.name == "console" or any("expiration" in r for r in lifecycle[name]["rules"])
        # And requests without TLS are denied
        denied = json.loads(policies[name]["policy"])["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"]["Bool"]["aws:SecureTransport"] == "false" for s in denied
        )


def test_function_settings_use_the_names_the_code_reads(deploy: Deploy) -> None:
    # Given ClickHouse credentials in the stack's configuration
    url = "https://eventlens:s3cret@clickhouse.example.com:8443"
    # When the program runs
    recording = deploy(clickhouse_url=url, settings={"EVENTLENS_RETENTION_DAYS": "400"})
    functions = lambda_functions(recording)
    names = {field.alias for field in Settings.model_fields.values()}
    # Then every variable is a setting of eventlens.settings (or Powertools' own)
    for name, function in functions.items():
        variables = function["environment"]["variables"]
        unknown = {k for k in variables if k not in names and not k.startswith("POWERTOOLS_")}
        assert unknown == set(), f"{name} gets variables the code never reads: {unknown}"
        assert variables["EVENTLENS_RETENTION_DAYS"] == "400"
    # And each gets the values its needs call for, from the resources the stack made
    cluster = recording.of_type("aws:msk/serverlessCluster:ServerlessCluster")[0].outputs
    assert (
        functions["ingest"]["environment"]["variables"]["KAFKA_BOOTSTRAP"]
        == cluster["bootstrapBrokersSaslIam"]
    )
    # MSK Serverless takes IAM-authenticated clients only: the producer is told to sign in that way
    assert functions["ingest"]["environment"]["variables"]["KAFKA_AUTH"] == "iam"
    data = recording.one("aws:s3/bucket:Bucket", "data").outputs["bucket"]
    assert functions["consume"]["environment"]["variables"]["EVENTLENS_BUCKET"] == data
    assert "EVENTLENS_BUCKET" not in functions["report"]["environment"]["variables"]
    # And the ClickHouse URL reaches the functions through its Secrets Manager secret
    secret = recording.one("aws:secretsmanager/secretVersion:SecretVersion", "clickhouse").inputs
    assert json.loads(secret["secretString"]) == {"CLICKHOUSE_URL": url}
    for name in ("consume", "report"):
        assert functions[name]["environment"]["variables"]["CLICKHOUSE_URL"] == url
        # ... and stays a secret (encrypted in Pulumi's state, masked in its output)
        assert "environment" in recording.one(FUNCTION, name).secret
    assert "CLICKHOUSE_URL" not in functions["ingest"]["environment"]["variables"]


def test_a_setting_the_code_does_not_read_stops_the_deployment(deploy: Deploy) -> None:
    # Given a stack setting with a misspelt name, When the program runs, Then it refuses
    with pytest.raises(ValueError, match="EVENTLENS_RETENTION_DAY"):
        deploy(settings={"EVENTLENS_RETENTION_DAY": "400"})


def test_two_functions_claiming_one_route_stop_the_deployment(
    deploy: Deploy, project: Callable[..., dict[str, Path]]
) -> None:
    # Given two functions serving the same route
    other = '[functions.other]\ndescription = "x"\nhandler = "h.f"\nmemory = 128\ntimeout = 3\n'
    paths = project(f'{FULL_MANIFEST}\n{other}http = ["GET /v1/predict/{{user_id}}"]\n', {})
    # When the program runs, Then it refuses, naming the route
    with pytest.raises(ValueError, match="GET /v1/predict/{user_id}"):
        deploy(**paths)


def test_an_empty_project_deploys_only_shared_resources(
    deploy: Deploy, project: Callable[..., dict[str, Path]]
) -> None:
    # Given a manifest without functions and no state machines
    paths = project("[functions]\n", {})
    # When the program runs
    recording = deploy(**paths)
    # Then there are no functions, no API and no state machines, and the buckets still exist
    assert recording.of_type(FUNCTION) == []
    assert recording.of_type("aws:apigatewayv2/api:Api") == []
    assert len(recording.of_type("aws:s3/bucket:Bucket")) == 3


def test_the_localstack_stack_points_every_service_the_program_uses_at_localstack(deploy: Deploy) -> None:
    # Given the localstack stack's configuration
    config = yaml.safe_load((ROOT / "Pulumi.localstack.yaml").read_text())["config"]
    endpoints = {key: url for entry in config["aws:endpoints"] for key, url in entry.items()}
    # When the program runs as that stack would (its own Kafka)
    recording = deploy(kafka_bootstrap=config["eventlens:kafkaBootstrap"])
    # Then every AWS service it creates resources in is sent to LocalStack, and no credential is checked
    modules = {resource.type.split(":")[1].split("/")[0] for resource in recording.resources}
    used = {SERVICE_ENDPOINT.get(module, module) for module in modules} | {"sts"}  # sts: the account id
    assert used - set(endpoints) == set()
    assert {url for key, url in endpoints.items() if key in used} == {"http://localhost:4566"}
    assert config["aws:skipCredentialsValidation"] is True and config["aws:s3UsePathStyle"] is True


def test_every_stack_file_names_its_region_and_the_program_reads_the_manifest() -> None:
    # Given the project and stack files
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    # Then the project is the Python program in infra/, and each stack has a region
    assert project["runtime"]["name"] == "python" and project["main"] == "infra/"
    for stack in ("dev", "prod", "localstack"):
        assert yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]["aws:region"]


def run_entry_point() -> None:
    runpy.run_path(str(ROOT / "infra" / "__main__.py"), run_name="__main__")


def test_the_pulumi_entry_point_deploys_the_manifest_from_the_stack_config() -> None:
    # Given the stack's config as Pulumi hands it to the program (own Kafka, code-only build)
    recording = Recording()
    pulumi.runtime.set_mocks(recording, project="eventlens", stack="dev", preview=False)
    pulumi.runtime.set_all_config(
        {"eventlens:kafkaBootstrap": "kafka.internal:9092", "eventlens:buildDependencies": "false"}
    )
    try:
        # When Pulumi runs infra/__main__.py
        pulumi.runtime.test(run_entry_point)()
    finally:
        pulumi.runtime.set_all_config({})
    # Then every function of the manifest is deployed, and Kafka is the configured one
    assert set(lambda_functions(recording)) == set(load_manifest(ROOT / "functions"))
    assert recording.of_type("aws:msk/serverlessCluster:ServerlessCluster") == []
    ingest = lambda_functions(recording)["ingest"]["environment"]["variables"]
    assert ingest["KAFKA_BOOTSTRAP"] == "kafka.internal:9092"
    assert "KAFKA_AUTH" not in ingest  # your own plain broker: no IAM sign-in


DESCRIBE_ONLY = {
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
    "ec2:DescribeSecurityGroups",
}
PUBLIC_ACCESS_BLOCK = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
# Pulumi's module names whose aws:endpoints key differs.
SERVICE_ENDPOINT = {"cloudwatch": "logs", "msk": "kafka"}
