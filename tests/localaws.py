"""A local AWS for tests and the demo: a moto server on 127.0.0.1 and a small seeded account.

Run as a script to use it from a shell:
    python tests/localaws.py start STATE_DIR     start a server, seed it, write STATE_DIR/env
    python tests/localaws.py stop STATE_DIR      stop that server
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REGION = "us-east-1"

# AMIs that moto ships in every region, stable for a given moto release.
MOTO_AMI_X86 = "ami-04681a1dbd79675a5"  # Amazon Linux 2, x86_64, 15 GiB root volume
MOTO_AMI_ARM = "ami-0e9271c829888680e"  # Amazon Linux 2022, arm64, 15 GiB root volume

_EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
_LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalAws:
    """A moto server subprocess bound to 127.0.0.1 and the environment that points boto3 at it."""

    def __init__(self, port: int | None = None):
        self.port = port or _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self._config_dir = tempfile.mkdtemp(prefix="pcimage-localaws-")

    @property
    def env(self) -> dict[str, str]:
        """Variables that make boto3 (and so pcimage) use this server with dummy credentials."""
        config_file = Path(self._config_dir, "aws-config")
        config_file.write_text(f"[default]\nregion = {REGION}\ns3 =\n    addressing_style = path\n")
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_CONFIG_FILE": str(config_file),
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            # Never ask the instance metadata service for credentials or a region.
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and wait until it responds."""
        env = dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto server exited with status {self.process.returncode}")
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto server did not answer on {self.endpoint} within {timeout} s")

    def reset(self) -> None:
        """Forget every resource, as a fresh account."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None
        shutil.rmtree(self._config_dir, ignore_errors=True)


def seed_account(region: str = REGION) -> dict[str, str]:
    """Create a small account (parent AMIs, networks, IAM, a KMS key, a bucket) and return its ids.

    The names match the placeholders of the reference harness, so one config file can be put to
    ParallelCluster and to pcimage; HPC_PARENT_AMI is pcimage's own addition.
    """
    import boto3

    ec2 = boto3.client("ec2", region_name=region)
    iam = boto3.client("iam", region_name=region)
    kms = boto3.client("kms", region_name=region)
    s3 = boto3.client("s3", region_name=region)

    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnet = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [default_vpc]}])["Subnets"][0]
    group = ec2.create_security_group(GroupName="image-build", Description="image build", VpcId=default_vpc)
    other_vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    other_subnet = ec2.create_subnet(VpcId=other_vpc, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    other_group = ec2.create_security_group(GroupName="other", Description="other vpc", VpcId=other_vpc)

    role = iam.create_role(RoleName="image-build-role", AssumeRolePolicyDocument=json.dumps(_EC2_TRUST))["Role"]
    profile = iam.create_instance_profile(InstanceProfileName="image-build-profile")["InstanceProfile"]
    iam.add_role_to_instance_profile(InstanceProfileName="image-build-profile", RoleName="image-build-role")
    cleanup_role = iam.create_role(
        RoleName="image-cleanup-role", AssumeRolePolicyDocument=json.dumps(_LAMBDA_TRUST)
    )["Role"]
    boundary = iam.create_policy(
        PolicyName="image-build-boundary",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )["Policy"]
    key = kms.create_key(Description="image build key")["KeyMetadata"]

    # A parent AMI of the account's own, as an HPC team would keep one: captured from an
    # instance of the Amazon Linux 2 AMI.
    instance = ec2.run_instances(ImageId=MOTO_AMI_X86, MinCount=1, MaxCount=1, InstanceType="c5.xlarge")
    instance_id = instance["Instances"][0]["InstanceId"]
    hpc_parent = ec2.create_image(
        InstanceId=instance_id, Name="hpc-parent-x86_64", Description="HPC base image (Amazon Linux 2)"
    )["ImageId"]
    ec2.terminate_instances(InstanceIds=[instance_id])

    bucket = "image-build-test-bucket"
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_object(Bucket=bucket, Key="scripts/post_install.sh", Body=b"#!/bin/bash\necho installed\n")

    return {
        "REGION": region,
        "ACCOUNT_ID": boto3.client("sts", region_name=region).get_caller_identity()["Account"],
        "PARENT_AMI_X86": MOTO_AMI_X86,
        "PARENT_AMI_ARM": MOTO_AMI_ARM,
        "HPC_PARENT_AMI": hpc_parent,
        "VPC_ID": default_vpc,
        "SUBNET_ID": subnet["SubnetId"],
        "SECURITY_GROUP_ID": group["GroupId"],
        "OTHER_VPC_ID": other_vpc,
        "OTHER_VPC_SUBNET_ID": other_subnet,
        "OTHER_VPC_SECURITY_GROUP_ID": other_group["GroupId"],
        "INSTANCE_ROLE_ARN": role["Arn"],
        "INSTANCE_PROFILE_ARN": profile["Arn"],
        "CLEANUP_LAMBDA_ROLE_ARN": cleanup_role["Arn"],
        "PERMISSIONS_BOUNDARY_ARN": boundary["Arn"],
        "KMS_KEY_ID": key["KeyId"],
        "KMS_KEY_ARN": key["Arn"],
        "BUCKET": bucket,
        "SCRIPT_S3_URL": f"s3://{bucket}/scripts/post_install.sh",
    }


def render(text: str, world: dict[str, str]) -> str:
    """Replace each `${NAME}` placeholder with the seeded account's value."""
    for name, value in world.items():
        text = text.replace("${" + name + "}", value)
    return text


def _main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print(__doc__, file=sys.stderr)
        return 2
    command, state_dir = argv[0], Path(argv[1])
    state_dir.mkdir(parents=True, exist_ok=True)

    if command == "stop":
        pid_file = state_dir / "pid"
        if pid_file.exists():
            try:
                os.killpg(int(pid_file.read_text()), signal.SIGTERM)
            except ProcessLookupError:
                pass
            pid_file.unlink()
        return 0

    aws = LocalAws()
    aws.start()
    os.environ.update(aws.env)
    world = seed_account()
    (state_dir / "pid").write_text(str(aws.process.pid))
    (state_dir / "world.json").write_text(json.dumps(world, indent=2))
    (state_dir / "env").write_text("".join(f"export {name}={value}\n" for name, value in aws.env.items()))
    print(f"local AWS (moto) on {aws.endpoint}; exports in {state_dir / 'env'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
