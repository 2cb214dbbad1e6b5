"""Checks of `CustomS3Bucket`: reachable, versioned, and in the build's region."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pcimage.engine import Finding, Level, ValidationContext

from .awscalls import AwsCallError, call, client, region_of, s3_call
from .base import run_isolated

BUCKET_PATH = ("CustomS3Bucket",)


class S3BucketValidator:
    """Checks with S3 HeadBucket and GetBucketVersioning that the bucket exists and is versioned."""

    type = "S3BucketValidator"
    needs_aws = True

    def validate(self, config: Mapping[str, Any], context: ValidationContext) -> list[Finding]:
        bucket = config.get("CustomS3Bucket")
        if not bucket:
            return []

        def check() -> Iterator[Finding]:
            try:
                s3_call(context, "head_bucket", bucket)
                status = call(client(context, "s3"), "get_bucket_versioning", Bucket=bucket).get("Status")
            except AwsCallError as error:
                yield Finding(Level.ERROR, str(error), BUCKET_PATH)
                return
            if status != "Enabled":
                # "by cluster" is ParallelCluster's wording, also for image builds.
                yield Finding(
                    Level.ERROR,
                    f"The S3 bucket {bucket} specified cannot be used by cluster because versioning setting "
                    f"is: {status}, not 'Enabled'. Please enable bucket versioning.",
                    BUCKET_PATH,
                )

        return run_isolated(check, BUCKET_PATH, self.type)


class S3BucketRegionValidator:
    """Checks with S3 GetBucketLocation that the bucket is in the build's region.

    A null LocationConstraint means us-east-1. No other name is normalised, so a legacy `EU`
    bucket location never matches, as in ParallelCluster.
    """

    type = "S3BucketRegionValidator"
    needs_aws = True

    def validate(self, config: Mapping[str, Any], context: ValidationContext) -> list[Finding]:
        bucket = config.get("CustomS3Bucket")
        if not bucket:
            return []

        def check() -> Iterator[Finding]:
            try:
                location = s3_call(context, "get_bucket_location", bucket).get("LocationConstraint")
            except AwsCallError as error:
                yield Finding(Level.ERROR, str(error), BUCKET_PATH)
                return
            if (location or "us-east-1") != region_of(context):
                yield Finding(
                    Level.ERROR,
                    f"The S3 bucket {bucket} specified cannot be used because it is not in the same region "
                    "of the cluster.",
                    BUCKET_PATH,
                )

        return run_isolated(check, BUCKET_PATH, self.type)
