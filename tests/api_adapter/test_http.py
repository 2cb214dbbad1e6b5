"""Tests of the HTTP API: request validation, the handler, builds on the local AWS, and uvicorn."""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import boto3
import httpx
import pytest
import yaml
from jsonschema import Draft4Validator

from pcimage.api_adapter import http, operations
from pcimage.api_adapter.errors import (
    BadRequestError,
    ConfigurationInvalidError,
    ConflictError,
    DryrunOperationError,
    InternalServiceError,
    LimitExceededError,
)
from pcimage.engine import Level, Message

URL = "/v3/images/custom"
DRYRUN_MESSAGE = "Request would have succeeded, but DryRun flag is set."

PASSING_CONFIG = "Build:\n  InstanceType: c5.xlarge\n  ParentImage: ${PARENT_AMI_X86}\n"
# m6g is arm64 and the parent AMI is x86_64, so InstanceTypeBaseAMICompatibleValidator fails.
ARCHITECTURE_MISMATCH_CONFIG = "Build:\n  InstanceType: m6g.xlarge\n  ParentImage: ${PARENT_AMI_X86}\n"
# The seeded bucket has no such key, so UrlValidator reports a WARNING and nothing else fails.
MISSING_PACKAGE_CONFIG = PASSING_CONFIG + "DevSettings:\n  NodePackage: s3://${BUCKET}/missing/node.tgz\n"
SCHEMA_ERROR_CONFIG = "Build:\n  ParentImage: ${PARENT_AMI_X86}\n"

ACCEPTED_BODY = {
    "image": {
        "imageId": "image1",
        "imageBuildStatus": "BUILD_IN_PROGRESS",
        "cloudformationStackStatus": "CREATE_IN_PROGRESS",
        "cloudformationStackArn": "arn:aws:cloudformation:us-east-1:123456789012:stack/image1/id",
        "region": "us-east-1",
        "version": "3.16.1",
    }
}
VALID_BODY = {"imageId": "image1", "imageConfiguration": "Build:\n  InstanceType: c5.xlarge\n"}


def _load_strict_responses() -> dict[int, Draft4Validator]:
    """Build a validator per response status of buildImage that also rejects undeclared fields."""
    spec = yaml.safe_load(http.SPECIFICATION_PATH.read_text())
    components = copy.deepcopy(spec["components"])
    for schema in components["schemas"].values():
        if "properties" in schema:
            schema["additionalProperties"] = False

    validators = {}
    for status, response in spec["paths"][URL]["post"]["responses"].items():
        schema = response["content"]["application/json"]["schema"]
        validators[int(status)] = Draft4Validator({**schema, "components": components})
    return validators


RESPONSE_VALIDATORS = _load_strict_responses()


def assert_matches_spec(response: httpx.Response) -> dict[str, Any]:
    """Check that the status is declared for buildImage and the body fits its schema, then return the body."""
    assert response.headers["content-type"].startswith("application/json")
    assert response.status_code in RESPONSE_VALIDATORS, f"status {response.status_code} is not in the spec"
    body = response.json()
    RESPONSE_VALIDATORS[response.status_code].validate(body)
    return body


@pytest.fixture(scope="module")
def app():
    return http.create_app()


@pytest.fixture
def client(app):
    with app.test_client() as test_client:
        yield test_client


@pytest.fixture
def operation_calls(monkeypatch) -> list[dict[str, Any]]:
    """Replace operations.build_image with a fake that records its keyword arguments and accepts."""
    calls: list[dict[str, Any]] = []

    def fake_build_image(**arguments: Any) -> dict[str, Any]:
        calls.append(arguments)
        return ACCEPTED_BODY

    monkeypatch.setattr(operations, "build_image", fake_build_image)
    return calls


def _fail_with(monkeypatch, error: Exception) -> None:
    def fake_build_image(**arguments: Any) -> dict[str, Any]:
        raise error

    monkeypatch.setattr(operations, "build_image", fake_build_image)


# Request validation by connexion, before any handler runs.


