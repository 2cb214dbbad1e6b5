"""AWS requests made by the built-in validators, with ParallelCluster's error texts and caching.

Every request goes through `context.aws.client(service)`. Lookups that several validators share
(the parent AMI, the instance type offerings, security groups and subnets) are memoised in
`context.aws.cache`, which lives as long as the caller's AwsAccess object.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from pcimage.engine import ValidationContext

#: Architectures ParallelCluster builds images for. Other architectures of an instance type (i386) are ignored.
SUPPORTED_ARCHITECTURES = ("x86_64", "arm64")

# Region prefixes of the partitions other than `aws`, as ParallelCluster 3.16.1 maps them.
_PARTITION_BY_REGION_PREFIX = {
    "cn-": "aws-cn",
    "us-gov-": "aws-us-gov",
    "us-iso-": "aws-iso",
    "us-isob-": "aws-iso-b",
}

_CACHE_PREFIX = "pcimage.validators"


class AwsCallError(Exception):
    """An AWS request failed. `str()` is the text ParallelCluster shows for it, without the code."""

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code


def client(context: ValidationContext, service_name: str) -> Any:
    """Return the boto3 client for `service_name`, or raise when the context has no AWS access."""
    if context.aws is None:
        raise RuntimeError(
            "no AWS access in the validation context: pass aws=AwsAccess(region), or offline=True "
            "to skip the validators that call AWS"
        )
    return context.aws.client(service_name)


def region_of(context: ValidationContext) -> str | None:
    """Return the region the request is for: the context's, else the AWS access object's."""
    return context.region or getattr(context.aws, "region", None)


def partition_of(region: str | None) -> str:
    """Return the AWS partition (`aws`, `aws-cn`, ...) that `region` belongs to."""
    for prefix, partition in _PARTITION_BY_REGION_PREFIX.items():
        if region and region.startswith(prefix):
            return partition
    return "aws"


@contextlib.contextmanager
def converted_errors() -> Iterator[None]:
    """Convert a botocore failure raised in the block into AwsCallError.

    The texts follow ParallelCluster's AWS wrapper: the service's message for a ClientError, a
    fixed prefix for a parameter validation error, and the exception's text for other botocore errors.
    """
    try:
        yield
    except ParamValidationError as error:
        raise AwsCallError(f"Error validating parameter. Failed with exception: {error}") from error
    except ClientError as error:
        details = error.response.get("Error", {})
        raise AwsCallError(str(details.get("Message", error)), details.get("Code")) from error
    except BotoCoreError as error:
        raise AwsCallError(str(error)) from error


def call(service: Any, operation: str, **params: Any) -> dict[str, Any]:
    """Send one request; a failure raises AwsCallError."""
    with converted_errors():
        return getattr(service, operation)(**params)


def paginate(service: Any, operation: str, result_key: str, **params: Any) -> list[Any]:
    """Return the `result_key` items of every page of a paginated request."""
    with converted_errors():
        pages = service.get_paginator(operation).paginate(**params)
        return [item for page in pages for item in page.get(result_key, [])]


def memoize(context: ValidationContext, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
    """Return `compute()`, cached in the AWS access object's cache under `key`.

    A failure is cached too and raised again, so two validators that need the same lookup make
    one request and report the same error.
    """
    cache = getattr(context.aws, "cache", None)
    if cache is None:
        return compute()

    full_key = (_CACHE_PREFIX, *key)
    if full_key not in cache:
        try:
            cache[full_key] = (True, compute())
        except AwsCallError as error:
            cache[full_key] = (False, error)
    succeeded, value = cache[full_key]
    if not succeeded:
        raise value
    return value


def resolve_ami_id(context: ValidationContext, parent_image: str) -> str | None:
    """Return the AMI id that `Build.ParentImage` names.

    An Image Builder image ARN is resolved with GetImage to its first output AMI, which is None
    when the image has produced no AMI. Any other value is taken as the AMI id itself.
    """
    if not parent_image or not parent_image.startswith("arn"):
        return parent_image

    def get_image() -> str | None:
        response = call(client(context, "imagebuilder"), "get_image", imageBuildVersionArn=parent_image)
        amis = response.get("image", {}).get("outputResources", {}).get("amis")
        return amis[0].get("image") if amis else None

    return memoize(context, ("imagebuilder.get_image", parent_image), get_image)


def describe_image(context: ValidationContext, ami_id: str | None) -> dict[str, Any]:
    """Return the DescribeImages record of `ami_id`. Raise AwsCallError when EC2 returns none."""

    def describe() -> dict[str, Any]:
        images = paginate(client(context, "ec2"), "describe_images", "Images", ImageIds=[ami_id])
        if not images:
            raise AwsCallError(f"Image {ami_id} not found")
        return images[0]

    return memoize(context, ("ec2.describe_images", ami_id), describe)


def offered_instance_types(context: ValidationContext) -> frozenset[str]:
    """Return the instance types offered in the region (DescribeInstanceTypeOfferings, no filter)."""

    def list_offerings() -> frozenset[str]:
        offerings = paginate(client(context, "ec2"), "describe_instance_type_offerings", "InstanceTypeOfferings")
        return frozenset(offering.get("InstanceType") for offering in offerings)

    return memoize(context, ("ec2.describe_instance_type_offerings",), list_offerings)


def instance_type_info(context: ValidationContext, instance_type: str) -> dict[str, Any]:
    """Return the DescribeInstanceTypes record of `instance_type`.

    An empty response raises IndexError, whose text ParallelCluster 3.16.1 reports unchanged.
    """

    def describe() -> dict[str, Any]:
        response = call(client(context, "ec2"), "describe_instance_types", InstanceTypes=[instance_type])
        return response.get("InstanceTypes")[0]

    return memoize(context, ("ec2.describe_instance_types", instance_type), describe)


def supported_architectures(context: ValidationContext, instance_type: str) -> list[str]:
    """Return the architectures of `instance_type` that ParallelCluster supports, in a fixed order."""
    listed = instance_type_info(context, instance_type).get("ProcessorInfo").get("SupportedArchitectures")
    return [architecture for architecture in SUPPORTED_ARCHITECTURES if architecture in listed]


def nvidia_gpu_count(context: ValidationContext, instance_type: str) -> int:
    """Return how many NVIDIA GPUs `instance_type` has, according to DescribeInstanceTypes."""
    gpus = (instance_type_info(context, instance_type).get("GpuInfo") or {}).get("Gpus", [])
    return sum(gpu.get("Count", 0) for gpu in gpus if gpu.get("Manufacturer", "").upper() == "NVIDIA")


def describe_security_groups(context: ValidationContext, group_ids: list[str]) -> list[dict[str, Any]]:
    """Return the records of those `group_ids` that EC2 returns, fetching each group once per AWS access.

    EC2 rejects a request naming a group that does not exist, and that error is raised.
    """
    return _describe_by_id(context, "describe_security_groups", "SecurityGroups", "GroupIds", "GroupId", group_ids)


def describe_subnets(context: ValidationContext, subnet_ids: list[str]) -> list[dict[str, Any]]:
    """Return the records of those `subnet_ids` that EC2 returns, fetching each subnet once per AWS access."""
    return _describe_by_id(context, "describe_subnets", "Subnets", "SubnetIds", "SubnetId", subnet_ids)


def _describe_by_id(
    context: ValidationContext,
    operation: str,
    result_key: str,
    id_parameter: str,
    id_field: str,
    ids: list[str],
) -> list[dict[str, Any]]:
    cache = getattr(context.aws, "cache", None)
    if cache is None:
        cache = {}

    found: list[dict[str, Any]] = []
    missing: list[str] = []
    for resource_id in ids:
        cached = cache.get((_CACHE_PREFIX, operation, resource_id))
        if cached is not None:
            found.append(cached)
        else:
            missing.append(resource_id)

    if missing:
        for record in paginate(client(context, "ec2"), operation, result_key, **{id_parameter: missing}):
            cache[(_CACHE_PREFIX, operation, record.get(id_field))] = record
            found.append(record)
    return found


def s3_error_text(error: ClientError, bucket: str, object_key: str | None = None) -> str:
    """Return ParallelCluster's text for a failed S3 request on `bucket` (and `object_key`)."""
    message = error.response.get("Error", {}).get("Message")
    code = error.response.get("Error", {}).get("Code")
    if code == "NoSuchBucket":
        return f"The S3 bucket '{bucket}' does not appear to exist: '{message}'"
    if code == "AccessDenied":
        return f"You do not have access to the S3 bucket '{bucket}': '{message}'"
    if object_key and code == "404" and message == "Not Found":
        return (
            f"Failed when accessing object '{object_key}' from bucket '{bucket}'. "
            f"This can be due to '{object_key}' not found in '{bucket}'"
        )
    return f"Unexpected error when getting S3 bucket '{bucket}': '{message}'"


def s3_call(context: ValidationContext, operation: str, bucket: str, object_key: str | None = None) -> dict[str, Any]:
    """Send an S3 request on `bucket` (and `object_key`) and raise AwsCallError with S3's mapped text.

    Only a ClientError is mapped. Other botocore errors propagate unchanged, because
    ParallelCluster 3.16.1 reports their own text for HeadBucket, HeadObject and GetBucketLocation.
    """
    params = {"Bucket": bucket} if object_key is None else {"Bucket": bucket, "Key": object_key}
    try:
        return getattr(client(context, "s3"), operation)(**params)
    except ClientError as error:
        raise AwsCallError(s3_error_text(error, bucket, object_key), error.response.get("Error", {}).get("Code")) from error
