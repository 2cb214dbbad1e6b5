"""S3BucketValidator and S3BucketRegionValidator on CustomS3Bucket."""

from __future__ import annotations

import boto3
import pytest

from pcimage.api_adapter.aws import AwsAccess
from pcimage.engine import Finding, Level, ValidationContext
from pcimage.validators.s3 import S3BucketRegionValidator, S3BucketValidator

BUCKET_PATH = ("CustomS3Bucket",)


def run(validator, config, context):
    return list(validator.validate(config, context))


@pytest.fixture
def s3(world):
    return boto3.client("s3", region_name=world["REGION"])


def test_unversioned_bucket_rejected(make_config, context, world):
    findings = run(S3BucketValidator(), make_config(CustomS3Bucket=world["BUCKET"]), context)

    assert findings == [
        Finding(
            Level.ERROR,
            f"The S3 bucket {world['BUCKET']} specified cannot be used by cluster because versioning setting "
            "is: None, not 'Enabled'. Please enable bucket versioning.",
            BUCKET_PATH,
        )
    ]


def test_versioned_bucket_accepted(make_config, context, s3):
    s3.create_bucket(Bucket="versioned-image-bucket")
    s3.put_bucket_versioning(Bucket="versioned-image-bucket", VersioningConfiguration={"Status": "Enabled"})
    config = make_config(CustomS3Bucket="versioned-image-bucket")

    assert run(S3BucketValidator(), config, context) == []
    assert run(S3BucketRegionValidator(), config, context) == []


def test_suspended_versioning_rejected(make_config, context, s3):
    s3.create_bucket(Bucket="suspended-image-bucket")
    s3.put_bucket_versioning(Bucket="suspended-image-bucket", VersioningConfiguration={"Status": "Suspended"})

    findings = run(S3BucketValidator(), make_config(CustomS3Bucket="suspended-image-bucket"), context)

    assert len(findings) == 1
    assert "versioning setting is: Suspended, not 'Enabled'" in findings[0].message


def test_missing_bucket_reported_by_both(make_config, context):
    config = make_config(CustomS3Bucket="no-such-image-bucket")

    assert run(S3BucketValidator(), config, context) == [
        Finding(Level.ERROR, "Unexpected error when getting S3 bucket 'no-such-image-bucket': 'Not Found'", BUCKET_PATH)
    ]
    assert run(S3BucketRegionValidator(), config, context) == [
        Finding(
            Level.ERROR,
            "The S3 bucket 'no-such-image-bucket' does not appear to exist: 'The specified bucket does not exist'",
            BUCKET_PATH,
        )
    ]


def test_bucket_in_other_region_rejected(make_config, context, s3):
    s3.create_bucket(Bucket="eu-image-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})

    findings = run(S3BucketRegionValidator(), make_config(CustomS3Bucket="eu-image-bucket"), context)

    assert findings == [
        Finding(
            Level.ERROR,
            "The S3 bucket eu-image-bucket specified cannot be used because it is not in the same region of the cluster.",
            BUCKET_PATH,
        )
    ]


def test_null_location_outside_us_east_1_rejected(make_config, world):
    # A null LocationConstraint means us-east-1, which differs from the build's region here.
    context = ValidationContext(region="eu-west-1", aws=AwsAccess(world["REGION"]))

    findings = run(S3BucketRegionValidator(), make_config(CustomS3Bucket=world["BUCKET"]), context)

    assert [finding.message for finding in findings] == [
        f"The S3 bucket {world['BUCKET']} specified cannot be used because it is not in the same region of the cluster."
    ]


def test_invalid_bucket_name_reports_botocore_text(make_config, context):
    findings = run(S3BucketValidator(), make_config(CustomS3Bucket="Bad_Bucket!"), context)

    assert len(findings) == 1
    assert findings[0].message.startswith('Parameter validation failed:\nInvalid bucket name "Bad_Bucket!"')


def test_s3_validators_silent_without_bucket(make_config, context):
    assert run(S3BucketValidator(), make_config(), context) == []
    assert run(S3BucketRegionValidator(), make_config(), context) == []
