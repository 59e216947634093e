"""Step Functions state machines from ``state_machines/*.asl.json``, their Lambda ARNs filled in.

An ASL file names a function by the placeholder ``${<function>_function_arn}``; every placeholder
must name a function of the manifest, or the program stops before deploying anything. A
``[state_machines.<name>]`` section of the manifest may give ``schedule`` expressions that start it.
"""

from __future__ import annotations

import json
import re
import tomllib
from functools import partial
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from infra import policies
from infra.account import Account
from infra.functions import DeployedFunction
from infra.schedules import schedule_target

FUNCTION_ARN = re.compile(r"\$\{(\w+?)_function_arn\}")
ANY_PLACEHOLDER = re.compile(r"\$\{\w+\}")


def strings(node: Any) -> list[str]:
    """Every string value in a JSON document."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in strings(value)]
    return []


def referenced_functions(definition: Any, source: str, deployed: set[str]) -> list[str]:
    """The functions ``definition`` names; a placeholder naming nothing deployed is an error."""
    names = set()
    for text in strings(definition):
        for placeholder in ANY_PLACEHOLDER.findall(text):
            match = FUNCTION_ARN.fullmatch(placeholder)
            if match is None:
                raise ValueError(f"{source}: {placeholder} is not a ${{<function>_function_arn}} placeholder")
            if match.group(1) not in deployed:
                raise ValueError(f"{source}: {placeholder} names no function of functions/manifest.toml")
            names.add(match.group(1))
    return sorted(names)


def fill(node: Any, arns: dict[str, str]) -> Any:
    """``node`` with each function placeholder replaced by that function's ARN."""
    if isinstance(node, str):
        return FUNCTION_ARN.sub(lambda match: arns[match.group(1)], node)
    if isinstance(node, dict):
        return {key: fill(value, arns) for key, value in node.items()}
    if isinstance(node, list):
        return [fill(value, arns) for value in node]
    return node


def manifest_sections(functions_dir: Path) -> dict[str, dict[str, Any]]:
    """The ``[state_machines.*]`` sections of the manifest, by state machine name."""
    sections: dict[str, dict[str, Any]] = tomllib.loads((functions_dir / "manifest.toml").read_text()).get(
        "state_machines", {}
    )
    return sections


def state_machines(
    directory: Path, functions: dict[str, DeployedFunction], account: Account, functions_dir: Path
) -> dict[str, aws.sfn.StateMachine]:
    sections = manifest_sections(functions_dir)
    missing = set(sections) - {path.name.removesuffix(".asl.json") for path in directory.glob("*.asl.json")}
    if missing:
        raise ValueError(
            f"functions/manifest.toml names state machines without an ASL file: {sorted(missing)}"
        )
    machines = {}
    for path in sorted(directory.glob("*.asl.json")):
        name = path.name.removesuffix(".asl.json")
        definition = json.loads(path.read_text())
        used = referenced_functions(definition, path.name, set(functions))
        arns: pulumi.Output[dict[str, str]] = pulumi.Output.all(
            **{f: functions[f].function.arn for f in used}
        )
        role = aws.iam.Role(
            f"{name}-states-role",
            assume_role_policy=account.id.apply(lambda a: policies.assume_role("states.amazonaws.com", a)),
        )
        policy = (
            aws.iam.RolePolicy(
                f"{name}-states-policy",
                role=role.id,
                policy=arns.apply(lambda a: policies.document(policies.invoke_functions(list(a.values())))),
            )
            if used
            else None
        )
        machines[name] = aws.sfn.StateMachine(
            name,
            role_arn=role.arn,
            definition=arns.apply(partial(_render, definition)),
            opts=pulumi.ResourceOptions(depends_on=[policy] if policy else []),
        )
    for name, section in sorted(sections.items()):
        if section.get("schedule"):
            _schedules(name, machines[name], section["schedule"], account)
    pulumi.export("state_machines", {name: machine.arn for name, machine in machines.items()})
    return machines


def _render(definition: Any, arns: dict[str, str]) -> str:
    return json.dumps(fill(definition, arns or {}), indent=2)  # Output.all() of nothing gives []


def _schedules(name: str, machine: aws.sfn.StateMachine, expressions: list[str], account: Account) -> None:
    """Schedules that start ``machine`` (with input ``{}``), through a role that may start only it."""
    schedule_target(
        name,
        machine.arn,
        lambda arn: [policies.allow("StartExecution", ["states:StartExecution"], [arn])],
        expressions,
        account,
    )
