"""Step Functions state machines from ``state_machines/*.asl.json``, their Lambda ARNs filled in.

``eventlens.manifest.load_state_machines`` reads and checks them (every placeholder must name a
function of the manifest, or the program stops before deploying anything); a
``[state_machines.<name>]`` section of the manifest may give ``schedule`` expressions that start it.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from eventlens.manifest import fill_function_arns, load_state_machines
from infra import policies
from infra.account import Account
from infra.functions import DeployedFunction
from infra.schedules import schedule_target


def state_machines(
    directory: Path, functions: dict[str, DeployedFunction], account: Account, functions_dir: Path
) -> dict[str, aws.sfn.StateMachine]:
    machines = {}
    for name, spec in load_state_machines(directory, functions_dir).items():
        arns: pulumi.Output[dict[str, str]] = pulumi.Output.all(
            **{f: functions[f].function.arn for f in spec.functions}
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
            if spec.functions
            else None
        )
        machines[name] = aws.sfn.StateMachine(
            name,
            role_arn=role.arn,
            definition=arns.apply(partial(_render, spec.definition)),
            opts=pulumi.ResourceOptions(depends_on=[policy] if policy else []),
        )
        if spec.schedule:
            _schedules(name, machines[name], list(spec.schedule), account)
    pulumi.export("state_machines", {name: machine.arn for name, machine in machines.items()})
    return machines


def _render(definition: Any, arns: dict[str, str]) -> str:
    # Output.all() of nothing gives [], not {}
    return json.dumps(fill_function_arns(definition, arns or {}), indent=2)


def _schedules(name: str, machine: aws.sfn.StateMachine, expressions: list[str], account: Account) -> None:
    """Schedules that start ``machine`` (with input ``{}``), through a role that may start only it."""
    schedule_target(
        name,
        machine.arn,
        lambda arn: [policies.allow("StartExecution", ["states:StartExecution"], [arn])],
        expressions,
        account,
    )
