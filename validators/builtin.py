"""The built-in validators, registered through the `pcimage.validators` entry point.

The list order is ParallelCluster 3.16.1's run order for an image configuration, which is also
the order of the messages it returns: a post-order walk over Image, Build, DevSettings and
DeploymentSettings, then the root's own checks, then the URL checks.
"""

from __future__ import annotations

from pcimage.engine import Validator, hookimpl

from .ec2 import InstanceTypeBaseAMICompatibleValidator
from .imagebuilder import AMIVolumeSizeValidator
from .kms import KmsKeyIdEncryptedValidator


@hookimpl
def pcimage_validators() -> list[Validator]:
    """Return one instance of each built-in validator, in run order."""
    return [
        KmsKeyIdEncryptedValidator(),
        InstanceTypeBaseAMICompatibleValidator(),
        AMIVolumeSizeValidator(),
    ]
