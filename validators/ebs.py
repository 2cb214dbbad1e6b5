"""Check of the root volume size against the bounds of its EBS volume type."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pcimage.engine import Finding, Level, ValidationContext

from .base import dig

ROOT_VOLUME_SIZE_PATH = ("Image", "RootVolume", "Size")

#: ParallelCluster always builds the image's root volume as gp3.
ROOT_VOLUME_TYPE = "gp3"

#: Size bounds in GiB of a gp3 volume, as ParallelCluster 3.16.1 checks them.
GP3_MIN_SIZE_GIB = 1
GP3_MAX_SIZE_GIB = 16 * 1024


class EbsVolumeTypeSizeValidator:
    """Checks `Image.RootVolume.Size` against the gp3 bounds; runs only when the size is non-zero."""

    type = "EbsVolumeTypeSizeValidator"
    needs_aws = False

    def validate(self, config: Mapping[str, Any], context: ValidationContext) -> Iterator[Finding]:
        size = dig(config, "Image", "RootVolume", "Size")
        if not size:
            return
        if size > GP3_MAX_SIZE_GIB:
            yield Finding(
                Level.ERROR,
                f"The size of {ROOT_VOLUME_TYPE} volumes can not exceed {GP3_MAX_SIZE_GIB} GiB.",
                ROOT_VOLUME_SIZE_PATH,
            )
        elif size < GP3_MIN_SIZE_GIB:
            yield Finding(
                Level.ERROR,
                f"The size of {ROOT_VOLUME_TYPE} volumes must be at least {GP3_MIN_SIZE_GIB} GiB.",
                ROOT_VOLUME_SIZE_PATH,
            )
