"""Access to AWS through boto3: one session per region, one client per service."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

import botocore.config
import botocore.exceptions

if TYPE_CHECKING:
    import boto3

logger = logging.getLogger(__name__)

# Retries are bounded so that an unreachable endpoint fails a request in seconds, not minutes.
_CLIENT_CONFIG = botocore.config.Config(
    retries={"max_attempts": 3, "mode": "standard"},
    connect_timeout=5,
    read_timeout=30,
)


class AwsSetupError(Exception):
    """boto3 cannot create a client from this machine's AWS settings (for example a malformed endpoint URL)."""


class AwsAccess:
    """boto3 clients for one region, created on first use and shared by every validator.

    boto3 reads the endpoint (`AWS_ENDPOINT_URL`), credentials and profile from the usual
    environment and configuration files.
    """

    def __init__(self, region: str, session: boto3.session.Session | None = None):
        # boto3 is imported on first use: an offline dryrun never needs it, and it costs about
        # 80 ms of the CLI's start.
        import boto3

        self.region = region
        self._session = session or boto3.session.Session(region_name=region)
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.cache: dict[Any, Any] = {}

    def client(self, service_name: str) -> Any:
        """Return the boto3 client for `service_name` in this region."""
        with self._lock:
            if service_name not in self._clients:
                try:
                    self._clients[service_name] = self._session.client(
                        service_name, region_name=self.region, config=_CLIENT_CONFIG
                    )
                except ValueError as error:
                    # botocore raises a bare ValueError for an endpoint URL it cannot use.
                    raise AwsSetupError(f"cannot create the {service_name} client: {error}") from error
            return self._clients[service_name]


def default_region() -> str | None:
    """Return the region boto3 would use with no region given (environment or profile)."""
    import boto3

    return boto3.session.Session().region_name


def error_code(error: BaseException) -> str | None:
    """Return the AWS error code of a botocore ClientError, or None for any other exception."""
    if isinstance(error, botocore.exceptions.ClientError):
        return error.response.get("Error", {}).get("Code")
    return None


def error_message(error: BaseException) -> str:
    """Return the AWS service's own message for a ClientError, or the exception's text."""
    if isinstance(error, botocore.exceptions.ClientError):
        message = error.response.get("Error", {}).get("Message")
        if message:
            return str(message)
    return str(error)
