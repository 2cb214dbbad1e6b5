"""The IAM validators: roles, instance profile, additional policies and permissions boundary."""

from __future__ import annotations

from pcimage.engine import Finding, Level, ValidationContext
from pcimage.validators.iam import (
    AdditionalIamPolicyValidator,
    IamPolicyValidator,
    InstanceProfileValidator,
    RoleValidator,
)

IAM_PATH = ("Build", "Iam")


def run(validator, config, context):
    return list(validator.validate(config, context))


def count_calls(context, service, operation):
    calls = []
    context.aws.client(service).meta.events.register(
        f"provide-client-params.{service}.{operation}", lambda **kwargs: calls.append(kwargs["params"])
    )
    return calls


def test_existing_iam_resources_accepted(make_config, context, world):
    config = make_config(
        {
            "Iam": {
                "InstanceRole": world["INSTANCE_ROLE_ARN"],
                "CleanupLambdaRole": world["CLEANUP_LAMBDA_ROLE_ARN"],
                "PermissionsBoundary": world["PERMISSIONS_BOUNDARY_ARN"],
            }
        }
    )
    profile = make_config({"Iam": {"InstanceProfile": world["INSTANCE_PROFILE_ARN"]}})

    assert run(RoleValidator(), config, context) == []
    assert run(IamPolicyValidator(), config, context) == []
    assert run(InstanceProfileValidator(), profile, context) == []


def test_missing_roles_each_reported(make_config, context, world):
    account = world["ACCOUNT_ID"]
    config = make_config(
        {
            "Iam": {
                "InstanceRole": f"arn:aws:iam::{account}:role/no-such-role",
                "CleanupLambdaRole": f"arn:aws:iam::{account}:role/team/no-such-cleanup",
            }
        }
    )

    findings = run(RoleValidator(), config, context)

    assert findings == [
        Finding(Level.ERROR, "Role no-such-role not found", (*IAM_PATH, "InstanceRole")),
        Finding(Level.ERROR, "Role no-such-cleanup not found", (*IAM_PATH, "CleanupLambdaRole")),
    ]


def test_role_looked_up_by_last_arn_segment(make_config, context, world):
    calls = count_calls(context, "iam", "GetRole")
    config = make_config({"Iam": {"CleanupLambdaRole": f"arn:aws:iam::{world['ACCOUNT_ID']}:role/a/b/image-cleanup-role"}})

    assert run(RoleValidator(), config, context) == []
    assert calls == [{"RoleName": "image-cleanup-role"}]


def test_missing_instance_profile_reported(make_config, context, world):
    arn = f"arn:aws:iam::{world['ACCOUNT_ID']}:instance-profile/no-such-profile"

    findings = run(InstanceProfileValidator(), make_config({"Iam": {"InstanceProfile": arn}}), context)

    assert findings == [Finding(Level.ERROR, "Instance profile no-such-profile not found", (*IAM_PATH, "InstanceProfile"))]


def test_profile_skipped_when_role_given(make_config, context, world):
    calls = count_calls(context, "iam", "GetInstanceProfile")
    config = make_config(
        {
            "Iam": {
                "InstanceRole": world["INSTANCE_ROLE_ARN"],
                "InstanceProfile": f"arn:aws:iam::{world['ACCOUNT_ID']}:instance-profile/no-such-profile",
            }
        }
    )

    assert run(InstanceProfileValidator(), config, context) == []
    assert calls == []


def test_missing_boundary_reported(make_config, context, world):
    arn = f"arn:aws:iam::{world['ACCOUNT_ID']}:policy/no-such-boundary"

    findings = run(IamPolicyValidator(), make_config({"Iam": {"PermissionsBoundary": arn}}), context)

    assert findings == [Finding(Level.ERROR, f"Policy {arn} not found", (*IAM_PATH, "PermissionsBoundary"))]


def test_additional_policies_reported_by_index(make_config, context, world):
    missing = f"arn:aws:iam::{world['ACCOUNT_ID']}:policy/no-such-policy"
    policies = [
        {"Policy": world["PERMISSIONS_BOUNDARY_ARN"]},
        {"Policy": missing},
        {"Policy": "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"},
    ]

    findings = run(AdditionalIamPolicyValidator(), make_config({"Iam": {"AdditionalIamPolicies": policies}}), context)

    assert findings == [
        Finding(Level.ERROR, f"Policy {missing} not found", (*IAM_PATH, "AdditionalIamPolicies", 1, "Policy"))
    ]


def test_cloudwatch_agent_policy_not_looked_up(make_config, context):
    calls = count_calls(context, "iam", "GetPolicy")
    policies = [{"Policy": "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"}]

    assert run(AdditionalIamPolicyValidator(), make_config({"Iam": {"AdditionalIamPolicies": policies}}), context) == []
    assert calls == []


def test_cloudwatch_skip_follows_partition(make_config, world):
    class RecordingIam:
        def __init__(self):
            self.requested = []

        def get_policy(self, PolicyArn):  # noqa: N803 (boto3's parameter name)
            self.requested.append(PolicyArn)
            return {}

    class RecordingAccess:
        def __init__(self):
            self.iam = RecordingIam()
            self.cache = {}

        def client(self, service_name):
            return self.iam

    access = RecordingAccess()
    context = ValidationContext(region="cn-north-1", aws=access)
    policies = [
        {"Policy": "arn:aws-cn:iam::aws:policy/CloudWatchAgentServerPolicy"},
        {"Policy": "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"},
    ]

    assert run(AdditionalIamPolicyValidator(), make_config({"Iam": {"AdditionalIamPolicies": policies}}), context) == []
    # Only the China partition's ARN is skipped in cn-north-1, so the aws one is looked up.
    assert access.iam.requested == ["arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"]


def test_policy_exception_isolated_to_its_entry(make_config):
    class FlakyIam:
        def get_policy(self, PolicyArn):  # noqa: N803 (boto3's parameter name)
            if PolicyArn.endswith("/broken"):
                raise RuntimeError("connection pool is closed")
            return {}

    class FlakyAccess:
        cache: dict = {}

        def client(self, service_name):
            return FlakyIam()

    context = ValidationContext(region="us-east-1", aws=FlakyAccess())
    policies = [{"Policy": "arn:aws:iam::1:policy/broken"}, {"Policy": "arn:aws:iam::1:policy/fine"}]

    findings = run(AdditionalIamPolicyValidator(), make_config({"Iam": {"AdditionalIamPolicies": policies}}), context)

    assert findings == [
        Finding(Level.ERROR, "connection pool is closed", (*IAM_PATH, "AdditionalIamPolicies", 0, "Policy"))
    ]


def test_iam_validators_silent_without_iam(make_config, context):
    config = make_config()

    for validator in (AdditionalIamPolicyValidator(), InstanceProfileValidator(), RoleValidator(), IamPolicyValidator()):
        assert run(validator, config, context) == [], validator.type
