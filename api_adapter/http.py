"""HTTP API: a connexion app routed and validated by schemas/openapi.yaml, served by uvicorn.

Request handlers only parse the request and call `pcimage.api_adapter.operations`. Every error
response has ParallelCluster's body shape, `{"message": ...}` plus optional fields.
"""

from __future__ import annotations

import importlib.resources
import json
import logging
from pathlib import Path
from typing import Any

import connexion
import uvicorn
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem, ProblemException
from connexion.http_facts import HTTP_STATUS_CODES
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.utils import is_null, is_nullable
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator, ParameterValidator
from jsonschema import Draft4Validator, ValidationError
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope

from pcimage.api_adapter import operations

logger = logging.getLogger(__name__)

SPECIFICATION_PATH = Path(str(importlib.resources.files("pcimage.schemas") / "openapi.yaml"))

REQUEST_BODY_REQUIRED = "request body is required"
UNEXPECTED_FAILURE_MESSAGE = (
    "Unexpected fatal exception. Please look at the application logs for details on the encountered failure."
)


def create_app() -> connexion.AsyncApp:
    """Build the ASGI app for every operation in schemas/openapi.yaml.

    Synchronous handlers run in Starlette's thread pool, so the boto3 calls of an operation do
    not block the event loop.
    """
    app = connexion.AsyncApp(
        __name__,
        specification_dir=SPECIFICATION_PATH.parent,
        validator_map=_VALIDATOR_MAP,
    )
    app.add_api(SPECIFICATION_PATH.name, pythonic_params=True)
    # connexion registers its own ProblemException handler, which the HTTPException one does
    # not override, because Starlette picks the handler of the nearest class in the MRO.
    app.add_error_handler(ProblemException, _http_error_response)
    app.add_error_handler(HTTPException, _http_error_response)
    app.add_error_handler(Exception, _unexpected_error_response)
    return app


def serve(host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve the HTTP API with uvicorn until the process is interrupted.

    Args:
        host: Address to listen on. The API has no authentication, so any address other than
            the loopback default lets every host that can reach it build images with this
            process's AWS credentials.
        port: TCP port to listen on. 0 picks a free port.
    """
    uvicorn.run(create_app(), host=host, port=port)


def build_image(
    build_image_request_content: dict[str, Any],
    suppress_validators: list[str] | None = None,
    validation_failure_level: str = "ERROR",
    dryrun: bool = False,
    rollback_on_failure: bool = False,
    region: str | None = None,
) -> tuple[dict[str, Any], int]:
    """Handle `POST /v3/images/custom` (operationId `build_image`): validate and build an image.

    connexion has already checked the request against the spec and passes the query parameters
    as snake_case keyword arguments. `operations.call` turns a rejection (an ApiError or an AWS
    error) into its status and body, the same ones the CLI prints.
    """
    image_id = build_image_request_content["imageId"]
    status, body = operations.call(
        operations.build_image,
        image_configuration=build_image_request_content["imageConfiguration"],
        image_id=image_id,
        dryrun=dryrun,
        region=region,
        rollback_on_failure=rollback_on_failure,
        suppress_validators=suppress_validators,
        validation_failure_level=validation_failure_level,
    )
    _log_outcome("buildImage", image_id, status, body)
    return body, status


def _log_outcome(operation_name: str, image_id: str, status: int, body: dict[str, Any]) -> None:
    if status >= 500:
        logger.error("%s of image %s failed with %d: %s", operation_name, image_id, status, body.get("message"))
    elif status >= 400:
        logger.info("%s of image %s returned %d: %s", operation_name, image_id, status, body.get("message"))
    else:
        logger.info("%s of image %s returned %d", operation_name, image_id, status)


class _ParameterValidator(ParameterValidator):
    """connexion's parameter validator with ParallelCluster's one-line error texts.

    connexion 3 reports the whole multi-line jsonschema error. ParallelCluster reports only its
    first line, and a value of the wrong type as
    `Wrong type, expected 'boolean' for query parameter 'dryrun'`.
    """

    @staticmethod
    def validate_parameter(parameter_type: str, value: Any, param: dict, param_name: str | None = None) -> str | None:
        if is_nullable(param) and is_null(value):
            return None
        if value is None:
            if param.get("required"):
                return f"Missing {parameter_type} parameter '{param['name']}'"
            return None

        schema = param.get("schema", param)
        try:
            Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER).validate(value)
        except ValidationError as error:
            if error.validator == "type" and not error.path:
                return f"Wrong type, expected '{error.validator_value}' for {parameter_type} parameter '{param['name']}'"
            return error.message
        return None


class _JSONBodyValidator(JSONRequestBodyValidator):
    """connexion's JSON body validator with ParallelCluster's error texts.

    A required body that is missing, empty or `{}` gives `request body is required`, and a
    schema error gives the jsonschema message without connexion's ` - 'field'` suffix.
    """

    async def wrap_receive(self, receive: Receive, *, scope: Scope) -> tuple[Receive, Scope]:
        if self._required and not int(Headers(scope=scope).get("content-length", 0)):
            raise BadRequestProblem(detail=REQUEST_BODY_REQUIRED)
        return await super().wrap_receive(receive, scope=scope)

    def _validate(self, body: Any) -> dict | None:
        if self._required and (body is None or body == {}):
            raise BadRequestProblem(detail=REQUEST_BODY_REQUIRED)
        if body is None:
            raise BadRequestProblem(detail="Request body must not be empty")
        try:
            return self._validator.validate(body)
        except ValidationError as error:
            raise BadRequestProblem(detail=error.message) from None


_VALIDATOR_MAP = {
    **VALIDATOR_MAP,
    "parameter": _ParameterValidator,
    "body": MediaTypeDict({**VALIDATOR_MAP["body"], "*/*json": _JSONBodyValidator}),
}


def _json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> ConnexionResponse:
    return ConnexionResponse(
        status_code=status,
        body=json.dumps(body),
        content_type="application/json",
        headers=dict(headers or {}),
    )


def _http_error_response(request: ConnexionRequest, error: HTTPException) -> ConnexionResponse:
    """Turn a connexion problem or a Starlette HTTP error into `{"message": "<title>: <detail>"}`.

    connexion raises these for requests that fail validation against the spec (400, 415) and
    Starlette for unknown paths and methods (404, 405).
    """
    if isinstance(error, ProblemException):
        title, detail = error.title, error.detail
    else:
        title, detail = HTTP_STATUS_CODES.get(error.status_code), error.detail
    if title and detail and detail != title:
        message = f"{title}: {detail}"
    else:
        message = str(detail or title)

    logger.info("%s %s rejected with %d: %s", request.method, request.url.path, error.status_code, message)
    return _json_response(error.status_code, {"message": message}, error.headers)


def _unexpected_error_response(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
    """Log an unexpected exception with its traceback and return ParallelCluster's generic 500."""
    logger.error("%s %s failed with an unexpected exception", request.method, request.url.path, exc_info=error)
    return _json_response(500, {"message": UNEXPECTED_FAILURE_MESSAGE})
