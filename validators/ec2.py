"""Checks of the build instance type against the region and the parent AMI."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pcimage.engine import Finding, Level, ValidationContext

from .awscalls import AwsCallError, describe_image, offered_instance_types, resolve_ami_id, supported_architectures
from .base import dig, run_isolated

INSTANCE_TYPE_PATH = ("Build", "InstanceType")
PARENT_IMAGE_PATH = ("Build", "ParentImage")

#: Instance families whose GPUs predate Turing, so NVIDIA's open-source (OpenRM) driver cannot run
#: on them; ParallelCluster 3.16.1 official AMIs ship that driver.
NVIDIA_OPENRM_UNSUPPORTED_FAMILIES = frozenset({"p3", "p3dn", "p2", "g3", "g3s", "g2"})

#: Text in the description of ParallelCluster's official AMIs.
OFFICIAL_AMI_DESCRIPTION = "AWS ParallelCluster AMI"


class InstanceTypeBaseAMICompatibleValidator:
    """Checks that the parent AMI exists, the instance type is offered, and the two fit together.

    In order: the AMI lookup, the regional offering, the architecture match, and the NVIDIA OpenRM
    check for official AMIs. A failure of the offering or instance type lookup is not caught, so
    its text replaces every other message of this validator, as in ParallelCluster.
    """

    type = "InstanceTypeBaseAMICompatibleValidator"
    needs_aws = True

    def validate(self, config: Mapping[str, Any], context: ValidationContext) -> list[Finding]:
        instance_type = dig(config, "Build", "InstanceType")
        parent_image = dig(config, "Build", "ParentImage")

        def check() -> list[Finding]:
            findings: list[Finding] = []

            try:
                image = describe_image(context, resolve_ami_id(context, parent_image))
            except AwsCallError:
                image = None
                findings.append(Finding(Level.ERROR, f"Invalid image '{parent_image}'.", PARENT_IMAGE_PATH))

            if instance_type in offered_instance_types(context):
                architectures = supported_architectures(context, instance_type)
            else:
                architectures = []
                findings.append(
                    Finding(Level.ERROR, f"The instance type '{instance_type}' is not supported.", INSTANCE_TYPE_PATH)
                )

            if image is not None and architectures and image.get("Architecture") not in architectures:
                findings.append(
                    Finding(
                        Level.ERROR,
                        f"AMI {image.get('ImageId')}'s architecture ({image.get('Architecture')}) is incompatible "
                        f"with the architecture supported by the instance type {instance_type} chosen "
                        f"({architectures}). Use either a different AMI or a different instance type.",
                        INSTANCE_TYPE_PATH,
                    )
                )

            family = instance_type.split(".")[0]
            description = (image or {}).get("Description") or ""
            if OFFICIAL_AMI_DESCRIPTION in description and family in NVIDIA_OPENRM_UNSUPPORTED_FAMILIES:
                findings.append(
                    Finding(
                        Level.ERROR,
                        f"The instance type '{instance_type}' is not supported by NVIDIA OpenRM drivers. "
                        "OpenRM can only be used on any Turing or later GPU architectures. "
                        "Please consider building a custom AMI with closed source NVIDIA drivers "
                        "and then suppress this validator or using a different instance type.",
                        INSTANCE_TYPE_PATH,
                    )
                )

            return findings

        return run_isolated(check, INSTANCE_TYPE_PATH, self.type)
