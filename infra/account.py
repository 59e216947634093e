"""The account, region and partition the stack deploys into (for ARNs the program must spell out)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class Account:
    id: pulumi.Output[str]
    region: pulumi.Output[str]
    partition: pulumi.Output[str]


def current_account() -> Account:
    return Account(
        id=aws.get_caller_identity_output().account_id,
        region=aws.get_region_output().region,
        partition=aws.get_partition_output().partition,
    )
