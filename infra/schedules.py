"""EventBridge Scheduler: a schedule per ``schedule`` expression, each role allowed to invoke one function."""

from __future__ import annotations

import json

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
        role = aws.iam.Role(
            f"{name}-scheduler-role",
            assume_role_policy=account.id.apply(lambda a: policies.assume_role("scheduler.amazonaws.com", a)),
        )
        policy = aws.iam.RolePolicy(
            f"{name}-scheduler-policy",
            role=role.id,
            policy=deployed.function.arn.apply(
                lambda arn: policies.document(policies.invoke_functions([arn]))
            ),
        )
        for index, expression in enumerate(deployed.spec.schedule):
            created.append(
                aws.scheduler.Schedule(
                    f"{name}-schedule-{index}",
                    schedule_expression=expression,
                    schedule_expression_timezone="UTC",
                    flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
                    target=aws.scheduler.ScheduleTargetArgs(
                        arn=deployed.function.arn,
                        role_arn=role.arn,
                        input=json.dumps({"source": "eventlens.scheduler", "schedule": expression}),
                    ),
                    opts=pulumi.ResourceOptions(depends_on=[policy]),
                )
            )
    return created