@pytest.mark.parametrize(
    ("params", "request_options", "message"),
    [
        ({}, {}, "Bad Request: request body is required"),
        ({}, {"json": {}}, "Bad Request: request body is required"),
        (
            {},
            {"content": b"null", "headers": {"content-type": "application/json"}},
            "Bad Request: request body is required",
        ),
        ({}, {"json": {"imageConfiguration": "Build: {}"}}, "Bad Request: 'imageId' is a required property"),
        ({}, {"json": {"imageId": "image1"}}, "Bad Request: 'imageConfiguration' is a required property"),
        (
            {},
            {"json": {"imageId": "_bad", "imageConfiguration": "Build: {}"}},
            "Bad Request: '_bad' does not match '^[a-zA-Z][a-zA-Z0-9-]+$'",
        ),
        (
            {},
            {"json": {"imageId": "a", "imageConfiguration": "Build: {}"}},
            "Bad Request: 'a' does not match '^[a-zA-Z][a-zA-Z0-9-]+$'",
        ),
        (
            {},
            {"json": {"imageId": "image1", "imageConfiguration": 5}},
            "Bad Request: 5 is not of type 'string'",
        ),
        ({}, {"json": ["image1"]}, "Bad Request: ['image1'] is not of type 'object'"),
        (
            {"suppressValidators": "ALLL"},
            {"json": VALID_BODY},
            "Bad Request: 'ALLL' does not match '^(ALL|type:[A-Za-z0-9]+)$'",
        ),
        (
            {"suppressValidators": "type:Bad-Name"},
            {"json": VALID_BODY},
            "Bad Request: 'type:Bad-Name' does not match '^(ALL|type:[A-Za-z0-9]+)$'",
        ),
        (
            [("suppressValidators", "ALL"), ("suppressValidators", "ALL")],
            {"json": VALID_BODY},
            "Bad Request: ['ALL', 'ALL'] has non-unique elements",
        ),
        (
            {"validationFailureLevel": "CRITICAL"},
            {"json": VALID_BODY},
            "Bad Request: 'CRITICAL' is not one of ['INFO', 'WARNING', 'ERROR']",
        ),
        (
            {"validationFailureLevel": "error"},
            {"json": VALID_BODY},
            "Bad Request: 'error' is not one of ['INFO', 'WARNING', 'ERROR']",
        ),
        (
            {"dryrun": "NO"},
            {"json": VALID_BODY},
            "Bad Request: Wrong type, expected 'boolean' for query parameter 'dryrun'",
        ),
        (
            {"rollbackOnFailure": "1"},
            {"json": VALID_BODY},
            "Bad Request: Wrong type, expected 'boolean' for query parameter 'rollbackOnFailure'",
        ),
    ],
    ids=[
        "no body",
        "empty object",
        "null body",
        "no imageId",
        "no imageConfiguration",
        "imageId pattern",
        "imageId one character",
        "imageConfiguration not string",
        "body not object",
        "unknown suppressor",
        "suppressor type with hyphen",
        "duplicate suppressor",
        "unknown level",
        "lowercase level",
        "dryrun not boolean",
        "rollbackOnFailure not boolean",
    ],
)
def test_invalid_request_rejected(client, operation_calls, params, request_options, message):
    response = client.post(URL, params=params, **request_options)

    assert response.status_code == 400
    assert assert_matches_spec(response) == {"message": message}
    assert operation_calls == []


def test_invalid_json_rejected(client, operation_calls):
    response = client.post(URL, content=b"{bad", headers={"content-type": "application/json"})

    assert response.status_code == 400
    assert response.json()["message"].startswith("Bad Request: Expecting property name")
    assert operation_calls == []


def test_other_content_type_rejected(client, operation_calls):
    response = client.post(URL, content=b"imageId=image1", headers={"content-type": "text/plain"})

    assert response.status_code == 415
    assert response.json() == {
        "message": "Unsupported Media Type: Invalid Content-type (text/plain), expected ['application/json']"
    }
    assert operation_calls == []


def test_unknown_path_and_method(client):
    not_found = client.get("/v3/images/unknown")
    wrong_method = client.get(URL)

    assert not_found.status_code == 404
    assert not_found.json() == {"message": "Not Found"}
    assert wrong_method.status_code == 405
    assert wrong_method.json() == {"message": "Method Not Allowed"}
    assert wrong_method.headers["allow"] == "POST"


# The handler, with operations.build_image replaced by a fake.


def test_handler_applies_defaults(client, operation_calls):
    response = client.post(URL, json=VALID_BODY)

    assert response.status_code == 202
    assert assert_matches_spec(response) == ACCEPTED_BODY
    assert operation_calls == [
        {
            "image_configuration": VALID_BODY["imageConfiguration"],
            "image_id": "image1",
            "dryrun": False,
            "region": None,
            "rollback_on_failure": False,
            "suppress_validators": None,
            "validation_failure_level": "ERROR",
        }
    ]


