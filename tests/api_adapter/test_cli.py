"""The pcimage CLI end to end against the local AWS: what an operator sees and the exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from pcimage.api_adapter.cli import main

MINIMAL = "Build:\n  InstanceType: c5.xlarge\n  ParentImage: ${PARENT_AMI_X86}\n"
ARCH_MISMATCH = "Build:\n  InstanceType: m6g.xlarge\n  ParentImage: ${PARENT_AMI_X86}\n"
KMS_WITHOUT_ENCRYPTION = (
    "Image:\n  RootVolume:\n    KmsKeyId: ${KMS_KEY_ID}\n"
    "Build:\n  InstanceType: c5.xlarge\n  ParentImage: ${PARENT_AMI_X86}\n"
)


@pytest.fixture
def config_file(tmp_path, render_shared):
    def write(text, name="image-config.yaml"):
        path = tmp_path / name
        path.write_text(render_shared(text))
        return str(path)

    return write


def run_cli(capsys, *arguments):
    status = main(list(arguments))
    captured = capsys.readouterr()
    return status, captured.out


def run_json(capsys, *arguments):
    status, output = run_cli(capsys, *arguments)
    return status, json.loads(output)


def test_passing_dryrun_exits_zero(capsys, config_file, image_id):
    status, body = run_json(capsys, "build-image", "-c", config_file(MINIMAL), "-i", image_id, "--dryrun", "true")

    assert status == 0
    assert body == {"message": "Request would have succeeded, but DryRun flag is set."}


def _all_pages(client, operation, key):
    return [item for page in client.get_paginator(operation).paginate() for item in page[key]]


def test_dryrun_creates_nothing(capsys, config_file, image_id):
    cloudformation, iam = boto3.client("cloudformation"), boto3.client("iam")
    stacks_before = _all_pages(cloudformation, "describe_stacks", "Stacks")
    roles_before = _all_pages(iam, "list_roles", "Roles")

    run_cli(capsys, "build-image", "-c", config_file(MINIMAL), "-i", image_id, "--dryrun", "true")

    assert _all_pages(cloudformation, "describe_stacks", "Stacks") == stacks_before
    assert _all_pages(iam, "list_roles", "Roles") == roles_before


def test_failing_dryrun_locates_message(capsys, config_file, image_id):
    status, body = run_json(capsys, "build-image", "-c", config_file(ARCH_MISMATCH), "-i", image_id, "--dryrun", "true")

    assert status == 1
    assert body["message"] == "Configuration is invalid"
    [error] = body["configurationValidationErrors"]
    assert error["type"] == "InstanceTypeBaseAMICompatibleValidator"
    assert error["level"] == "ERROR"
    assert error["path"] == "Build.InstanceType"
    assert (error["line"], error["column"]) == (2, 17)
    assert "(['arm64'])" in error["message"]


def test_text_output_has_file_line_column(capsys, config_file, image_id):
    path = config_file(ARCH_MISMATCH)

    status, output = run_cli(capsys, "build-image", "-c", path, "-i", image_id, "--dryrun", "true", "--output", "text")

    assert status == 1
    assert f"{path}:2:17: ERROR InstanceTypeBaseAMICompatibleValidator: AMI " in output
    assert output.rstrip().endswith("Configuration is invalid")


def test_schema_error_names_position(capsys, config_file, image_id):
    status, body = run_json(
        capsys, "build-image", "-c", config_file("Build:\n  InstanceType: c5.xlarge\n  ParentImage: xyz\n"), "-i", image_id
    )

    assert status == 1
    assert body["message"] == "Invalid image configuration."
    [error] = body["configurationValidationErrors"]
    assert error["type"] == "ImageSchemaValidator"
    assert (error["path"], error["line"], error["column"]) == ("Build.ParentImage", 3, 16)


def test_real_build_creates_stack(capsys, config_file, image_id):
    status, body = run_json(capsys, "build-image", "-c", config_file(MINIMAL), "-i", image_id)

    assert status == 0
    image = body["image"]
    assert image["imageId"] == image_id
    assert image["imageBuildStatus"] == "BUILD_IN_PROGRESS"
    assert image["region"] == "us-east-1"
    assert image["version"] == "3.16.1"
    stack = boto3.client("cloudformation").describe_stacks(StackName=image_id)["Stacks"][0]
    assert stack["StackId"] == image["cloudformationStackArn"]
    assert {"Key": "parallelcluster:image_id", "Value": image_id} in stack["Tags"]


def test_second_build_same_id_conflicts(capsys, config_file, image_id):
    path = config_file(MINIMAL)
    run_json(capsys, "build-image", "-c", path, "-i", image_id)

    status, body = run_json(capsys, "build-image", "-c", path, "-i", image_id)

    assert status == 1
    assert body == {
        "message": f"ParallelCluster build infrastructure for image {image_id} or a CloudFormation Stack with the "
        "same name already exists."
    }


def test_available_image_conflicts(capsys, config_file, shared_world, image_id):
    ec2 = boto3.client("ec2")
    ec2.create_tags(
        Resources=[shared_world["HPC_PARENT_AMI"]],
        Tags=[{"Key": "parallelcluster:image_id", "Value": image_id}, {"Key": "parallelcluster:build_status", "Value": "available"}],
    )

    status, body = run_json(capsys, "build-image", "-c", config_file(MINIMAL), "-i", image_id, "--dryrun", "true")

    assert status == 1
    assert body == {"message": f"ParallelCluster image {image_id} already exists."}


def test_suppress_by_type(capsys, config_file, image_id):
    status, body = run_json(
        capsys, "build-image", "-c", config_file(KMS_WITHOUT_ENCRYPTION), "-i", image_id, "--dryrun", "true",
        "--suppress-validators", "type:KmsKeyIdEncryptedValidator",
    )

    assert status == 0
    assert body["message"] == "Request would have succeeded, but DryRun flag is set."


def test_unsuppressed_kms_rule_fails(capsys, config_file, image_id):
    status, body = run_json(capsys, "build-image", "-c", config_file(KMS_WITHOUT_ENCRYPTION), "-i", image_id, "--dryrun", "true")

    assert status == 1
    assert [e["type"] for e in body["configurationValidationErrors"]] == ["KmsKeyIdEncryptedValidator"]


def test_suppress_all(capsys, config_file, image_id):
    status, _ = run_json(
        capsys, "build-image", "-c", config_file(ARCH_MISMATCH), "-i", image_id, "--dryrun", "true", "--suppress-validators", "ALL"
    )

    assert status == 0


def test_suppress_all_keeps_schema_errors(capsys, config_file, image_id):
    status, body = run_json(
        capsys, "build-image", "-c", config_file("Build:\n  ParentImage: ami-1\n"), "-i", image_id, "--dryrun", "true",
        "--suppress-validators", "ALL",
    )

    assert status == 1
    assert body["configurationValidationErrors"][0]["type"] == "ImageSchemaValidator"


WARNING_CONFIG = MINIMAL + "DevSettings:\n  NodePackage: s3://${BUCKET}/missing/node.tgz\n"


@pytest.mark.parametrize(("level", "status"), [("INFO", 1), ("WARNING", 1), ("ERROR", 0)])
def test_failure_levels(capsys, config_file, level, status, image_id):
    exit_status, body = run_json(
        capsys, "build-image", "-c", config_file(WARNING_CONFIG), "-i", image_id, "--dryrun", "true",
        "--validation-failure-level", level,
    )

    assert exit_status == status
    messages = body.get("configurationValidationErrors") or body.get("validationMessages")
    assert [(m["type"], m["level"]) for m in messages] == [("UrlValidator", "WARNING")]


def test_warning_below_level_reported_with_build(capsys, config_file, image_id):
    status, body = run_json(capsys, "build-image", "-c", config_file(WARNING_CONFIG), "-i", image_id)

    assert status == 0
    assert body["image"]["imageBuildStatus"] == "BUILD_IN_PROGRESS"
    assert [m["level"] for m in body["validationMessages"]] == ["WARNING"]


def test_offline_dryrun_needs_no_aws(capsys, config_file, monkeypatch, image_id):
    path = config_file(ARCH_MISMATCH)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")

    status, body = run_json(capsys, "build-image", "-c", path, "-i", image_id, "--dryrun", "true", "--offline")

    assert status == 0
    assert body["message"] == "Request would have succeeded, but DryRun flag is set."


def test_offline_requires_dryrun(capsys, config_file, image_id):
    with pytest.raises(SystemExit) as exit_:
        main(["build-image", "-c", config_file(MINIMAL), "-i", image_id, "--offline"])

    assert exit_.value.code == 2
    assert "--offline only supports a dryrun" in capsys.readouterr().err


def test_yaml_error_is_bad_request(capsys, config_file, image_id):
    status, body = run_json(capsys, "build-image", "-c", config_file("Build:\n  InstanceType: [c5\n"), "-i", image_id)

    assert status == 1
    assert body["message"].startswith("Bad Request: Configuration must be a valid YAML document. Line 3, column 1:")
    assert (body["line"], body["column"]) == (3, 1)


def test_region_conflict(capsys, config_file, image_id):
    status, body = run_json(capsys, "build-image", "-c", config_file("Region: eu-west-1\n" + MINIMAL), "-i", image_id, "-r", "us-east-1")

    assert status == 1
    assert body == {"message": "Bad Request: region is set in both parameter and configuration and conflicts."}


def test_unsupported_region(capsys, config_file, image_id):
    status, body = run_json(capsys, "build-image", "-c", config_file(MINIMAL), "-i", image_id, "-r", "eu-west-")

    assert status == 1
    assert body == {"message": "Bad Request: invalid or unsupported region 'eu-west-'"}


def test_image_id_too_long(capsys, config_file):
    image_id = "a" * 129

    status, body = run_json(capsys, "build-image", "-c", config_file(MINIMAL), "-i", image_id, "--dryrun", "true")

    assert status == 1
    assert body["message"].startswith(f"Image id '{image_id}' failed to satisfy constraint")


def test_empty_config(capsys, config_file, image_id):
    status, body = run_json(capsys, "build-image", "-c", config_file(""), "-i", image_id)

    assert status == 1
    assert body == {"message": "Bad Request: configuration is required and cannot be empty"}


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        ([], "the following arguments are required: -c/--image-configuration, -i/--image-id"),
        (["-c", "/nonexistent/config.yaml", "-i", "x1"], "file not found: '/nonexistent/config.yaml'"),
        (["-c", "CONFIG", "-i", "x1", "--dryrun", "NO"], "expected true or false, got 'NO'"),
        (["-c", "CONFIG", "-i", "x1", "--suppress-validators", "ALLL"], "expected ALL or type:<ValidatorName>, got 'ALLL'"),
        (["-c", "CONFIG", "-i", "x1", "--validation-failure-level", "CRITICAL"], "invalid choice: 'CRITICAL'"),
        (["-c", "CONFIG", "-i", "a"], "(2 characters or more), got 'a'"),
        (["-c", "CONFIG", "-i", "9lives"], "got '9lives'"),
        (["-c", ".", "-i", "x1"], "'.' is a directory"),
    ],
)
def test_usage_errors_exit_two(capsys, config_file, arguments, complaint):
    arguments = [config_file(MINIMAL) if argument == "CONFIG" else argument for argument in arguments]

    with pytest.raises(SystemExit) as exit_:
        main(["build-image", *arguments])

    assert exit_.value.code == 2
    assert complaint in capsys.readouterr().err


def test_console_script_runs(config_file, local_aws, image_id):
    script = Path(sys.executable).with_name("pcimage")

    completed = subprocess.run(
        [str(script), "build-image", "-c", config_file(MINIMAL), "-i", image_id, "--dryrun", "true"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
    )

    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["message"] == "Request would have succeeded, but DryRun flag is set."
    assert "Traceback" not in completed.stderr


def test_schema_command_prints_json_schema(capsys):
    status, schema = run_json(capsys, "schema")

    assert status == 0
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "Build" in schema["properties"]


def test_oversized_stream_read_bounded(capsys):
    status, body = run_json(capsys, "build-image", "-c", "/dev/zero", "-i", "big", "--dryrun", "true", "--offline", "-r", "us-east-1")

    assert status == 1
    assert "larger than the maximum of 4194304 bytes" in body["message"]


def test_bad_profile_is_clear(capsys, config_file, image_id, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")

    status, body = run_json(capsys, "build-image", "-c", config_file(MINIMAL), "-i", image_id, "--dryrun", "true")

    assert status == 1
    assert body == {"message": "Invalid AWS configuration: The config profile (no-such-profile) could not be found"}


def test_malformed_endpoint_is_clear(capsys, config_file, image_id, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "notaurl")

    status, body = run_json(capsys, "build-image", "-c", config_file(MINIMAL), "-i", image_id, "--dryrun", "true")

    assert status == 1
    assert body["message"].startswith("Invalid AWS configuration: cannot create the ec2 client")


def test_schema_error_reported_before_aws(capsys, config_file, image_id, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")

    status, body = run_json(capsys, "build-image", "-c", config_file("Build:\n  ParentImage: ami-1\n"), "-i", image_id, "--dryrun", "true")

    assert status == 1
    assert body["configurationValidationErrors"][0]["type"] == "ImageSchemaValidator"


def test_template_refusal_caught_by_dryrun(capsys, config_file, image_id):
    tags = "".join(f"    - Key: tag-{index}\n      Value: {'v' * 200}\n" for index in range(40))

    status, body = run_json(capsys, "build-image", "-c", config_file(MINIMAL + "  Tags:\n" + tags), "-i", image_id, "--dryrun", "true")

    assert status == 1
    assert "more than the 51200 CloudFormation accepts inline" in body["message"]


def test_suppressed_missing_ami_dryrun_passes(capsys, config_file, image_id):
    config = config_file("Build:\n  InstanceType: c5.xlarge\n  ParentImage: ami-0000000000000dead\n")

    status, body = run_json(capsys, "build-image", "-c", config, "-i", image_id, "--dryrun", "true", "--suppress-validators", "ALL")

    assert status == 0
    assert body["message"] == "Request would have succeeded, but DryRun flag is set."


def test_missing_ami_reported_by_validators(capsys, config_file, image_id):
    config = config_file("Build:\n  InstanceType: c5.xlarge\n  ParentImage: ami-0000000000000dead\n")

    status, body = run_json(capsys, "build-image", "-c", config, "-i", image_id, "--dryrun", "true")

    assert status == 1
    assert [e["type"] for e in body["configurationValidationErrors"]] == ["InstanceTypeBaseAMICompatibleValidator"]
    assert body["configurationValidationErrors"][0]["message"] == "Invalid image 'ami-0000000000000dead'."
