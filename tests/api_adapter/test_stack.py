"""Tests of the build stack against the local moto server: parent image, stack creation, status.

moto (5.2) accepts AWS::ImageBuilder resources in a template but does not create them, so the
tests read the stack's template back with GetTemplate instead of listing its resources. moto also
completes a stack at once and does not store DisableRollback, so the CreateStack request itself
is captured to check that flag.

The tests share one seeded account (shared_world) and name their stacks and AMI tags after their
own `image_id`, so none of them needs a fresh account.
"""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import pytest
from botocore.stub import Stubber
from ruamel.yaml import YAML

from pcimage.api_adapter.aws import AwsAccess
from pcimage.api_adapter.errors import BadRequestError
from pcimage.api_adapter.stack import (
    create_image_stack,
    describe_parent_image,
    find_available_image,
    image_build_status,
    image_summary,
    stack_exists,
)
from pcimage.api_adapter.template import ParentImageInfo

VERSION = "3.16.1"
IMAGE_BUILDER_ARN = "arn:aws:imagebuilder:us-east-1:aws:image/amazon-linux-2-x86/x.x.x"

MINIMAL_CONFIG = """\
Build:
  InstanceType: c5.xlarge
  ParentImage: ${PARENT_AMI_X86}
"""

RICH_CONFIG = """\
Image:
  Name: rich image
  Tags:
    - Key: team
      Value: hpc
  RootVolume:
    Size: 60
    Encrypted: true
    KmsKeyId: ${KMS_KEY_ID}
Build:
  InstanceType: c5.xlarge
  ParentImage: ${PARENT_AMI_X86}
  SubnetId: ${SUBNET_ID}
  SecurityGroupIds:
    - ${SECURITY_GROUP_ID}
  Iam:
    PermissionsBoundary: ${PERMISSIONS_BOUNDARY_ARN}
  Components:
    - Type: script
      Value: ${SCRIPT_S3_URL}
  UpdateOsPackages:
    Enabled: true
  Imds:
    ImdsSupport: v1.0
  Tags:
    - Key: cost-center
      Value: "42"
DevSettings:
  DistributionConfiguration:
    Regions: us-east-1,eu-west-1
    LaunchPermission: '{"UserIds": ["${ACCOUNT_ID}"]}'
"""

INSTANCE_ROLE_CONFIG = """\
Build:
  InstanceType: c5.xlarge
  ParentImage: ${PARENT_AMI_X86}
  Iam:
    InstanceRole: ${INSTANCE_ROLE_ARN}
"""


@pytest.fixture
def aws(shared_world):
    return AwsAccess(shared_world["REGION"])


@pytest.fixture
def load_config(render_shared):
    """Return a function that fills a config text's placeholders and loads it as a mapping."""
    return lambda text: YAML(typ="safe").load(render_shared(text))


@pytest.fixture
def create_stack_requests(aws):
    """Record the parameters of every CreateStack request the `aws` clients send."""
    requests: list[dict[str, Any]] = []

    def record(params, **kwargs):
        requests.append(dict(params))

    aws.client("cloudformation").meta.events.register("provide-client-params.cloudformation.CreateStack", record)
    return requests


def template_of(aws: AwsAccess, stack_name: str) -> dict[str, Any]:
    return aws.client("cloudformation").get_template(StackName=stack_name)["TemplateBody"]


def register_image(aws: AwsAccess, tags: dict[str, str]) -> str:
    ec2 = aws.client("ec2")
    ami_id = ec2.register_image(
        Name="built-image",
        RootDeviceName="/dev/xvda",
        BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}],
    )["ImageId"]
    ec2.create_tags(Resources=[ami_id], Tags=[{"Key": key, "Value": value} for key, value in tags.items()])
    return ami_id


# -- Parent image ------------------------------------------------------------------------------- #


def test_parent_image_from_ami_id(aws, shared_world):
    parent = describe_parent_image(aws, shared_world["PARENT_AMI_X86"])

    assert parent == ParentImageInfo(
        ami_id=shared_world["PARENT_AMI_X86"],
        root_device_name="/dev/xvda",
        root_volume_size=15,
        architecture="x86_64",
        description=parent.description,
    )