def test_handler_passes_every_parameter(client, operation_calls):
    params = [
        ("suppressValidators", "type:UrlValidator"),
        ("suppressValidators", "ALL"),
        ("validationFailureLevel", "WARNING"),
        ("dryrun", "true"),
        ("rollbackOnFailure", "True"),
        ("region", "eu-west-1"),
    ]

    response = client.post(URL, params=params, json=VALID_BODY)

    assert response.status_code == 202
    assert len(operation_calls) == 1
    arguments = operation_calls[0]
    assert arguments["suppress_validators"] == ["type:UrlValidator", "ALL"]
    assert arguments["validation_failure_level"] == "WARNING"
    assert arguments["dryrun"] is True
    assert arguments["rollback_on_failure"] is True
    assert arguments["region"] == "eu-west-1"


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (
            BadRequestError("region needs to be set"),
            400,
            {"message": "Bad Request: region needs to be set"},
        ),
        (
            ConfigurationInvalidError(
                "Configuration is invalid",
                [Message(Level.WARNING, "UrlValidator", "unreachable", ("DevSettings", "NodePackage"), 3, 16)],
            ),
            400,
            {
                "message": "Configuration is invalid",
                "configurationValidationErrors": [
                    {
                        "level": "WARNING",
                        "type": "UrlValidator",
                        "message": "unreachable",
                        "path": "DevSettings.NodePackage",
                        "line": 3,
                        "column": 16,
                    }
                ],
            },
        ),
        (
            ConflictError("ParallelCluster image image1 already exists."),
            409,
            {"message": "ParallelCluster image image1 already exists."},
        ),
        (DryrunOperationError(), 412, {"message": DRYRUN_MESSAGE}),
        (LimitExceededError("Rate exceeded"), 429, {"message": "Rate exceeded"}),
        (InternalServiceError("creation failed"), 500, {"message": "creation failed"}),
    ],
    ids=["bad request", "invalid configuration", "conflict", "dryrun", "throttled", "internal"],
)
def test_api_error_becomes_response(client, monkeypatch, error, status, body):
    _fail_with(monkeypatch, error)

    response = client.post(URL, json=VALID_BODY)

    assert response.status_code == status
    assert assert_matches_spec(response) == body


def test_unexpected_exception_logged(client, monkeypatch, caplog):
    error = RuntimeError("handler bug")
    _fail_with(monkeypatch, error)

    with caplog.at_level(logging.ERROR, logger=http.__name__):
        response = client.post(URL, json=VALID_BODY)

    assert response.status_code == 500
    assert assert_matches_spec(response) == {"message": http.UNEXPECTED_FAILURE_MESSAGE}
    records = [record for record in caplog.records if record.name == http.__name__]
    assert len(records) == 1
    assert records[0].levelno == logging.ERROR
    assert records[0].exc_info is not None
    assert records[0].exc_info[1] is error


def test_handler_does_not_block_event_loop(app, monkeypatch):
    # Each call waits until the other one has started. If a handler ran on the event loop,
    # the second request would never start and the barrier would time out.
    barrier = threading.Barrier(2, timeout=10)

    def fake_build_image(**arguments: Any) -> dict[str, Any]:
        barrier.wait()
        return ACCEPTED_BODY

    monkeypatch.setattr(operations, "build_image", fake_build_image)

    async def post_twice() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as async_client:
            return await asyncio.gather(
                async_client.post(URL, json={**VALID_BODY, "imageId": "first"}),
                async_client.post(URL, json={**VALID_BODY, "imageId": "second"}),
            )

    responses = asyncio.run(post_twice())

    assert [response.status_code for response in responses] == [202, 202]


# End to end against the moto server of tests/conftest.py. Tests that expect no AWS call still
# take the local_aws fixture, so that a call made by mistake reaches moto and not AWS. The other
# tests share one seeded account (shared_world) and build only under their own `image_id`.

LONG_IMAGE_ID = "a" * 129


@pytest.mark.parametrize(
    ("params", "body", "message"),
    [
        (
            {"region": "eu-west-"},
            {"imageConfiguration": "Build: {}"},
            "Bad Request: invalid or unsupported region 'eu-west-'",
        ),
        (
            {"region": "us-east-1"},
            {"imageConfiguration": "Region: eu-west-1\n"},
            "Bad Request: region is set in both parameter and configuration and conflicts.",
        ),
        (
            {"region": "us-east-1"},
            {"imageConfiguration": ""},
            "Bad Request: configuration is required and cannot be empty",
        ),
        (
            {"region": "us-east-1"},
            {"imageId": LONG_IMAGE_ID, "imageConfiguration": "Build: {}"},
            f"Image id '{LONG_IMAGE_ID}' failed to satisfy constraint: The process id can contain only "
            "alphanumeric characters (case-sensitive) and hyphens. It must start with an alphabetic character "
            "and can't be longer than 128 characters.",
        ),
    ],
    ids=["unsupported region", "conflicting regions", "empty configuration", "image id too long"],
)
def test_operation_rejects_request(client, local_aws, image_id, params, body, message):
    # The "image id too long" case sets its own imageId, which replaces the fixture's.
    response = client.post(URL, params=params, json={"imageId": image_id, **body})

    assert response.status_code == 400
    assert assert_matches_spec(response) == {"message": message}



