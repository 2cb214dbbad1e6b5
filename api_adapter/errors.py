"""Errors that carry ParallelCluster's HTTP status code and response body.

Every door (library, CLI, HTTP) raises or returns these same bodies, so a client sees one shape.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pcimage.engine import Message


class ApiError(Exception):
    """An operation outcome that is not a success, with its HTTP status and JSON body."""

    status: int = 500

    def __init__(self, message: str, **fields: Any):
        super().__init__(message)
        self.message = message
        self.fields = fields

    @property
    def body(self) -> dict[str, Any]:
        """The JSON response body, with empty optional fields left out."""
        body: dict[str, Any] = {"message": self.message}
        body.update({key: value for key, value in self.fields.items() if value not in (None, [], {})})
        return body


class BadRequestError(ApiError):
    """400 with ParallelCluster's generic `Bad Request: ` prefix."""

    status = 400

    def __init__(self, detail: str, **fields: Any):
        super().__init__(f"Bad Request: {detail}", **fields)


class ConfigurationInvalidError(ApiError):
    """400 BuildImageBadRequestException: the message list that made the request fail."""

    status = 400

    def __init__(self, message: str, messages: Iterable[Message] = ()):
        super().__init__(message, configurationValidationErrors=[m.to_dict() for m in messages])


class NotFoundError(ApiError):
    status = 404


class ConflictError(ApiError):
    status = 409


class DryrunOperationError(ApiError):
    """412: validation passed and nothing was created.

    Unlike ParallelCluster, the body keeps the messages below the failure level.
    """

    status = 412

    def __init__(self, messages: Iterable[Message] = ()):
        super().__init__(
            "Request would have succeeded, but DryRun flag is set.",
            validationMessages=[m.to_dict() for m in messages],
        )


class LimitExceededError(ApiError):
    status = 429


class InternalServiceError(ApiError):
    status = 500
