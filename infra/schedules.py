"""EventBridge Scheduler: a schedule per ``schedule`` expression, each role allowed to invoke one function."""

from __future__ import annotations

import json
from collections.abc import Callable

import pulumi
import pulumi_aws as aws

from infra import policies
from infra.account import Account
from infra.functions import DeployedFunction


def schedules(functions: dict[str, DeployedFunction], account: Account) -> list[aws.scheduler.Schedule]:
    created = []
    for name, deployed in sorted(functions.items()):
        if not deployed.spec.schedule:
            continue
        created += schedule_target(
            name,
            deployed.function.arn,
            lambda arn: policies.invoke_functions([arn]),
            list(deployed.spec.schedule),
            account,
            input_for=lambda expression: json.dumps(
                {"source": "eventlens.scheduler", "schedule": expression}
            ),
        )
    return created


def _scheduled_input(expression: str) -> str:
    return json.dumps({"source": "eventlens.scheduler", "schedule": expression})


def schedule_target(
    name: str,
    target_arn: pulumi.Output[str],
    statements: Callable[[str], list[policies.Statement]],
    expressions: list[str],
    account: Account,
    input_for: Callable[[str], str] = lambda _expression: "{}",
) -> list[aws.scheduler.Schedule]:
    """A schedule (UTC) per expression starting ``target_arn``, through a role allowed ``statements``
    on that one target only."""
    role = aws.iam.Role(
        f"{name}-scheduler-role",
        assume_role_policy=account.id.apply(lambda a: policies.assume_role("scheduler.amazonaws.com", a)),
    )
    policy = aws.iam.RolePolicy(
        f"{name}-scheduler-policy",
        role=role.id,
        policy=target_arn.apply(lambda arn: policies.document(statements(arn))),
    )
    return [
        aws.scheduler.Schedule(
            f"{name}-schedule-{index}",
            schedule_expression=expression,
            schedule_expression_timezone="UTC",
            flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
            target=aws.scheduler.ScheduleTargetArgs(
                arn=target_arn, role_arn=role.arn, input=input_for(expression)
            ),
            opts=pulumi.ResourceOptions(depends_on=[policy]),
        )
        for index, expression in enumerate(expressions)
    ]