def _build(client, render_shared, config: str, image_id: str, **params: Any) -> httpx.Response:
    body = {"imageId": image_id, "imageConfiguration": render_shared(config)}
    return client.post(URL, params=params, json=body)


def _stack_names() -> list[str]:
    """Return the names of every stack in the account, reading all pages (moto 5.2 returns 50 a page)."""
    paginator = boto3.client("cloudformation").get_paginator("describe_stacks")
    return [stack["StackName"] for page in paginator.paginate() for stack in page["Stacks"]]


def test_dryrun_passes(client, render_shared, image_id):
    stacks_before = _stack_names()

    response = _build(client, render_shared, PASSING_CONFIG, image_id, dryrun="true")

    assert response.status_code == 412
    assert assert_matches_spec(response) == {"message": DRYRUN_MESSAGE}
    assert _stack_names() == stacks_before


def test_dryrun_keeps_warnings(client, render_shared, image_id):
    response = _build(client, render_shared, MISSING_PACKAGE_CONFIG, image_id, dryrun="true")

    assert response.status_code == 412
    body = assert_matches_spec(response)
    assert body["message"] == DRYRUN_MESSAGE
    assert [(m["level"], m["type"]) for m in body["validationMessages"]] == [("WARNING", "UrlValidator")]


def test_failing_config_reports_location(client, render_shared, image_id):
    response = _build(client, render_shared, ARCHITECTURE_MISMATCH_CONFIG, image_id, dryrun="true")

    assert response.status_code == 400
    body = assert_matches_spec(response)
    assert body["message"] == "Configuration is invalid"
    errors = body["configurationValidationErrors"]
    assert len(errors) == 1
    assert errors[0]["type"] == "InstanceTypeBaseAMICompatibleValidator"
    assert errors[0]["level"] == "ERROR"
    assert "m6g.xlarge" in errors[0]["message"]
    assert errors[0]["path"] == "Build.InstanceType"
    # Line 2 is `  InstanceType: m6g.xlarge`, and the value starts in column 17.
    assert errors[0]["line"] == 2
    assert errors[0]["column"] == 17


def test_schema_error_reported(client, render_shared, image_id):
    response = _build(client, render_shared, SCHEMA_ERROR_CONFIG, image_id, dryrun="true")

    assert response.status_code == 400
    body = assert_matches_spec(response)
    assert body["message"] == "Invalid image configuration."
    errors = body["configurationValidationErrors"]
    assert len(errors) >= 1
    assert {error["type"] for error in errors} == {"ImageSchemaValidator"}
    assert {error["level"] for error in errors} == {"ERROR"}
    assert any("InstanceType" in error["message"] for error in errors)


@pytest.mark.parametrize(
    "text",
    ["notAYamldict", "[1, 2]", "Build: ["],
    ids=["scalar", "list", "broken YAML"],
)
def test_unparsable_config_rejected(client, local_aws, image_id, text):
    response = client.post(URL, params={"dryrun": "true"}, json={"imageId": image_id, "imageConfiguration": text})

    assert response.status_code == 400
    body = assert_matches_spec(response)
    assert set(body) == {"message", "line", "column"}
    assert body["message"].startswith("Bad Request: Configuration must be a valid YAML document. ")
    assert body["line"] >= 1


def test_build_creates_stack(client, render_shared, image_id):
    response = _build(client, render_shared, PASSING_CONFIG, image_id)

    assert response.status_code == 202
    body = assert_matches_spec(response)
    image = body["image"]
    assert image["imageId"] == image_id
    assert image["imageBuildStatus"] == "BUILD_IN_PROGRESS"
    assert image["region"] == "us-east-1"
    assert "validationMessages" not in body

    stacks = boto3.client("cloudformation").describe_stacks(StackName=image_id)["Stacks"]
    assert len(stacks) == 1
    assert stacks[0]["StackId"] == image["cloudformationStackArn"]
    assert stacks[0]["StackStatus"] == image["cloudformationStackStatus"]
    tags = {tag["Key"]: tag["Value"] for tag in stacks[0]["Tags"]}
    assert tags["parallelcluster:image_id"] == image_id


