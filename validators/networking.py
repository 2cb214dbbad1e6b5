"""Checks of the security groups and subnets used by the build instance and the cleanup Lambda."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pcimage.engine import Finding, Level, ValidationContext

from .awscalls import AwsCallError, describe_security_groups, describe_subnets
from .base import dig, run_isolated

SECURITY_GROUP_IDS_PATH = ("Build", "SecurityGroupIds")
SUBNET_ID_PATH = ("Build", "SubnetId")
LAMBDA_VPC_PATH = ("DeploymentSettings", "LambdaFunctionsVpcConfig")


class SecurityGroupsValidator:
    """Checks with EC2 DescribeSecurityGroups that each `Build.SecurityGroupIds` entry exists.

    Each failing group gets its own ERROR with the EC2 text.
    """

    type = "SecurityGroupsValidator"
    needs_aws = True

    def validate(self, config: Mapping[str, Any], context: ValidationContext) -> list[Finding]:
        group_ids = dig(config, "Build", "SecurityGroupIds") or []

        def check() -> Iterator[Finding]:
            for index, group_id in enumerate(group_ids):
                try:
                    # An empty response raises IndexError, which ends the whole check as in ParallelCluster.
                    describe_security_groups(context, [group_id])[0]
                except AwsCallError as error:
                    yield Finding(Level.ERROR, str(error), (*SECURITY_GROUP_IDS_PATH, index))

        return run_isolated(check, SECURITY_GROUP_IDS_PATH, self.type)


class SecurityGroupsAndSubnetValidator:
    """Rejects a `Build.SubnetId` given without any `Build.SecurityGroupIds`."""

    type = "SecurityGroupsAndSubnetValidator"
    needs_aws = False

    def validate(self, config: Mapping[str, Any], context: ValidationContext) -> Iterator[Finding]:
        subnet_id = dig(config, "Build", "SubnetId")
        if subnet_id and not dig(config, "Build", "SecurityGroupIds"):
            yield Finding(
                Level.ERROR,
                f"Subnet id {subnet_id} is specified, security groups is required.",
                SUBNET_ID_PATH,
            )


class LambdaFunctionsVpcConfigValidator:
    """Checks that the cleanup Lambda's security groups and subnets exist and share one VPC.

    EC2 rejects a request that names a missing group or subnet, and that error text becomes the
    only message, as in ParallelCluster. The "not present" messages remain for an EC2 that
    leaves missing ids out of its response instead.
    """

    type = "LambdaFunctionsVpcConfigValidator"
    needs_aws = True

    def validate(self, config: Mapping[str, Any], context: ValidationContext) -> list[Finding]:
        vpc_config = dig(config, "DeploymentSettings", "LambdaFunctionsVpcConfig")
        if vpc_config is None:
            return []
        group_ids = vpc_config.get("SecurityGroupIds") or []
        subnet_ids = vpc_config.get("SubnetIds") or []

        def check() -> Iterator[Finding]:
            groups = describe_security_groups(context, group_ids)
            subnets = describe_subnets(context, subnet_ids)

            missing_groups = set(group_ids) - {group["GroupId"] for group in groups}
            if missing_groups:
                yield Finding(
                    Level.ERROR,
                    "Some security groups associated to the Lambda are not present "
                    f"in the account: {sorted(missing_groups)}.",
                    (*LAMBDA_VPC_PATH, "SecurityGroupIds"),
                )
            missing_subnets = set(subnet_ids) - {subnet["SubnetId"] for subnet in subnets}
            if missing_subnets:
                yield Finding(
                    Level.ERROR,
                    f"Some subnets associated to the Lambda are not present in the account: {sorted(missing_subnets)}.",
                    (*LAMBDA_VPC_PATH, "SubnetIds"),
                )

            group_vpcs = {group["VpcId"] for group in groups}
            subnet_vpcs = {subnet["VpcId"] for subnet in subnets}
            if len(group_vpcs) > 1:
                yield Finding(
                    Level.ERROR,
                    "The security groups associated to the Lambda are required to be in the same VPC.",
                    (*LAMBDA_VPC_PATH, "SecurityGroupIds"),
                )
            if len(subnet_vpcs) > 1:
                yield Finding(
                    Level.ERROR,
                    "The subnets associated to the Lambda are required to be in the same VPC.",
                    (*LAMBDA_VPC_PATH, "SubnetIds"),
                )
            if group_vpcs != subnet_vpcs:
                yield Finding(
                    Level.ERROR,
                    "The security groups and subnets associated to the Lambda are required to be in the same VPC.",
                    LAMBDA_VPC_PATH,
                )

        return run_isolated(check, LAMBDA_VPC_PATH, self.type)
