"""The built-in validators, registered through the `pcimage.validators` entry point.

The list order is ParallelCluster 3.16.1's run order for an image configuration, which is also
the order of the messages it returns: a post-order walk over Image, Build, DevSettings and
DeploymentSettings, then the root's own checks, then the URL checks.
"""

from __future__ import annotations

from pcimage.engine import Validator, hookimpl

from .devsettings import CliAttributeOverridesValidator, ExtraChefAttributesValidator
from .ebs import EbsVolumeTypeSizeValidator
from .ec2 import InstanceTypeBaseAMICompatibleValidator
from .iam import AdditionalIamPolicyValidator, IamPolicyValidator, InstanceProfileValidator, RoleValidator
from .imagebuilder import AMIVolumeSizeValidator, ComponentsValidator, InstanceTypeSoftwareValidator
from .kms import KmsKeyIdEncryptedValidator, KmsKeyValidator
from .networking import LambdaFunctionsVpcConfigValidator, SecurityGroupsAndSubnetValidator, SecurityGroupsValidator
from .s3 import S3BucketRegionValidator, S3BucketValidator
from .urls import UrlValidator


@hookimpl(tryfirst=True)
def pcimage_validators() -> list[Validator]:
    """Return one instance of each built-in validator, in run order, ahead of other plugins."""
    return [
        # Image.RootVolume
        KmsKeyIdEncryptedValidator(),
        KmsKeyValidator(),
        # Build.Iam. ParallelCluster checks InstanceRole, or else InstanceProfile, then
        # CleanupLambdaRole. The schema rejects InstanceRole together with InstanceProfile, so
        # running the profile check before both role checks keeps that order.
        AdditionalIamPolicyValidator(),
        InstanceProfileValidator(),
        RoleValidator(),
        IamPolicyValidator(),
        # Build
        InstanceTypeBaseAMICompatibleValidator(),
        InstanceTypeSoftwareValidator(),
        ComponentsValidator(),
        SecurityGroupsValidator(),
        SecurityGroupsAndSubnetValidator(),
        # DevSettings
        ExtraChefAttributesValidator(),
        CliAttributeOverridesValidator(),
        # DeploymentSettings
        LambdaFunctionsVpcConfigValidator(),
        # The root's own checks
        EbsVolumeTypeSizeValidator(),
        AMIVolumeSizeValidator(),
        S3BucketValidator(),
        S3BucketRegionValidator(),
        # ParallelCluster runs the URL checks concurrently and appends their results last.
        UrlValidator(),
    ]
