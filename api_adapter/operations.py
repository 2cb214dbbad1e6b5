"""The image operations that the library, the CLI and the HTTP API all call.

Each operation returns ParallelCluster's success body or raises an `ApiError` carrying its HTTP
status and body. `call` turns either outcome into a `(status, body)` pair for the front ends.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

import botocore.exceptions

from pcimage.engine import (
    ConfigLoadError,
    InvalidSuppressorError,
    Level,
    LoadedDocument,
    LoadProblem,
    PluginError,
    Suppression,
    ValidationContext,
    load_yaml,
    validate_config,
)

from . import stack
from .aws import AwsAccess, AwsSetupError, default_region, error_code, error_message
from .errors import (
    ApiError,
    BadRequestError,
    ConfigurationInvalidError,
    ConflictError,
    DryrunOperationError,
    InternalServiceError,
    LimitExceededError,
)
from .regions import SUPPORTED_REGIONS

logger = logging.getLogger(__name__)

#: The ParallelCluster release whose images pcimage builds; stamped on stacks and responses.
PARALLELCLUSTER_VERSION = "3.16.1"

# ParallelCluster's internal image id rule: a letter, then letters, digits and hyphens, 128 at most.
IMAGE_ID_PATTERN = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{0,127}$")

_THROTTLING_CODES = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}


def build_image(
    image_configuration: str | bytes,
    image_id: str,
    *,
    dryrun: bool = False,
    region: str | None = None,
    rollback_on_failure: bool = False,
    suppress_validators: Iterable[str] | None = None,
    validation_failure_level: str | Level = Level.ERROR,
    offline: bool = False,
    aws: AwsAccess | None = None,
) -> dict[str, Any]:
    """Validate an image configuration and, unless `dryrun`, create its build stack.

    Returns the 202 body (`image`, and `validationMessages` when there are any). Raises
    DryrunOperationError (412) when a dryrun passes, and other ApiErrors for every rejection.
    With `offline`, no AWS call is made: only a dryrun is possible, the checks that need AWS
    are skipped, and so is the check that the image id is free.
    """
    suppression, level = _parse_options(suppress_validators, validation_failure_level)
    if offline and not dryrun:
        raise BadRequestError("offline mode only supports a dryrun; set dryrun to true or leave offline mode")

    document, load_problem = _load(image_configuration)
    region = _resolve_region(region, document)
    if not image_configuration or (isinstance(image_configuration, str) and not image_configuration.strip()):
        raise BadRequestError("configuration is required and cannot be empty")
    _check_image_id(image_id)
    if load_problem is not None:
        problem = str(load_problem)
        raise BadRequestError(
            f"Configuration must be a valid YAML document. {problem[:1].upper()}{problem[1:]}",
            line=load_problem.line,
            column=load_problem.column,
        )

    if not offline:
        aws = aws or AwsAccess(region)
    context = ValidationContext(region=region, image_id=image_id, aws=None if offline else aws, offline=offline)
    # ParallelCluster checks that the image id is free before it even reads the configuration,
    # so a file with a typo got a 409 for a taken id. pcimage reports the file's own problems
    # first and checks the id before any validator calls AWS.
    report = validate_config(
        document,
        context=context,
        suppress=suppression,
        failure_level=level,
        before_validators=None if offline else lambda: _check_image_id_is_free(aws, image_id),
    )

    if report.schema_failed:
        raise ConfigurationInvalidError("Invalid image configuration.", report.messages)
    if report.failed:
        raise ConfigurationInvalidError("Configuration is invalid", report.messages)

    assert report.config is not None
    if dryrun:
        if not offline:
            _check_template(aws, image_id, report.config)
        raise DryrunOperationError(report.messages)

    assert aws is not None

    def create() -> dict[str, Any]:
        created = stack.create_image_stack(
            aws, image_id, report.config, rollback_on_failure=rollback_on_failure, version=PARALLELCLUSTER_VERSION
        )
        return stack.image_summary(aws, created, region)

    body: dict[str, Any] = {"image": _guard_aws(create)}
    if report.messages:
        body["validationMessages"] = [message.to_dict() for message in report.messages]
    return body


def _check_template(aws: AwsAccess, image_id: str, config: Any) -> None:
    """Render the build template during a dryrun, so it rejects what the build would reject.

    Rendering reads only the parent AMI. When that read fails, the validators that check the
    AMI have either reported it or been suppressed on purpose, so the dryrun does not fail here.
    """
    try:
        stack.render_template_body(aws, image_id, config, version=PARALLELCLUSTER_VERSION)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        logger.warning("dryrun of image %s: the build template was not rendered: %s", image_id, error_message(error))


def _guard_aws(step: Callable[[], Any]) -> Any:
    """Run a step of the stack creation, mapping AWS failures to ParallelCluster's errors."""
    try:
        return step()
    except botocore.exceptions.ClientError as error:
        raise _creation_failure(error) from error
    except botocore.exceptions.BotoCoreError as error:
        logger.error("creating the image build stack failed: %s", error)
        raise InternalServiceError(f"ParallelCluster image build infrastructure creation failed.\n{error}") from error