def test_parent_image_arm(aws, shared_world):
    parent = describe_parent_image(aws, shared_world["PARENT_AMI_ARM"])

    assert parent.architecture == "arm64"
    assert parent.root_volume_size == 15


def test_parent_image_from_arn(aws, shared_world):
    amis = [
        {"region": "eu-west-1", "image": "ami-0aaaaaaaaaaaaaaaa"},
        {"region": shared_world["REGION"], "image": shared_world["PARENT_AMI_X86"]},
    ]
    with Stubber(aws.client("imagebuilder")) as stubber:
        stubber.add_response(
            "get_image",
            {"image": {"outputResources": {"amis": amis}}},
            {"imageBuildVersionArn": IMAGE_BUILDER_ARN},
        )

        parent = describe_parent_image(aws, IMAGE_BUILDER_ARN)

    assert parent.ami_id == shared_world["PARENT_AMI_X86"]
    assert parent.root_device_name == "/dev/xvda"


def test_parent_image_arn_without_ami(aws):
    with Stubber(aws.client("imagebuilder")) as stubber:
        stubber.add_response("get_image", {"image": {"outputResources": {"amis": []}}})

        with pytest.raises(BadRequestError) as raised:
            describe_parent_image(aws, IMAGE_BUILDER_ARN)

    assert "has no AMI" in raised.value.message


def test_parent_image_missing_ami_propagates(aws):
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        describe_parent_image(aws, "ami-0123456789abcdef0")

    assert raised.value.response["Error"]["Code"] == "InvalidAMIID.NotFound"


# -- Stack creation ----------------------------------------------------------------------------- #


def test_create_stack_minimal(aws, load_config, create_stack_requests, image_id):
    stack = create_image_stack(aws, image_id, load_config(MINIMAL_CONFIG), rollback_on_failure=False, version=VERSION)

    assert stack["StackName"] == image_id
    template = template_of(aws, image_id)
    types = sorted(resource["Type"] for resource in template["Resources"].values())
    assert types == [
        "AWS::IAM::InstanceProfile",
        "AWS::IAM::Role",
        "AWS::ImageBuilder::Component",
        "AWS::ImageBuilder::Component",
        "AWS::ImageBuilder::DistributionConfiguration",
        "AWS::ImageBuilder::Image",
        "AWS::ImageBuilder::ImageRecipe",
        "AWS::ImageBuilder::InfrastructureConfiguration",
    ]
    recipe = template["Resources"]["ImageRecipe"]["Properties"]
    assert recipe["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"] == 15 + 37


def test_create_stack_request(aws, shared_world, load_config, create_stack_requests, image_id):
    create_image_stack(aws, image_id, load_config(MINIMAL_CONFIG), rollback_on_failure=False, version=VERSION)

    assert len(create_stack_requests) == 1
    request = create_stack_requests[0]
    assert request["StackName"] == image_id
    assert "TemplateBody" in request
    assert "TemplateURL" not in request
    assert request["Capabilities"] == ["CAPABILITY_NAMED_IAM"]
    assert request["DisableRollback"] is True
    assert "OnFailure" not in request
    assert "Parameters" not in request


@pytest.mark.parametrize(("rollback_on_failure", "disable_rollback"), [(True, False), (False, True)])
def test_create_stack_rollback_flag(
    aws, load_config, create_stack_requests, image_id, rollback_on_failure, disable_rollback
):
    create_image_stack(
        aws, image_id, load_config(MINIMAL_CONFIG), rollback_on_failure=rollback_on_failure, version=VERSION
    )

    assert create_stack_requests[0]["DisableRollback"] is disable_rollback


def test_create_stack_tags(aws, shared_world, load_config, image_id):
    stack = create_image_stack(aws, image_id, load_config(RICH_CONFIG), rollback_on_failure=False, version=VERSION)

    assert stack["Tags"] == [
        {"Key": "cost-center", "Value": "42"},
        {"Key": "parallelcluster:image_name", "Value": "rich image"},
        {"Key": "parallelcluster:version", "Value": VERSION},
        {"Key": "parallelcluster:image_id", "Value": image_id},
        {
            "Key": "parallelcluster:build_log",
            "Value": f"arn:aws:logs:{shared_world['REGION']}:{shared_world['ACCOUNT_ID']}:log-group:"
            f"/aws/imagebuilder/ParallelClusterImage-{image_id}",
        },
    ]


