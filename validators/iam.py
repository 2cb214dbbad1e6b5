"""Checks that the IAM roles, instance profile and policies named in `Build.Iam` exist."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pcimage.engine import Finding, KeyPath, Level, ValidationContext

from .awscalls import AwsCallError, call, client, memoize, partition_of, region_of
from .base import dig, run_isolated

IAM_PATH = ("Build", "Iam")


def resource_name(arn: str) -> str:
    """Return the part of an IAM ARN after its last `/`, which is the role or profile name."""
    return arn.rsplit("/", 1)[-1] if arn else ""


def check_exists(context: ValidationContext, operation: str, path: KeyPath, **params: Any) -> Iterator[Finding]:
    """Send one IAM read request and yield an ERROR with the service's text if it fails."""
    try:
        call(client(context, "iam"), operation, **params)
    except AwsCallError as error:
        yield Finding(Level.ERROR, str(error), path)


def check_policy_exists(context: ValidationContext, policy_arn: str, path: KeyPath) -> Iterator[Finding]:
    """Yield an ERROR with IAM's text if GetPolicy fails; each ARN is requested once per AWS access."""
    try:
        memoize(
            context,
            ("iam.get_policy", policy_arn),
            lambda: call(client(context, "iam"), "get_policy", PolicyArn=policy_arn),
        )
    except AwsCallError as error:
        yield Finding(Level.ERROR, str(error), path)


class AdditionalIamPolicyValidator:
    """Checks with IAM GetPolicy that each `AdditionalIamPolicies` entry exists.

    The AWS managed CloudWatchAgentServerPolicy of the region's partition is not looked up,
    because ParallelCluster attaches it itself.
    """

    type = "AdditionalIamPolicyValidator"
    needs_aws = True

    def validate(self, config: Mapping[str, Any], context: ValidationContext) -> Iterator[Finding]:
        policies = dig(config, "Build", "Iam", "AdditionalIamPolicies") or []
        skipped = f"arn:{partition_of(region_of(context))}:iam::aws:policy/CloudWatchAgentServerPolicy"

        for index, entry in enumerate(policies):
            policy_arn = entry.get("Policy")
            path = (*IAM_PATH, "AdditionalIamPolicies", index, "Policy")
            if policy_arn == skipped:
                continue
            # Default arguments bind this iteration's values into the check.
            yield from run_isolated(
                lambda policy_arn=policy_arn, path=path: check_policy_exists(context, policy_arn, path), path, self.type
            )


class InstanceProfileValidator:
    """Checks with IAM GetInstanceProfile that `InstanceProfile` exists.

    ParallelCluster checks the profile only when no `InstanceRole` is set.
    """

    type = "InstanceProfileValidator"
    needs_aws = True

    def validate(self, config: Mapping[str, Any], context: ValidationContext) -> list[Finding]:
        if dig(config, "Build", "Iam", "InstanceRole"):
            return []
        profile_arn = dig(config, "Build", "Iam", "InstanceProfile")
        if not profile_arn:
            return []

        path = (*IAM_PATH, "InstanceProfile")
        return run_isolated(
            lambda: check_exists(context, "get_instance_profile", path, InstanceProfileName=resource_name(profile_arn)),
            path,
            self.type,
        )


class RoleValidator:
    """Checks with IAM GetRole that `InstanceRole` and then `CleanupLambdaRole` exist."""

    type = "RoleValidator"
    needs_aws = True

    def validate(self, config: Mapping[str, Any], context: ValidationContext) -> Iterator[Finding]:
        for key in ("InstanceRole", "CleanupLambdaRole"):
            role_arn = dig(config, "Build", "Iam", key)
            if not role_arn:
                continue
            path = (*IAM_PATH, key)
            yield from run_isolated(
                lambda path=path, role_arn=role_arn: check_exists(
                    context, "get_role", path, RoleName=resource_name(role_arn)
                ),
                path,
                self.type,
            )


class IamPolicyValidator:
    """Checks with IAM GetPolicy that the `PermissionsBoundary` policy exists."""

    type = "IamPolicyValidator"
    needs_aws = True

    def validate(self, config: Mapping[str, Any], context: ValidationContext) -> list[Finding]:
        policy_arn = dig(config, "Build", "Iam", "PermissionsBoundary")
        if not policy_arn:
            return []

        path = (*IAM_PATH, "PermissionsBoundary")
        return run_isolated(lambda: check_policy_exists(context, policy_arn, path), path, self.type)
