"""Run the Pulumi program under Pulumi's mocks and keep every resource it declares, with its inputs.

No cloud and no CLI: ``pulumi.runtime.set_mocks`` answers each registration, and ``Recording``
keeps what was asked for, so tests can read every policy, route and definition the program would
deploy. The program (``infra``) is imported only inside the fixture, after the mocks are set.
"""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime import rpc

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the program is the package infra/ at the repository root

ACCOUNT = "123456789012"
REGION = "eu-central-1"


@dataclass
class Registered:
    type: str
    name: str
    id: str
    inputs: dict[str, Any]  # secrets unwrapped
    outputs: dict[str, Any]
    secret: set[str]  # the inputs that reached the engine marked secret


@dataclass
class Recording(pulumi.runtime.Mocks):
    """Mocks that answer like AWS would (ARNs shaped as AWS shapes them) and remember everything."""

    resources: list[Registered] = field(default_factory=list)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        resource_id = f"{args.name}-{uuid.uuid4().hex[:8]}"
        inputs = {key: _unwrap(value) for key, value in args.inputs.items()}
        secret = {key for key, value in args.inputs.items() if _unwrap(value) != value}
        made = _outputs(args.typ, args.name, resource_id, inputs)
        self.resources.append(
            Registered(args.typ, args.name, resource_id, inputs, {**inputs, **made}, secret)
        )
        return resource_id, {**args.inputs, **made}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        answers: dict[str, dict[str, Any]] = {
            "aws:index/getCallerIdentity:getCallerIdentity": {
                "accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/t", "userId": "t", "id": ACCOUNT,
            },
            "aws:index/getRegion:getRegion": {"region": REGION, "name": REGION, "id": REGION},
            "aws:index/getPartition:getPartition": {"partition": "aws", "dnsSuffix": "amazonaws.com"},
            "aws:index/getAvailabilityZones:getAvailabilityZones": {
                "names": [f"{REGION}a", f"{REGION}b", f"{REGION}c"], "zoneIds": ["a", "b", "c"], "id": REGION,
            },
        }  # fmt: skip
        if args.token not in answers:
            raise NotImplementedError(f"the program called {args.token}, which these mocks do not answer")
        return answers[args.token], []

    def of_type(self, type_: str) -> list[Registered]:
        return [resource for resource in self.resources if resource.type == type_]

    def one(self, type_: str, name: str) -> Registered:
        found = [resource for resource in self.of_type(type_) if resource.name == name]
        assert len(found) == 1, f"expected one {type_} named {name}, found {len(found)}"
        return found[0]


def _unwrap(value: Any) -> Any:
    """A value with Pulumi's secret wrappers (``{<secret sig>: ..., "value": v}``) removed."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return _unwrap(value["value"])
        return {key: _unwrap(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unwrap(item) for item in value]
    return value


def _outputs(type_: str, name: str, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
    prefix = f"arn:aws:{{}}:{REGION}:{ACCOUNT}"
    match type_:
        case "aws:lambda/function:Function":
            arn = f"{prefix.format('lambda')}:function:{resource_id}"
            return {"arn": arn, "name": resource_id, "invokeArn": f"invoke:{arn}"}
        case "aws:s3/bucket:Bucket":
            return {
                "arn": f"arn:aws:s3:::{resource_id}",
                "bucket": resource_id,
                "bucketRegionalDomainName": f"{resource_id}.s3.{REGION}.amazonaws.com",
            }
        case "aws:cloudfront/distribution:Distribution":
            return {
                "arn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/{resource_id}",
                "domainName": f"{resource_id}.cloudfront.net",
            }
        case "aws:iam/role:Role":
            return {"arn": f"arn:aws:iam::{ACCOUNT}:role/{resource_id}", "name": resource_id}
        case "aws:cloudwatch/logGroup:LogGroup":
            return {"arn": f"{prefix.format('logs')}:log-group:{inputs.get('name', resource_id)}"}
        case "aws:msk/serverlessCluster:ServerlessCluster":
            arn = f"{prefix.format('kafka')}:cluster/{inputs['clusterName']}/0b8f-{resource_id}-s1"
            return {
                "arn": arn,
                "bootstrapBrokersSaslIam": f"boot-{resource_id}.kafka-serverless.{REGION}:9098",
            }
        case "aws:apigatewayv2/api:Api":
            return {
                "executionArn": f"{prefix.format('execute-api')}:{resource_id}",
                "apiEndpoint": f"https://{resource_id}.execute-api.{REGION}.amazonaws.com",
            }
        case "aws:ecr/repository:Repository":
            return {
                "repositoryUrl": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{resource_id}",
                "name": resource_id,
            }
        case "aws:dynamodb/table:Table":
            table = inputs.get("name", resource_id)
            return {"arn": f"{prefix.format('dynamodb')}:table/{table}", "name": table}
        case "aws:secretsmanager/secret:Secret":
            return {"arn": f"{prefix.format('secretsmanager')}:secret:{resource_id}"}
        case _:
            return {"arn": f"{prefix.format(type_.split(':')[1].split('/')[0])}:{resource_id}"}


Deploy = Callable[..., Recording]


@pytest.fixture
def deploy(tmp_path: Path) -> Deploy:
    """Run the program on a stack configuration (the repository's manifest unless told otherwise)."""
    from eventlens.manifest import load_manifest
    from eventlens_tools.build import build_artifacts

    def run(**config: Any) -> Recording:
        recording = Recording()
        pulumi.runtime.set_mocks(recording, project="eventlens", stack="test", preview=False)
        from infra.config import StackConfig
        from infra.stack import deploy as deploy_stack

        stack_config = StackConfig(stack="test", **config)
        dist = tmp_path / f"dist-{uuid.uuid4().hex[:6]}"
        artifacts = build_artifacts(
            dist, with_deps=False, functions=load_manifest(stack_config.functions_dir)
        )

        @pulumi.runtime.test
        def program() -> None:
            deploy_stack(stack_config, artifacts)

        program()
        return recording

    return run


@pytest.fixture
def project(tmp_path: Path) -> Callable[[str, dict[str, str]], dict[str, Path]]:
    """A manifest (TOML text) with a handler per function, and state machines (name → ASL text)."""

    def make(manifest: str, machines: dict[str, str]) -> dict[str, Path]:
        functions = tmp_path / "functions"
        functions.mkdir(exist_ok=True)
        (functions / "manifest.toml").write_text(textwrap.dedent(manifest))
        import tomllib

        for name in tomllib.loads((functions / "manifest.toml").read_text())["functions"]:
            (functions / name).mkdir(exist_ok=True)
            (functions / name / "handler.py").write_text(
                "def lambda_handler(event, context):\n    return {}\n"
            )
        asl = tmp_path / "state_machines"
        asl.mkdir(exist_ok=True)
        for name, text in machines.items():
            (asl / f"{name}.asl.json").write_text(text)
        return {"functions_dir": functions, "state_machines_dir": asl}

    return make