def test_stack_tags_keep_image_id(aws, load_config, image_id):
    config = load_config(MINIMAL_CONFIG + "  Tags:\n    - Key: parallelcluster:image_id\n      Value: other\n")

    stack = create_image_stack(aws, image_id, config, rollback_on_failure=False, version=VERSION)

    image_id_tags = [tag for tag in stack["Tags"] if tag["Key"] == "parallelcluster:image_id"]
    assert image_id_tags == [{"Key": "parallelcluster:image_id", "Value": image_id}]


def test_create_stack_rich_template(aws, shared_world, load_config, image_id):
    create_image_stack(aws, image_id, load_config(RICH_CONFIG), rollback_on_failure=True, version=VERSION)

    resources = template_of(aws, image_id)["Resources"]
    assert resources["InstanceRole"]["Properties"]["PermissionsBoundary"] == shared_world["PERMISSIONS_BOUNDARY_ARN"]
    assert {"UpdateOSComponent", "ScriptComponent0", "ParallelClusterComponent"} <= set(resources)
    infrastructure = resources["InfrastructureConfiguration"]["Properties"]
    assert infrastructure["SubnetId"] == shared_world["SUBNET_ID"]
    assert infrastructure["SecurityGroupIds"] == [shared_world["SECURITY_GROUP_ID"]]
    assert infrastructure["InstanceMetadataOptions"] == {"HttpTokens": "optional"}
    ebs = resources["ImageRecipe"]["Properties"]["BlockDeviceMappings"][0]["Ebs"]
    assert ebs == {"VolumeSize": 60, "VolumeType": "gp3", "Encrypted": True, "KmsKeyId": shared_world["KMS_KEY_ID"]}
    distributions = resources["DistributionConfiguration"]["Properties"]["Distributions"]
    assert [d["Region"] for d in distributions] == ["us-east-1", "eu-west-1"]
    launch = distributions[0]["AmiDistributionConfiguration"]["LaunchPermissionConfiguration"]
    assert launch == {"UserIds": [shared_world["ACCOUNT_ID"]]}


def test_create_stack_with_instance_role(aws, shared_world, load_config, image_id):
    create_image_stack(aws, image_id, load_config(INSTANCE_ROLE_CONFIG), rollback_on_failure=False, version=VERSION)

    resources = template_of(aws, image_id)["Resources"]
    assert "InstanceRole" not in resources
    assert resources["InstanceProfile"]["Properties"]["Roles"] == ["image-build-role"]


def test_create_stack_twice_fails(aws, load_config, image_id):
    config = load_config(MINIMAL_CONFIG)
    create_image_stack(aws, image_id, config, rollback_on_failure=False, version=VERSION)

    with pytest.raises(botocore.exceptions.ClientError) as raised:
        create_image_stack(aws, image_id, config, rollback_on_failure=False, version=VERSION)

    assert raised.value.response["Error"]["Code"] == "AlreadyExistsException"


def test_create_stack_bad_config_creates_nothing(aws, load_config, image_id):
    config = load_config(MINIMAL_CONFIG + "Image:\n  Name: '!!bad name$'\n")

    with pytest.raises(BadRequestError):
        create_image_stack(aws, image_id, config, rollback_on_failure=False, version=VERSION)

    assert stack_exists(aws, image_id) is False


def test_create_stack_template_too_large(aws, load_config, image_id):
    config = load_config(MINIMAL_CONFIG)
    config["Build"]["Tags"] = [{"Key": f"key-{n:03}", "Value": "v" * 256} for n in range(50)]

    with pytest.raises(BadRequestError) as raised:
        create_image_stack(aws, image_id, config, rollback_on_failure=False, version=VERSION)

    assert "more than the 51200 CloudFormation accepts inline" in raised.value.message
    assert stack_exists(aws, image_id) is False


# -- Existence checks --------------------------------------------------------------------------- #


