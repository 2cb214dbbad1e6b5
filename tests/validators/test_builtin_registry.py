"""The built-in plugin: its run order, flags, entry point, and behaviour inside validate_config."""

from __future__ import annotations

import pytest

from pcimage.api_adapter.aws import AwsAccess
from pcimage.engine import ValidationContext, Validator, collect_validators, create_plugin_manager, validate_config
from pcimage.validators import builtin

RUN_ORDER = [
    "KmsKeyIdEncryptedValidator",
    "KmsKeyValidator",
    "AdditionalIamPolicyValidator",
    "InstanceProfileValidator",
    "RoleValidator",
    "IamPolicyValidator",
    "InstanceTypeBaseAMICompatibleValidator",
    "InstanceTypeSoftwareValidator",
    "ComponentsValidator",
    "SecurityGroupsValidator",
    "SecurityGroupsAndSubnetValidator",
    "ExtraChefAttributesValidator",
    "CliAttributeOverridesValidator",
    "LambdaFunctionsVpcConfigValidator",
    "EbsVolumeTypeSizeValidator",
    "AMIVolumeSizeValidator",
    "S3BucketValidator",
    "S3BucketRegionValidator",
    "UrlValidator",
]

OFFLINE_TYPES = {
    "KmsKeyIdEncryptedValidator",
    "ComponentsValidator",
    "SecurityGroupsAndSubnetValidator",
    "ExtraChefAttributesValidator",
    "CliAttributeOverridesValidator",
    "EbsVolumeTypeSizeValidator",
    # Offline it checks only the URL's form; the fetch is skipped inside the validator.
    "UrlValidator",
}


def test_builtin_list_in_run_order():
    validators = builtin.pcimage_validators()

    assert [validator.type for validator in validators] == RUN_ORDER
    for validator in validators:
        assert isinstance(validator, Validator), validator.type
        assert validator.needs_aws is (validator.type not in OFFLINE_TYPES), validator.type


def test_entry_point_registers_builtins_first():
    manager = create_plugin_manager()

    assert [validator.type for validator in collect_validators(manager)][: len(RUN_ORDER)] == RUN_ORDER


@pytest.fixture
def failing_config(render_config):
    return render_config(
        """\
Image:
  RootVolume:
    Size: 5
    KmsKeyId: ${KMS_KEY_ID}
Build:
  InstanceType: m6g.xlarge
  ParentImage: ${PARENT_AMI_X86}
  SubnetId: ${SUBNET_ID}
  Iam:
    InstanceRole: arn:aws:iam::${ACCOUNT_ID}:role/no-such-role
    CleanupLambdaRole: arn:aws:iam::${ACCOUNT_ID}:role/no-such-cleanup-role
"""
    )


def aws_context(world, **options):
    return ValidationContext(region=world["REGION"], aws=AwsAccess(world["REGION"]), **options)


def test_findings_located_in_source(failing_config, world):
    report = validate_config(failing_config, context=aws_context(world), failure_level="INFO")

    located = [(message.type, message.dotted_path, message.line) for message in report.messages]
    assert located == [
        ("KmsKeyIdEncryptedValidator", "Image.RootVolume.KmsKeyId", 4),
        ("RoleValidator", "Build.Iam.InstanceRole", 10),
        ("RoleValidator", "Build.Iam.CleanupLambdaRole", 11),
        ("InstanceTypeBaseAMICompatibleValidator", "Build.InstanceType", 6),
        ("SecurityGroupsAndSubnetValidator", "Build.SubnetId", 8),
        ("AMIVolumeSizeValidator", "Image.RootVolume.Size", 3),
    ]


def test_type_suppression_covers_both_roles(failing_config, world):
    report = validate_config(
        failing_config,
        context=aws_context(world),
        suppress=["type:RoleValidator", "type:AMIVolumeSizeValidator"],
        failure_level="INFO",
    )

    assert [message.type for message in report.messages] == [
        "KmsKeyIdEncryptedValidator",
        "InstanceTypeBaseAMICompatibleValidator",
        "SecurityGroupsAndSubnetValidator",
    ]


def test_offline_run_keeps_local_checks(failing_config):
    report = validate_config(failing_config, context=ValidationContext(region="us-east-1", offline=True))

    assert [message.type for message in report.messages] == [
        "KmsKeyIdEncryptedValidator",
        "SecurityGroupsAndSubnetValidator",
    ]


def test_offline_url_check_keeps_form_errors():
    text = (
        "Build:\n  InstanceType: c5.xlarge\n  ParentImage: ami-12345678\n"
        "DevSettings:\n  NodePackage: ftp://example/node.tgz\n  Cookbook:\n    ChefCookbook: s3://missing-object-is-not-checked/x.tgz\n"
    )

    report = validate_config(text, context=ValidationContext(offline=True), failure_level="INFO")

    assert [(m.type, m.level.name, m.dotted_path) for m in report.messages] == [
        ("UrlValidator", "ERROR", "DevSettings.NodePackage")
    ]
