"""The network Kafka lives in: subnets and security groups of your own, or a small VPC of its own."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import StackConfig

KAFKA_IAM_PORT = 9098  # MSK's port for IAM-authenticated clients


@dataclass(frozen=True)
class Network:
    subnet_ids: list[pulumi.Input[str]]
    security_group_ids: list[pulumi.Input[str]]


def network(config: StackConfig) -> Network | None:
    """The stack's network; None when nothing needs one (a Kafka of your own, reached without a VPC)."""
    if config.subnet_ids:
        if not config.security_group_ids:
            raise ValueError("eventlens:subnetIds needs eventlens:securityGroupIds beside it")
        return Network(list(config.subnet_ids), list(config.security_group_ids))
    if not config.uses_msk:
        return None
    return _new_vpc()


def _new_vpc() -> Network:
    """Two private subnets (MSK Serverless wants two zones) and a NAT gateway for the way out."""
    zones = aws.get_availability_zones_output(state="available").names
    vpc = aws.ec2.Vpc(
        "network", cidr_block="10.42.0.0/16", enable_dns_hostnames=True, enable_dns_support=True
    )
    gateway = aws.ec2.InternetGateway("network-internet", vpc_id=vpc.id)
    public = aws.ec2.Subnet(
        "network-public", vpc_id=vpc.id, cidr_block="10.42.128.0/24", availability_zone=zones[0]
    )
    public_routes = aws.ec2.RouteTable(
        "network-public-routes",
        vpc_id=vpc.id,
        routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=gateway.id)],
    )
    aws.ec2.RouteTableAssociation(
        "network-public-routes", subnet_id=public.id, route_table_id=public_routes.id
    )
    # Private subnets reach out (STS, Lambda, S3 and ClickHouse for the event source mapping) through NAT.
    nat = aws.ec2.NatGateway(
        "network-nat", subnet_id=public.id, allocation_id=aws.ec2.Eip("network-nat", domain="vpc").id
    )
    private_routes = aws.ec2.RouteTable(
        "network-private-routes",
        vpc_id=vpc.id,
        routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
    )
    subnets: list[pulumi.Input[str]] = []
    for index in range(2):
        subnet = aws.ec2.Subnet(
            f"network-private-{index}",
            vpc_id=vpc.id,
            cidr_block=f"10.42.{index * 16}.0/20",
            availability_zone=zones[index],
        )
        aws.ec2.RouteTableAssociation(
            f"network-private-routes-{index}", subnet_id=subnet.id, route_table_id=private_routes.id
        )
        subnets.append(subnet.id)
    # Kafka clients and brokers share this group: members reach each other on the IAM port only.
    group = aws.ec2.SecurityGroup(
        "kafka-clients",
        vpc_id=vpc.id,
        description="eventlens Kafka clients and MSK brokers",
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(
                protocol="tcp", from_port=KAFKA_IAM_PORT, to_port=KAFKA_IAM_PORT, self=True
            )
        ],
        egress=[
            aws.ec2.SecurityGroupEgressArgs(protocol="-1", from_port=0, to_port=0, cidr_blocks=["0.0.0.0/0"])
        ],
    )
    groups: list[pulumi.Input[str]] = [group.id]
    return Network(subnets, groups)
