"""The AWS side of pcimage: image operations, the build stack, and the CLI and HTTP front ends."""

from .errors import ApiError
from .operations import PARALLELCLUSTER_VERSION, build_image, call

__all__ = ["PARALLELCLUSTER_VERSION", "ApiError", "build_image", "call"]
