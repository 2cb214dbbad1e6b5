"""The AWS side of pcimage: image operations, the build stack, and the CLI and HTTP front ends."""

from .aws import AwsAccess
from .errors import ApiError
from .operations import PARALLELCLUSTER_VERSION, build_image, call

__all__ = ["PARALLELCLUSTER_VERSION", "ApiError", "AwsAccess", "build_image", "call"]
