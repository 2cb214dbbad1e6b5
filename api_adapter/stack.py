"""The CloudFormation stack that builds an image: create it, find it, and summarize its status.

Every function takes an `aws` object whose `client(service_name)` returns a boto3 client (an
`AwsAccess`). AWS ClientErrors propagate, and the operations layer maps them to HTTP statuses.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import botocore.exceptions

from .aws import error_code
from .errors import BadRequestError
from .template import (
    BUILD_LOG_TAG,
    BUILD_STATUS_TAG,
    IMAGE_ID_TAG,
    IMAGE_NAME_TAG,
    VERSION_TAG,
    ParentImageInfo,
    build_log_group,
    image_name,
    render_template,
)

logger = logging.getLogger(__name__)

# CloudFormation's limit on a CreateStack TemplateBody.
MAX_TEMPLATE_BODY_BYTES = 51200

# ParallelCluster's table from stack status to image build status for build-image, list-images
# and delete-image summaries (`cloud_formation_status_to_image_status`, 3.16.1).
_BUILD_STATUS_BY_STACK_STATUS = {
    "CREATE_IN_PROGRESS": "BUILD_IN_PROGRESS",
    "UPDATE_IN_PROGRESS": "BUILD_IN_PROGRESS",
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS": "BUILD_IN_PROGRESS",
    "UPDATE_ROLLBACK_IN_PROGRESS": "BUILD_IN_PROGRESS",
    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS": "BUILD_IN_PROGRESS",
    "CREATE_FAILED": "BUILD_FAILED",
    "ROLLBACK_IN_PROGRESS": "BUILD_FAILED",
    "ROLLBACK_FAILED": "BUILD_FAILED",
    "ROLLBACK_COMPLETE": "BUILD_FAILED",
    "UPDATE_ROLLBACK_FAILED": "BUILD_FAILED",
    "UPDATE_ROLLBACK_COMPLETE": "BUILD_FAILED",
    "CREATE_COMPLETE": "BUILD_COMPLETE",
    "UPDATE_COMPLETE": "BUILD_COMPLETE",
    "DELETE_IN_PROGRESS": "DELETE_IN_PROGRESS",
    "DELETE_FAILED": "DELETE_FAILED",
    "DELETE_COMPLETE": "DELETE_COMPLETE",
}


def describe_parent_image(aws: Any, parent_image: str) -> ParentImageInfo:
    """Look up Build.ParentImage, an AMI id or an Image Builder image ARN, in EC2.

    An ARN is resolved with Image Builder GetImage to the AMI it produced in this region, or to
    its first AMI when none is in this region. Raises BadRequestError when the image has no AMI
    or no EBS root volume.
    """
    ami_id = parent_image
    if parent_image.startswith("arn"):
        ami_id = _image_builder_ami(aws, parent_image)

    images = aws.client("ec2").describe_images(ImageIds=[ami_id])["Images"]
    if not images:
        raise BadRequestError(f"Build.ParentImage {parent_image!r}: AMI {ami_id} not found in {aws.region}")
    image = images[0]

    mappings = image.get("BlockDeviceMappings") or []
    root_device = image.get("RootDeviceName")
    root_mapping = next((m for m in mappings if m.get("DeviceName") == root_device), None)
    if root_mapping is None and mappings:
        root_mapping = mappings[0]
    if root_mapping is None or "VolumeSize" not in root_mapping.get("Ebs", {}):
        raise BadRequestError(f"Build.ParentImage {parent_image!r}: AMI {ami_id} has no EBS root volume")

    return ParentImageInfo(
        ami_id=ami_id,
        root_device_name=root_mapping["DeviceName"],
        root_volume_size=int(root_mapping["Ebs"]["VolumeSize"]),
        architecture=image.get("Architecture", ""),
        description=image.get("Description") or "",
    )


def _image_builder_ami(aws: Any, image_arn: str) -> str:
    image = aws.client("imagebuilder").get_image(imageBuildVersionArn=image_arn).get("image", {})
    amis = image.get("outputResources", {}).get("amis") or []
    if not amis:
        raise BadRequestError(
            f"Build.ParentImage {image_arn!r}: the Image Builder image has no AMI, so choose an image whose build completed"
        )
    in_region = next((ami for ami in amis if ami.get("region") == aws.region), amis[0])
    return in_region["image"]


def render_template_body(aws: Any, image_id: str, config: Mapping[str, Any], *, version: str) -> str:
    """Render the build template as the JSON text CreateStack receives, reading only the parent AMI.

    Raises BadRequestError for a configuration that passes validation but cannot make a valid
    template, so a dryrun that calls this rejects what the build would reject.
    """
    parent_image = describe_parent_image(aws, config["Build"]["ParentImage"])
    template = render_template(image_id, config, parent_image=parent_image, version=version)
    body = json.dumps(template, separators=(",", ":"))
    if len(body.encode()) > MAX_TEMPLATE_BODY_BYTES:
        # TODO: upload larger templates to S3 and pass TemplateURL, as ParallelCluster does.
        raise BadRequestError(
            f"the build template for image {image_id} is {len(body.encode())} bytes, more than the "
            f"{MAX_TEMPLATE_BODY_BYTES} CloudFormation accepts inline: use fewer or shorter Build.Tags "
            "(every resource repeats them) or fewer Build.Components"
        )
    return body


def create_image_stack(
    aws: Any,
    image_id: str,
    config: Mapping[str, Any],
    *,
    rollback_on_failure: bool,
    version: str,
) -> dict[str, Any]:
    """Create the stack `image_id` that builds the image, and return its DescribeStacks entry.

    `config` is the validated, normalized image configuration and `version` the ParallelCluster
    release stamped on the stack and the AMI. Rollback is disabled unless `rollback_on_failure`,
    so a failed build keeps its resources for debugging.
    """
    body = render_template_body(aws, image_id, config, version=version)

    cloudformation = aws.client("cloudformation")
    logger.info("creating the build stack for image %s", image_id)
    stack_id = cloudformation.create_stack(
        StackName=image_id,
        TemplateBody=body,
        Capabilities=["CAPABILITY_NAMED_IAM"],
        DisableRollback=not rollback_on_failure,
        Tags=stack_tags(aws, image_id, config, version),
    )["StackId"]
    logger.info("created stack %s for image %s", stack_id, image_id)
    return cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]


def stack_tags(aws: Any, image_id: str, config: Mapping[str, Any], version: str) -> list[dict[str, str]]:
    """Return the stack's tags: Build.Tags, then the image name, version, image id and build log.

    A Build.Tags key that repeats one of these is replaced, so the stack always names its image.
    """
    identity_arn = aws.client("sts").get_caller_identity()["Arn"]
    partition, account = identity_arn.split(":")[1], identity_arn.split(":")[4]
    build_log_arn = f"arn:{partition}:logs:{aws.region}:{account}:log-group:{build_log_group(image_id)}"

    tags = {tag["Key"]: tag["Value"] for tag in config["Build"].get("Tags") or ()}
    for key in (IMAGE_NAME_TAG, VERSION_TAG, IMAGE_ID_TAG, BUILD_LOG_TAG):
        tags.pop(key, None)
    tags[IMAGE_NAME_TAG] = image_name(image_id, config)
    tags[VERSION_TAG] = version
    tags[IMAGE_ID_TAG] = image_id
    tags[BUILD_LOG_TAG] = build_log_arn
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def find_available_image(aws: Any, image_id: str) -> dict[str, Any] | None:
    """Return the account's AMI tagged as the finished image `image_id`, or None.

    An image is finished once its AMI carries both `parallelcluster:image_id=<id>` and
    `parallelcluster:build_status=available`.
    """
    paginator = aws.client("ec2").get_paginator("describe_images")
    pages = paginator.paginate(
        Owners=["self"],
        Filters=[
            {"Name": f"tag:{IMAGE_ID_TAG}", "Values": [image_id]},
            {"Name": f"tag:{BUILD_STATUS_TAG}", "Values": ["available"]},
        ],
    )
    for page in pages:
        for image in page.get("Images", []):
            return image
    return None


def stack_exists(aws: Any, image_id: str) -> bool:
    """Return whether a stack named `image_id` exists (deleted stacks do not count)."""
    try:
        aws.client("cloudformation").describe_stacks(StackName=image_id)
    except botocore.exceptions.ClientError as error:
        # CloudFormation returns ValidationError for a stack name it does not know.
        if error_code(error) == "ValidationError":
            return False
        raise
    return True


def image_build_status(stack_status: str, *, image_available: bool) -> str:
    """Return the imageBuildStatus for a build stack in `stack_status`.

    Unlike ParallelCluster, a complete stack means a complete build only once the AMI is
    available: its stack reaches CREATE_COMPLETE when Image Builder finishes, before the AMI is
    tagged available, and a local moto server completes stacks at once. A status outside
    ParallelCluster's table (REVIEW_*, IMPORT_*, UPDATE_FAILED) is returned unchanged, as there.
    """
    status = _BUILD_STATUS_BY_STACK_STATUS.get(stack_status, stack_status)
    if status == "BUILD_COMPLETE" and not image_available:
        return "BUILD_IN_PROGRESS"
    return status


def image_summary(aws: Any, stack: Mapping[str, Any], region: str) -> dict[str, Any]:
    """Return the ImageInfoSummary of a build stack, as DescribeStacks returns it.

    The image id and version come from the stack's tags. The AMI is looked up only when the
    stack status alone would report the build complete. Raises ValueError for a stack without
    the `parallelcluster:image_id` tag, which pcimage did not create.
    """
    tags = {tag["Key"]: tag["Value"] for tag in stack.get("Tags", [])}
    image_id = tags.get(IMAGE_ID_TAG)
    if not image_id:
        raise ValueError(f"stack {stack['StackId']} has no {IMAGE_ID_TAG} tag: it is not a pcimage build stack")

    stack_status = stack["StackStatus"]
    image_available = False
    if _BUILD_STATUS_BY_STACK_STATUS.get(stack_status) == "BUILD_COMPLETE":
        image_available = find_available_image(aws, image_id) is not None

    return {
        "imageId": image_id,
        "imageBuildStatus": image_build_status(stack_status, image_available=image_available),
        "cloudformationStackStatus": stack_status,
        "cloudformationStackArn": stack["StackId"],
        "region": region,
        "version": tags.get(VERSION_TAG),
    }
