"""Checks specific to the image build: parent AMI volume size, component count, NVIDIA software."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pcimage.engine import Finding, Level, ValidationContext

from .awscalls import describe_image, nvidia_gpu_count, resolve_ami_id
from .base import dig, run_isolated

ROOT_VOLUME_SIZE_PATH = ("Image", "RootVolume", "Size")
INSTANCE_TYPE_PATH = ("Build", "InstanceType")
COMPONENTS_PATH = ("Build", "Components")

#: Maximum number of user components ParallelCluster accepts in `Build.Components`.
MAX_COMPONENTS = 15


class AMIVolumeSizeValidator:
    """Rejects a root volume smaller than the parent AMI's first block device.

    Runs only when `Image.RootVolume.Size` is set and non-zero. A failed AMI lookup is reported
    with the AWS text, because ParallelCluster does not catch it in this validator.
    """

    type = "AMIVolumeSizeValidator"
    needs_aws = True

    def validate(self, config: Mapping[str, Any], context: ValidationContext) -> list[Finding]:
        size = dig(config, "Image", "RootVolume", "Size")
        if not size:
            return []
        parent_image = dig(config, "Build", "ParentImage")

        def check() -> Iterator[Finding]:
            image = describe_image(context, resolve_ami_id(context, parent_image))
            # Indexing as ParallelCluster does: an AMI without block devices raises, and the
            # exception text becomes the message.
            minimum = image.get("BlockDeviceMappings")[0].get("Ebs").get("VolumeSize")
            if size < minimum:
                yield Finding(
                    Level.ERROR,
                    f"Root volume size {size} GB is less than the minimum required size {minimum} GB "
                    "that equals parent ami volume size.",
                    ROOT_VOLUME_SIZE_PATH,
                )

        return run_isolated(check, ROOT_VOLUME_SIZE_PATH, self.type)


class InstanceTypeSoftwareValidator:
    """Rejects NVIDIA software installation (`Build.Installation.NvidiaSoftware.Enabled`) without an NVIDIA GPU.

    ParallelCluster 3.16.1 added this check along with the `Installation` section.
    """

    type = "InstanceTypeSoftwareValidator"
    needs_aws = True

    def validate(self, config: Mapping[str, Any], context: ValidationContext) -> list[Finding]:
        if not dig(config, "Build", "Installation", "NvidiaSoftware", "Enabled"):
            return []
        instance_type = dig(config, "Build", "InstanceType")

        def check() -> Iterator[Finding]:
            if nvidia_gpu_count(context, instance_type) == 0:
                yield Finding(
                    Level.ERROR,
                    f"Instance type {instance_type} does not have GPU. "
                    "NVIDIA software can only be installed on GPU instances.",
                    INSTANCE_TYPE_PATH,
                )

        return run_isolated(check, INSTANCE_TYPE_PATH, self.type)


class ComponentsValidator:
    """Rejects more than MAX_COMPONENTS entries in `Build.Components`."""

    type = "ComponentsValidator"
    needs_aws = False

    def validate(self, config: Mapping[str, Any], context: ValidationContext) -> Iterator[Finding]:
        components = dig(config, "Build", "Components") or []
        if len(components) > MAX_COMPONENTS:
            yield Finding(
                Level.ERROR,
                f"Number of build components is {len(components)}. "
                f"It's not possible to specify more than {MAX_COMPONENTS} build components.",
                COMPONENTS_PATH,
            )