def call(operation: Callable[..., dict[str, Any]], /, **arguments: Any) -> tuple[int, dict[str, Any]]:
    """Run an operation and return `(HTTP status, body)`, whether it succeeded or was rejected.

    An AWS failure that no operation handles (no credentials, endpoint unreachable) becomes a
    500 whose message names what failed, and is logged. A programming error propagates.
    """
    try:
        return 202, operation(**arguments)
    except ApiError as error:
        return error.status, error.body
    except botocore.exceptions.NoCredentialsError as error:
        logger.error("AWS credentials not found: %s", error)
        return 500, {
            "message": "Unable to locate AWS credentials. Configure them for boto3: environment variables, "
            "~/.aws/credentials or a profile."
        }
    except botocore.exceptions.EndpointConnectionError as error:
        logger.error("AWS endpoint unreachable: %s", error)
        return 500, {"message": f"Unable to reach AWS: {error}"}
    except botocore.exceptions.ClientError as error:
        logger.error("AWS call failed: %s", error)
        mapped = _aws_failure(error)
        return mapped.status, mapped.body
    except PluginError as error:
        logger.error("validator plugin unusable: %s", error)
        return 500, {"message": str(error)}
    except (botocore.exceptions.BotoCoreError, AwsSetupError) as error:
        # A bad profile, a half-set credential pair, an unreadable config file, a malformed endpoint.
        logger.error("AWS configuration invalid: %s", error)
        return 500, {"message": f"Invalid AWS configuration: {error}"}


def _parse_options(suppress_validators: Iterable[str] | None, level: str | Level) -> tuple[Suppression, Level]:
    try:
        suppression = Suppression.parse(suppress_validators)
    except InvalidSuppressorError as error:
        raise BadRequestError(str(error)) from None
    if isinstance(level, Level):
        return suppression, level
    try:
        return suppression, Level.parse(level or "ERROR")
    except ValueError:
        raise BadRequestError(f"{level!r} is not one of ['INFO', 'WARNING', 'ERROR']") from None


def _load(configuration: str | bytes) -> tuple[LoadedDocument | None, LoadProblem | None]:
    if not configuration:
        return None, None
    try:
        return load_yaml(configuration), None
    except ConfigLoadError as error:
        return None, error.problem


def _resolve_region(requested: str | None, document: LoadedDocument | None) -> str:
    """Pick the region as ParallelCluster does: the request, then the config's Region, then boto3."""
    configured = document.data.get("Region") if document is not None else None
    if not isinstance(configured, str) or not configured:
        configured = None
    if requested and configured and requested != configured:
        raise BadRequestError("region is set in both parameter and configuration and conflicts.")

    # boto3's default comes from the environment and config files: no AWS call, so offline too.
    region = requested or configured or default_region()
    if not region:
        raise BadRequestError("region needs to be set")
    if region not in SUPPORTED_REGIONS:
        raise BadRequestError(f"invalid or unsupported region {region!r}")
    return region


def _check_image_id(image_id: str) -> None:
    if not isinstance(image_id, str) or not IMAGE_ID_PATTERN.fullmatch(image_id):
        raise ConfigurationInvalidError(
            f"Image id '{image_id}' failed to satisfy constraint: The process id can contain only alphanumeric "
            "characters (case-sensitive) and hyphens. It must start with an alphabetic character and can't be "
            "longer than 128 characters."
        )


def _check_image_id_is_free(aws: AwsAccess, image_id: str) -> None:
    if stack.find_available_image(aws, image_id) is not None:
        raise ConflictError(f"ParallelCluster image {image_id} already exists.")
    if stack.stack_exists(aws, image_id):
        raise ConflictError(
            f"ParallelCluster build infrastructure for image {image_id} or a CloudFormation Stack with the same "
            "name already exists."
        )


def _creation_failure(error: botocore.exceptions.ClientError) -> ApiError:
    logger.error("creating the image build stack failed: %s", error)
    text = f"ParallelCluster image build infrastructure creation failed.\n{error_message(error)}"
    code = error_code(error)
    if code in _THROTTLING_CODES:
        return LimitExceededError(text)
    if code == "AlreadyExistsException":
        return ConflictError(text)
    return InternalServiceError(text)


def _aws_failure(error: botocore.exceptions.ClientError) -> ApiError:
    code = error_code(error)
    text = error_message(error)
    if code in _THROTTLING_CODES:
        return LimitExceededError(text)
    if code == "ValidationError":
        return BadRequestError(text)
    operation = getattr(error, "operation_name", "AWS")
    return InternalServiceError(f"Failed when calling AWS service in {operation}: {text}")
