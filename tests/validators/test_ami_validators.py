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
        "provide-client-params.ec2.DescribeImages", lambda **kwargs: calls.append(kwargs["params"])
    )

    compatibility(config, context)
    list(AMIVolumeSizeValidator().validate(config, context))

    assert len(calls) == 1


def stub_image(context, ami_id, **image):
    record = {"ImageId": ami_id, "Architecture": "x86_64", **image}
    context.aws.stub("ec2").add_response("describe_images", {"Images": [record]}, {"ImageIds": [ami_id]})


def test_volume_checked_against_larger_ami(make_config, stubbed_aws):
    root = [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 50}}]
    stub_image(stubbed_aws, "ami-0aaaaaaaaaaaaaaaa", BlockDeviceMappings=root)
    small = make_config({"ParentImage": "ami-0aaaaaaaaaaaaaaaa"}, Image={"RootVolume": {"Size": 25}})
    large = make_config({"ParentImage": "ami-0aaaaaaaaaaaaaaaa"}, Image={"RootVolume": {"Size": 50}})

    small_findings = list(AMIVolumeSizeValidator().validate(small, stubbed_aws))
    large_findings = list(AMIVolumeSizeValidator().validate(large, stubbed_aws))

    assert [finding.message for finding in small_findings] == [
        "Root volume size 25 GB is less than the minimum required size 50 GB that equals parent ami volume size."
    ]
    assert large_findings == []


def test_ami_without_block_devices_reports_exception(make_config, stubbed_aws):
    stub_image(stubbed_aws, "ami-0bbbbbbbbbbbbbbbb")
    config = make_config({"ParentImage": "ami-0bbbbbbbbbbbbbbbb"}, Image={"RootVolume": {"Size": 25}})

    findings = list(AMIVolumeSizeValidator().validate(config, stubbed_aws))

    # ParallelCluster indexes the missing mapping list and reports the TypeError's text.
    assert findings == [Finding(Level.ERROR, "'NoneType' object is not subscriptable", SIZE_PATH)]


def test_image_builder_arn_resolved_to_ami(make_config, stubbed_aws):
    arn = "arn:aws:imagebuilder:us-east-1:123456789012:image/my-image/1.0.0/1"
    stubbed_aws.aws.stub("imagebuilder").add_response(
        "get_image",
        {"image": {"outputResources": {"amis": [{"image": "ami-0cccccccccccccccc"}]}}},
        {"imageBuildVersionArn": arn},
    )
    root = [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 30}}]
    stub_image(stubbed_aws, "ami-0cccccccccccccccc", BlockDeviceMappings=root)
    config = make_config({"ParentImage": arn}, Image={"RootVolume": {"Size": 20}})

    findings = list(AMIVolumeSizeValidator().validate(config, stubbed_aws))

    assert [finding.message for finding in findings] == [
        "Root volume size 20 GB is less than the minimum required size 30 GB that equals parent ami volume size."
    ]


def test_image_builder_image_without_ami_is_invalid(make_config, stubbed_aws):
    arn = "arn:aws:imagebuilder:us-east-1:123456789012:image/pending/1.0.0/1"
    stubbed_aws.aws.stub("imagebuilder").add_response(
        "get_image", {"image": {"outputResources": {"amis": []}}}, {"imageBuildVersionArn": arn}
    )
    stubbed_aws.aws.stub("ec2").add_response(
        "describe_instance_type_offerings", {"InstanceTypeOfferings": [{"InstanceType": "c5.xlarge"}]}
    )
    stubbed_aws.aws.stub("ec2").add_response(
        "describe_instance_types",
        {"InstanceTypes": [{"InstanceType": "c5.xlarge", "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]}}]},
    )

    findings = compatibility(make_config({"ParentImage": arn}), stubbed_aws)

    # The AMI id is None, which botocore rejects before sending; that counts as an invalid image.
    assert findings == [Finding(Level.ERROR, f"Invalid image '{arn}'.", PARENT_IMAGE_PATH)]


def test_offering_failure_replaces_other_messages(make_config, stubbed_aws):
    stubbed_aws.aws.stub("ec2").add_client_error(
        "describe_images", "InvalidAMIID.NotFound", "The image id '[ami-12345678]' does not exist"
    )
    stubbed_aws.aws.stub("ec2").add_client_error(
        "describe_instance_type_offerings", "RequestLimitExceeded", "Request limit exceeded."
    )

    findings = compatibility(make_config({"ParentImage": "ami-12345678"}), stubbed_aws)

    # "Invalid image" was found first, but ParallelCluster keeps only the uncaught error's text.
    assert findings == [Finding(Level.ERROR, "Request limit exceeded.", INSTANCE_TYPE_PATH)]


def test_i386_architecture_left_out(make_config, stubbed_aws):
    stub_image(stubbed_aws, "ami-0dddddddddddddddd", Architecture="arm64")
    stubbed_aws.aws.stub("ec2").add_response(
        "describe_instance_type_offerings", {"InstanceTypeOfferings": [{"InstanceType": "t2.micro"}]}
    )
    stubbed_aws.aws.stub("ec2").add_response(
        "describe_instance_types",
        {"InstanceTypes": [{"InstanceType": "t2.micro", "ProcessorInfo": {"SupportedArchitectures": ["i386", "x86_64"]}}]},
    )

    findings = compatibility(make_config({"InstanceType": "t2.micro", "ParentImage": "ami-0dddddddddddddddd"}), stubbed_aws)

    assert len(findings) == 1
    assert "instance type t2.micro chosen (['x86_64'])" in findings[0].message
