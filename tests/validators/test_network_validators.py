"""SecurityGroupsValidator, SecurityGroupsAndSubnetValidator and LambdaFunctionsVpcConfigValidator."""

from __future__ import annotations

from pcimage.engine import Finding, Level
from pcimage.validators.networking import (
    LambdaFunctionsVpcConfigValidator,
    SecurityGroupsAndSubnetValidator,
    SecurityGroupsValidator,
)

GROUPS_PATH = ("Build", "SecurityGroupIds")
LAMBDA_PATH = ("DeploymentSettings", "LambdaFunctionsVpcConfig")


def run(validator, config, context):
    return list(validator.validate(config, context))


def lambda_config(make_config, groups, subnets):
    return make_config(DeploymentSettings={"LambdaFunctionsVpcConfig": {"SecurityGroupIds": groups, "SubnetIds": subnets}})


def test_existing_security_groups_accepted(make_config, context, world):
    config = make_config({"SecurityGroupIds": [world["SECURITY_GROUP_ID"], world["OTHER_VPC_SECURITY_GROUP_ID"]]})

    assert run(SecurityGroupsValidator(), config, context) == []


def test_each_missing_group_reported(make_config, context, world):
    config = make_config({"SecurityGroupIds": ["sg-12345678", world["SECURITY_GROUP_ID"], "sg-0123456789abcdef0"]})

    findings = run(SecurityGroupsValidator(), config, context)

    assert findings == [
        Finding(Level.ERROR, "The security group '{'sg-12345678'}' does not exist", (*GROUPS_PATH, 0)),
        Finding(Level.ERROR, "The security group '{'sg-0123456789abcdef0'}' does not exist", (*GROUPS_PATH, 2)),
    ]


def test_subnet_needs_security_groups(make_config, context, world):
    for groups in (None, []):
        build = {"SubnetId": world["SUBNET_ID"]}
        if groups is not None:
            build["SecurityGroupIds"] = groups

        findings = run(SecurityGroupsAndSubnetValidator(), make_config(build), context)

        assert findings == [
            Finding(
                Level.ERROR,
                f"Subnet id {world['SUBNET_ID']} is specified, security groups is required.",
                ("Build", "SubnetId"),
            )
        ], groups


def test_subnet_with_security_groups_accepted(make_config, context, world):
    config = make_config({"SubnetId": world["SUBNET_ID"], "SecurityGroupIds": [world["SECURITY_GROUP_ID"]]})

    assert run(SecurityGroupsAndSubnetValidator(), config, context) == []
    assert run(SecurityGroupsAndSubnetValidator(), make_config({"SecurityGroupIds": ["sg-12345678"]}), context) == []


def test_lambda_in_one_vpc_accepted(make_config, context, world):
    config = lambda_config(make_config, [world["OTHER_VPC_SECURITY_GROUP_ID"]], [world["OTHER_VPC_SUBNET_ID"]])

    assert run(LambdaFunctionsVpcConfigValidator(), config, context) == []


def test_lambda_groups_across_vpcs_rejected(make_config, context, world):
    config = lambda_config(
        make_config,
        [world["SECURITY_GROUP_ID"], world["OTHER_VPC_SECURITY_GROUP_ID"]],
        [world["OTHER_VPC_SUBNET_ID"]],
    )

    findings = run(LambdaFunctionsVpcConfigValidator(), config, context)

    assert findings == [
        Finding(
            Level.ERROR,
            "The security groups associated to the Lambda are required to be in the same VPC.",
            (*LAMBDA_PATH, "SecurityGroupIds"),
        ),
        Finding(
            Level.ERROR,
            "The security groups and subnets associated to the Lambda are required to be in the same VPC.",
            LAMBDA_PATH,
        ),
    ]


def test_lambda_subnets_across_vpcs_rejected(make_config, context, world):
    config = lambda_config(make_config, [world["SECURITY_GROUP_ID"]], [world["SUBNET_ID"], world["OTHER_VPC_SUBNET_ID"]])

    messages = [finding.message for finding in run(LambdaFunctionsVpcConfigValidator(), config, context)]

    assert messages == [
        "The subnets associated to the Lambda are required to be in the same VPC.",
        "The security groups and subnets associated to the Lambda are required to be in the same VPC.",
    ]


def test_lambda_missing_subnet_reports_ec2_text(make_config, context, world):
    config = lambda_config(make_config, [world["SECURITY_GROUP_ID"]], ["subnet-12345678"])

    findings = run(LambdaFunctionsVpcConfigValidator(), config, context)

    assert findings == [Finding(Level.ERROR, "The subnet ID 'subnet-12345678' does not exist", LAMBDA_PATH)]


def test_lambda_ids_missing_from_response_listed(make_config, stubbed_aws):
    ec2 = stubbed_aws.aws.stub("ec2")
    ec2.add_response("describe_security_groups", {"SecurityGroups": [{"GroupId": "sg-11111111", "VpcId": "vpc-1"}]})
    ec2.add_response("describe_subnets", {"Subnets": []})
    config = lambda_config(make_config, ["sg-11111111", "sg-33333333", "sg-22222222"], ["subnet-22222222"])

    findings = run(LambdaFunctionsVpcConfigValidator(), config, stubbed_aws)

    assert [finding.message for finding in findings] == [
        "Some security groups associated to the Lambda are not present in the account: ['sg-22222222', 'sg-33333333'].",
        "Some subnets associated to the Lambda are not present in the account: ['subnet-22222222'].",
        "The security groups and subnets associated to the Lambda are required to be in the same VPC.",
    ]


def test_security_group_described_once(make_config, context, world):
    calls = []
    context.aws.client("ec2").meta.events.register(
        "provide-client-params.ec2.DescribeSecurityGroups", lambda **kwargs: calls.append(kwargs["params"])
    )
    group = world["OTHER_VPC_SECURITY_GROUP_ID"]
    config = lambda_config(make_config, [group], [world["OTHER_VPC_SUBNET_ID"]])
    config["Build"]["SecurityGroupIds"] = [group]

    run(SecurityGroupsValidator(), config, context)
    run(LambdaFunctionsVpcConfigValidator(), config, context)

    assert calls == [{"GroupIds": [group]}]


def test_network_validators_silent_by_default(make_config, context):
    for validator in (SecurityGroupsValidator(), SecurityGroupsAndSubnetValidator(), LambdaFunctionsVpcConfigValidator()):
        assert run(validator, make_config(), context) == [], validator.type