def test_second_build_conflicts(client, render_shared, image_id):
    first = _build(client, render_shared, PASSING_CONFIG, image_id)
    second = _build(client, render_shared, PASSING_CONFIG, image_id)

    assert first.status_code == 202
    assert second.status_code == 409
    assert assert_matches_spec(second) == {
        "message": f"ParallelCluster build infrastructure for image {image_id} or a CloudFormation Stack with the "
        "same name already exists."
    }


@pytest.mark.parametrize(
    "suppressors",
    [["type:InstanceTypeBaseAMICompatibleValidator"], ["ALL"], ["type:UrlValidator", "ALL"]],
    ids=["by type", "all", "type and all"],
)
def test_suppressed_validator_passes(client, render_shared, image_id, suppressors):
    response = _build(
        client,
        render_shared,
        ARCHITECTURE_MISMATCH_CONFIG,
        image_id,
        dryrun="true",
        suppressValidators=suppressors,
    )

    assert response.status_code == 412
    assert assert_matches_spec(response) == {"message": DRYRUN_MESSAGE}


def test_other_type_does_not_suppress(client, render_shared, image_id):
    response = _build(
        client,
        render_shared,
        ARCHITECTURE_MISMATCH_CONFIG,
        image_id,
        dryrun="true",
        suppressValidators="type:UrlValidator",
    )

    assert response.status_code == 400
    body = assert_matches_spec(response)
    assert [error["type"] for error in body["configurationValidationErrors"]] == [
        "InstanceTypeBaseAMICompatibleValidator"
    ]


def test_schema_error_not_suppressed(client, render_shared, image_id):
    response = _build(client, render_shared, SCHEMA_ERROR_CONFIG, image_id, dryrun="true", suppressValidators="ALL")

    assert response.status_code == 400
    assert assert_matches_spec(response)["message"] == "Invalid image configuration."


@pytest.mark.parametrize(
    ("level", "status"),
    [(None, 412), ("ERROR", 412), ("WARNING", 400), ("INFO", 400)],
    ids=["default", "error", "warning", "info"],
)
def test_failure_level_with_warning(client, render_shared, image_id, level, status):
    params = {"dryrun": "true"}
    if level is not None:
        params["validationFailureLevel"] = level

    response = _build(client, render_shared, MISSING_PACKAGE_CONFIG, image_id, **params)

    assert response.status_code == status
    body = assert_matches_spec(response)
    if status == 412:
        messages = body["validationMessages"]
    else:
        assert body["message"] == "Configuration is invalid"
        messages = body["configurationValidationErrors"]
    assert [(m["level"], m["type"]) for m in messages] == [("WARNING", "UrlValidator")]


@pytest.mark.parametrize("level", ["INFO", "WARNING", "ERROR"])
def test_failure_level_with_error(client, render_shared, image_id, level):
    response = _build(
        client, render_shared, ARCHITECTURE_MISMATCH_CONFIG, image_id, dryrun="true", validationFailureLevel=level
    )

    assert response.status_code == 400
    assert assert_matches_spec(response)["message"] == "Configuration is invalid"


def test_build_returns_warnings(client, render_shared, image_id):
    response = _build(client, render_shared, MISSING_PACKAGE_CONFIG, image_id)

    assert response.status_code == 202
    body = assert_matches_spec(response)
    assert body["image"]["imageId"] == image_id
    assert [(m["level"], m["type"]) for m in body["validationMessages"]] == [("WARNING", "UrlValidator")]
    assert image_id in _stack_names()


# A real uvicorn server started through http.serve().


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_listening(port: int, server: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited with status {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not listen on 127.0.0.1:{port} within {timeout} s")


def test_uvicorn_server_serves_dryrun(render_shared, image_id):
    port = _free_port()
    code = f"from pcimage.api_adapter.http import serve; serve(port={port})"
    # The environment carries the moto endpoint and dummy credentials set by the local_aws fixture.
    server = subprocess.Popen(
        [sys.executable, "-c", code],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_until_listening(port, server)
        body = {"imageId": image_id, "imageConfiguration": render_shared(PASSING_CONFIG)}
        # trust_env=False keeps any proxy set in the environment out of the way.
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=60) as http_client:
            response = http_client.post(URL, params={"dryrun": "true"}, json=body)
    finally:
        server.terminate()
        try:
            _, stderr = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            _, stderr = server.communicate()

    assert response.status_code == 412
    assert assert_matches_spec(response) == {"message": DRYRUN_MESSAGE}
    assert b"Uvicorn running on http://127.0.0.1:" in stderr
