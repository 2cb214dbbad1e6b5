"""The library door: build_image as a Python call, and what it sends to AWS."""

from __future__ import annotations

import boto3
import pytest

from pcimage.api_adapter import ApiError, build_image, call
from pcimage.api_adapter.aws import AwsAccess
from pcimage.api_adapter.errors import DryrunOperationError

MINIMAL = "Build:\n  InstanceType: c5.xlarge\n  ParentImage: ${PARENT_AMI_X86}\n"


@pytest.fixture
def recording_aws(local_aws):
    """AwsAccess whose session records every request's parameters, by operation name."""
    session = boto3.session.Session(region_name="us-east-1")
    requests: dict[str, list[dict]] = {}

    def record(params, model, **_):
        requests.setdefault(model.name, []).append(dict(params))

    session.events.register("provide-client-params.*.*", record)
    access = AwsAccess("us-east-1", session=session)
    access.requests = requests
    return access


@pytest.mark.parametrize(("rollback", "disable_rollback"), [(False, True), (True, False)])
def test_rollback_flag_reaches_create_stack(render_shared, recording_aws, rollback, disable_rollback, image_id):
    build_image(render_shared(MINIMAL), image_id, rollback_on_failure=rollback, aws=recording_aws)

    [request] = recording_aws.requests["CreateStack"]
    assert request["StackName"] == image_id
    assert request["DisableRollback"] is disable_rollback
    assert "OnFailure" not in request


def test_dryrun_makes_only_read_calls(render_shared, recording_aws, image_id):
    with pytest.raises(DryrunOperationError):
        build_image(render_shared(MINIMAL), image_id, dryrun=True, aws=recording_aws)

    called = set(recording_aws.requests)
    assert called
    assert all(name.startswith(("Describe", "Get", "List", "Head")) for name in called), called


def test_dryrun_error_carries_status_and_messages(render_shared, local_aws, image_id):
    text = render_shared(MINIMAL + "DevSettings:\n  NodePackage: s3://${BUCKET}/missing.tgz\n")

    with pytest.raises(ApiError) as caught:
        build_image(text, image_id, dryrun=True)

    assert caught.value.status == 412
    assert caught.value.body["message"] == "Request would have succeeded, but DryRun flag is set."
    assert [m["type"] for m in caught.value.body["validationMessages"]] == ["UrlValidator"]


def test_call_returns_status_and_body(render_shared, local_aws, image_id):
    status, body = call(build_image, image_configuration=render_shared(MINIMAL), image_id=image_id)

    assert status == 202
    assert body["image"]["imageBuildStatus"] == "BUILD_IN_PROGRESS"
    assert "validationMessages" not in body


def test_missing_credentials_is_clear(render_shared, local_aws, monkeypatch, image_id):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)

    status, body = call(build_image, image_configuration=render_shared(MINIMAL), image_id=image_id, dryrun=True)

    assert status == 500
    assert body["message"].startswith("Unable to locate AWS credentials")


def test_unreachable_endpoint_is_clear(render_shared, local_aws, monkeypatch, image_id):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")

    status, body = call(build_image, image_configuration=render_shared(MINIMAL), image_id=image_id, dryrun=True)

    assert status == 500
    assert body["message"].startswith("Unable to reach AWS")


def test_image_id_with_trailing_newline_rejected(render_shared):
    with pytest.raises(ApiError) as caught:
        build_image(render_shared(MINIMAL), "abc\n", dryrun=True)

    assert caught.value.status == 400
    assert caught.value.body["message"].startswith("Image id 'abc\n' failed to satisfy constraint")


@pytest.mark.parametrize(
    ("suppress", "level", "complaint"),
    [(["ALLL"], "ERROR", "'ALLL' does not match"), (None, "CRITICAL", "'CRITICAL' is not one of")],
)
def test_bad_options_rejected(render_shared, suppress, level, complaint):
    with pytest.raises(ApiError) as caught:
        build_image(render_shared(MINIMAL), "abc", dryrun=True, suppress_validators=suppress, validation_failure_level=level)

    assert caught.value.status == 400
    assert complaint in caught.value.body["message"]