def test_stack_exists(aws, load_config, image_id):
    assert stack_exists(aws, image_id) is False

    create_image_stack(aws, image_id, load_config(MINIMAL_CONFIG), rollback_on_failure=False, version=VERSION)

    assert stack_exists(aws, image_id) is True


def test_find_available_image_needs_both_tags(aws, image_id):
    register_image(aws, {"parallelcluster:image_id": image_id})
    register_image(aws, {"parallelcluster:image_id": image_id, "parallelcluster:build_status": "pending"})
    assert find_available_image(aws, image_id) is None

    ami_id = register_image(aws, {"parallelcluster:image_id": image_id, "parallelcluster:build_status": "available"})

    assert find_available_image(aws, image_id)["ImageId"] == ami_id
    assert find_available_image(aws, f"{image_id}-other") is None


# -- Status ------------------------------------------------------------------------------------- #


def test_summary_after_create(aws, shared_world, load_config, image_id):
    stack = create_image_stack(aws, image_id, load_config(MINIMAL_CONFIG), rollback_on_failure=False, version=VERSION)

    summary = image_summary(aws, stack, shared_world["REGION"])

    assert summary == {
        "imageId": image_id,
        "imageBuildStatus": "BUILD_IN_PROGRESS",
        "cloudformationStackStatus": stack["StackStatus"],
        "cloudformationStackArn": stack["StackId"],
        "region": shared_world["REGION"],
        "version": VERSION,
    }
    assert stack["StackId"].startswith("arn:aws:cloudformation:")


def test_summary_complete_with_ami(aws, shared_world, load_config, image_id):
    stack = create_image_stack(aws, image_id, load_config(MINIMAL_CONFIG), rollback_on_failure=False, version=VERSION)
    register_image(aws, {"parallelcluster:image_id": image_id, "parallelcluster:build_status": "available"})

    summary = image_summary(aws, {**stack, "StackStatus": "CREATE_COMPLETE"}, shared_world["REGION"])

    assert summary["imageBuildStatus"] == "BUILD_COMPLETE"


def test_summary_of_foreign_stack_rejected():
    stack = {"StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/other/1", "StackStatus": "CREATE_COMPLETE"}

    with pytest.raises(ValueError, match="parallelcluster:image_id"):
        image_summary(None, stack, "us-east-1")


@pytest.mark.parametrize(
    ("stack_status", "image_available", "expected"),
    [
        ("CREATE_IN_PROGRESS", False, "BUILD_IN_PROGRESS"),
        ("UPDATE_IN_PROGRESS", False, "BUILD_IN_PROGRESS"),
        ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", False, "BUILD_IN_PROGRESS"),
        ("UPDATE_ROLLBACK_IN_PROGRESS", False, "BUILD_IN_PROGRESS"),
        ("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", False, "BUILD_IN_PROGRESS"),
        ("CREATE_FAILED", False, "BUILD_FAILED"),
        ("ROLLBACK_IN_PROGRESS", False, "BUILD_FAILED"),
        ("ROLLBACK_FAILED", False, "BUILD_FAILED"),
        ("ROLLBACK_COMPLETE", False, "BUILD_FAILED"),
        ("UPDATE_ROLLBACK_FAILED", False, "BUILD_FAILED"),
        ("UPDATE_ROLLBACK_COMPLETE", False, "BUILD_FAILED"),
        ("CREATE_COMPLETE", False, "BUILD_IN_PROGRESS"),
        ("CREATE_COMPLETE", True, "BUILD_COMPLETE"),
        ("UPDATE_COMPLETE", False, "BUILD_IN_PROGRESS"),
        ("UPDATE_COMPLETE", True, "BUILD_COMPLETE"),
        ("DELETE_IN_PROGRESS", False, "DELETE_IN_PROGRESS"),
        ("DELETE_FAILED", False, "DELETE_FAILED"),
        ("DELETE_COMPLETE", False, "DELETE_COMPLETE"),
        ("REVIEW_IN_PROGRESS", False, "REVIEW_IN_PROGRESS"),
        ("IMPORT_COMPLETE", True, "IMPORT_COMPLETE"),
    ],
)
def test_build_status_table(stack_status, image_available, expected):
    assert image_build_status(stack_status, image_available=image_available) == expected
