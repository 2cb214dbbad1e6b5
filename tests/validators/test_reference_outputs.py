"""The built-in validators against ParallelCluster 3.16.1's recorded verdicts.

Each `reference/NAME.yaml` was run through the reference `pcluster build-image --dryrun true
--validation-failure-level INFO`, and its output is kept in `reference/NAME.json` with the seeded
ids written as `${NAME}` placeholders (see record_reference.py). Both accounts are seeded alike,
so the same config must give the same messages here, in the same order.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pcimage.api_adapter.aws import AwsAccess
from pcimage.engine import ValidationContext, validate_config

REFERENCE_DIR = Path(__file__).parent / "reference"
CASES = sorted(path.stem for path in REFERENCE_DIR.glob("*.yaml"))
DRYRUN_SUCCESS = "Request would have succeeded, but DryRun flag is set."

# Configs on which the reference aborts the whole request with an exception's text instead of
# returning validation messages. pcimage reports that text as one message of the validator that
# raised it, so the other checks still report. Each entry lists pcimage's (type, level) pairs.
REFERENCE_ABORTS = {
    # An s3 bucket name that botocore rejects raises ParamValidationError inside the URL check.
    "urls_s3_invalid_bucket_name": [("UrlValidator", "ERROR")],
    # urllib raises http.client.InvalidURL, which ParallelCluster does not catch.
    "urls_https_invalid_port": [("UrlValidator", "ERROR")],
}

pytestmark = pytest.mark.reference


def test_every_config_has_a_recording():
    assert CASES
    for name in CASES:
        assert (REFERENCE_DIR / f"{name}.json").is_file(), name


def validate_reference_config(name, world, render_config):
    config_text = render_config((REFERENCE_DIR / f"{name}.yaml").read_text())
    context = ValidationContext(region=world["REGION"], aws=AwsAccess(world["REGION"]))
    return validate_config(config_text, context=context, failure_level="INFO")


def recorded_response(name, render_config):
    recorded = json.loads((REFERENCE_DIR / f"{name}.json").read_text())
    return json.loads(render_config(json.dumps(recorded["response"])))


@pytest.mark.parametrize("name", [name for name in CASES if name not in REFERENCE_ABORTS])
def test_messages_match_reference(name, world, render_config):
    response = recorded_response(name, render_config)
    expected = response.get("configurationValidationErrors", [])
    if not expected:
        assert response == {"message": DRYRUN_SUCCESS}

    report = validate_reference_config(name, world, render_config)
    actual = [{"level": m.level.name, "type": m.type, "message": m.message} for m in report.messages]

    assert report.config is not None, f"schema rejected {name}: {actual}"
    assert [(m["type"], m["level"]) for m in actual] == [(m["type"], m["level"]) for m in expected]
    assert [m["message"] for m in actual] == [m["message"] for m in expected]
    assert report.failed is bool(expected)


@pytest.mark.parametrize("name", sorted(REFERENCE_ABORTS))
def test_reference_abort_becomes_message(name, world, render_config):
    response = recorded_response(name, render_config)
    assert "configurationValidationErrors" not in response
    assert response["message"] != DRYRUN_SUCCESS

    report = validate_reference_config(name, world, render_config)

    assert [(m.type, m.level.name) for m in report.messages] == REFERENCE_ABORTS[name]
