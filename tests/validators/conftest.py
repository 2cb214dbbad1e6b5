"""Fixtures for calling the built-in validators directly on normalized config dicts."""

from __future__ import annotations

import pytest

from pcimage.api_adapter.aws import AwsAccess
from pcimage.engine import ValidationContext


@pytest.fixture
def world(shared_world):
    """The seeded account that the whole run shares (`shared_world`), as a dict of its ids.

    Resetting and seeding moto takes seconds, so these tests do not get a fresh account. They only
    add resources of their own (AMIs, and buckets whose names no other test uses) and never change
    seeded ones.
    """
    return shared_world


@pytest.fixture
def context(world):
    """A validation context for us-east-1 whose AWS access goes to the seeded local account."""
    return ValidationContext(region=world["REGION"], aws=AwsAccess(world["REGION"]))


@pytest.fixture
def ec2(world):
    """A boto3 EC2 client on the seeded local account, to add resources a test needs."""
    import boto3

    return boto3.client("ec2", region_name=world["REGION"])


@pytest.fixture
def official_ami(world, ec2):
    """An x86_64 AMI described as a ParallelCluster official AMI, created from the x86 parent."""
    instance = ec2.run_instances(ImageId=world["PARENT_AMI_X86"], MinCount=1, MaxCount=1)["Instances"][0]
    image = ec2.create_image(
        InstanceId=instance["InstanceId"],
        Name="aws-parallelcluster-3.16.1-amzn2-hvm-x86_64",
        Description="AWS ParallelCluster AMI for alinux2, kernel-4.14, lustre-2.10.8, efa-1.44.0",
    )
    return image["ImageId"]


@pytest.fixture
def make_config(world):
    """Build a normalized config: x86 parent AMI and c5.xlarge, with `Build` keys and sections added."""

    def build_config(build=None, **sections):
        config = {
            "Build": {
                "InstanceType": "c5.xlarge",
                "ParentImage": world["PARENT_AMI_X86"],
                "Imds": {"ImdsSupport": "v2.0"},
                **(build or {}),
            }
        }
        config.update(sections)
        return config

    return build_config


class StubbedAws:
    """AWS access whose clients return canned responses from botocore Stubbers, for cases moto cannot seed.

    Each client is bound to a closed local port, so a request the test did not stub fails
    inside botocore (UnStubbedResponseError) and never leaves the machine.
    """

    def __init__(self, region: str = "us-east-1"):
        self.region = region
        self.cache: dict = {}
        self._clients: dict = {}
        self._stubbers: dict = {}

    def client(self, service_name: str):
        if service_name not in self._clients:
            import boto3
            from botocore.stub import Stubber

            service = boto3.client(
                service_name,
                region_name=self.region,
                endpoint_url="http://127.0.0.1:9",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            stubber = Stubber(service)
            stubber.activate()
            self._clients[service_name] = service
            self._stubbers[service_name] = stubber
        return self._clients[service_name]

    def stub(self, service_name: str):
        """Return the Stubber of `service_name`, to queue responses with add_response/add_client_error."""
        self.client(service_name)
        return self._stubbers[service_name]


@pytest.fixture
def stubbed_aws():
    """A context whose AWS clients are botocore Stubbers; queue responses on `.aws.stub(name)`."""
    return ValidationContext(region="us-east-1", aws=StubbedAws("us-east-1"))
