"""InstanceTypeBaseAMICompatibleValidator and AMIVolumeSizeValidator against the seeded account."""

from __future__ import annotations

from pcimage.engine import Finding, Level
from pcimage.validators.ec2 import InstanceTypeBaseAMICompatibleValidator
from pcimage.validators.imagebuilder import AMIVolumeSizeValidator

INSTANCE_TYPE_PATH = ("Build", "InstanceType")
PARENT_IMAGE_PATH = ("Build", "ParentImage")
SIZE_PATH = ("Image", "RootVolume", "Size")

NVIDIA_OPENRM_TEXT = (
    "The instance type '{0}' is not supported by NVIDIA OpenRM drivers. "
    "OpenRM can only be used on any Turing or later GPU architectures. "
    "Please consider building a custom AMI with closed source NVIDIA drivers "
    "and then suppress this validator or using a different instance type."
)


def compatibility(config, context):
    return list(InstanceTypeBaseAMICompatibleValidator().validate(config, context))


def test_matching_instance_and_ami_accepted(make_config, context, world):
    assert compatibility(make_config(), context) == []
    arm = make_config({"InstanceType": "m6g.xlarge", "ParentImage": world["PARENT_AMI_ARM"]})
    assert compatibility(arm, context) == []


def test_arm_instance_on_x86_ami_rejected(make_config, context, world):
    findings = compatibility(make_config({"InstanceType": "m6g.xlarge"}), context)

    assert findings == [
        Finding(
            Level.ERROR,
            f"AMI {world['PARENT_AMI_X86']}'s architecture (x86_64) is incompatible with the architecture "
            "supported by the instance type m6g.xlarge chosen (['arm64']). "
            "Use either a different AMI or a different instance type.",
            INSTANCE_TYPE_PATH,
        )
    ]


def test_x86_instance_on_arm_ami_rejected(make_config, context, world):
    findings = compatibility(make_config({"ParentImage": world["PARENT_AMI_ARM"]}), context)

    assert len(findings) == 1
    assert "architecture (arm64)" in findings[0].message
    assert "instance type c5.xlarge chosen (['x86_64'])" in findings[0].message


def test_missing_ami_reported_as_invalid_image(make_config, context):
    findings = compatibility(make_config({"ParentImage": "ami-12345678", "InstanceType": "m6g.xlarge"}), context)

    # Without an image there is nothing to compare, so no architecture message follows.
    assert findings == [Finding(Level.ERROR, "Invalid image 'ami-12345678'.", PARENT_IMAGE_PATH)]


def test_unoffered_instance_type_rejected(make_config, context):
    findings = compatibility(make_config({"InstanceType": "x9.large"}), context)

    assert findings == [Finding(Level.ERROR, "The instance type 'x9.large' is not supported.", INSTANCE_TYPE_PATH)]


def test_missing_ami_and_unoffered_type_both_reported(make_config, context):
    findings = compatibility(make_config({"ParentImage": "ami-12345678", "InstanceType": "x9.large"}), context)

    assert [finding.message for finding in findings] == [
        "Invalid image 'ami-12345678'.",
        "The instance type 'x9.large' is not supported.",
    ]


def test_old_gpu_on_official_ami_rejected(make_config, context, official_ami):
    findings = compatibility(make_config({"InstanceType": "p3dn.24xlarge", "ParentImage": official_ami}), context)

    assert findings == [Finding(Level.ERROR, NVIDIA_OPENRM_TEXT.format("p3dn.24xlarge"), INSTANCE_TYPE_PATH)]


def test_old_gpu_check_independent_of_offering(make_config, context, official_ami):
    # The local account does not offer p3.2xlarge, and ParallelCluster still runs the NVIDIA check.
    findings = compatibility(make_config({"InstanceType": "p3.2xlarge", "ParentImage": official_ami}), context)

    assert findings == [
        Finding(Level.ERROR, "The instance type 'p3.2xlarge' is not supported.", INSTANCE_TYPE_PATH),
        Finding(Level.ERROR, NVIDIA_OPENRM_TEXT.format("p3.2xlarge"), INSTANCE_TYPE_PATH),
    ]


def test_old_gpu_on_custom_ami_accepted(make_config, context):
    # The moto x86 AMI's description is "Amazon Linux 2 AMI ...", not an official ParallelCluster one.
    assert compatibility(make_config({"InstanceType": "p3dn.24xlarge"}), context) == []


def test_newer_gpu_on_official_ami_accepted(make_config, context, official_ami):
    assert compatibility(make_config({"InstanceType": "c5.xlarge", "ParentImage": official_ami}), context) == []


def test_image_builder_arn_failure_is_invalid_image(make_config, context):
    arn = "arn:aws:imagebuilder:us-east-1:123456789012:image/my-image/1.0.0/1"

    findings = compatibility(make_config({"ParentImage": arn}), context)

    assert findings == [Finding(Level.ERROR, f"Invalid image '{arn}'.", PARENT_IMAGE_PATH)]


def volume_size(make_config, size, **build):
    return make_config(build, Image={"RootVolume": {"Size": size, "Encrypted": False}})


def test_volume_smaller_than_ami_rejected(make_config, context):
    findings = list(AMIVolumeSizeValidator().validate(volume_size(make_config, 5), context))

    assert findings == [
        Finding(
            Level.ERROR,
            "Root volume size 5 GB is less than the minimum required size 15 GB that equals parent ami volume size.",
            SIZE_PATH,
        )
    ]


def test_volume_at_least_ami_size_accepted(make_config, context):
    for size in (15, 16, 200):
        assert list(AMIVolumeSizeValidator().validate(volume_size(make_config, size), context)) == [], size


def test_volume_size_unset_or_zero_skipped(make_config, context):
    # A zero size is treated as unset, so even a missing AMI gives no message.
    assert list(AMIVolumeSizeValidator().validate(make_config({"ParentImage": "ami-12345678"}), context)) == []
    zero = volume_size(make_config, 0, ParentImage="ami-12345678")
    assert list(AMIVolumeSizeValidator().validate(zero, context)) == []


def test_volume_check_on_missing_ami_reports_aws_text(make_config, context):
    config = volume_size(make_config, 60, ParentImage="ami-12345678")

    findings = list(AMIVolumeSizeValidator().validate(config, context))

    assert findings == [Finding(Level.ERROR, "The image id '[ami-12345678]' does not exist", SIZE_PATH)]


def test_negative_volume_size_compared_too(make_config, context):
    findings = list(AMIVolumeSizeValidator().validate(volume_size(make_config, -5), context))

    assert [finding.message for finding in findings] == [
        "Root volume size -5 GB is less than the minimum required size 15 GB that equals parent ami volume size."
    ]


def test_parent_ami_described_once(make_config, context):
    config = volume_size(make_config, 5)
    calls = []
    context.aws.client("ec2").meta.events.register(
        "before-call.ec2.DescribeImages", lambda **kwargs: calls.append(kwargs["params"])
    )

    compatibility(config, context)
    list(AMIVolumeSizeValidator().validate(config, context))

    assert len(calls) == 1
