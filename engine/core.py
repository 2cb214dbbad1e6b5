"""Validation of one image configuration: load, schema check, then the plugin validators."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

import pluggy

from .hookspecs import ValidationContext, Validator, iter_findings
from .loader import ConfigLoadError, LoadedDocument, SourceMap, load_yaml
from .messages import Finding, Level, Message
from .plugins import collect_validators, default_plugin_manager
from .report import Report
from .schema import check_schema
from .suppression import Suppression

logger = logging.getLogger(__name__)


def validate_config(
    source: str | bytes | LoadedDocument,
    *,
    context: ValidationContext | None = None,
    suppress: Suppression | Iterable[str] | None = None,
    failure_level: Level | str = Level.ERROR,
    plugin_manager: pluggy.PluginManager | None = None,
    before_validators: Callable[[], None] | None = None,
) -> Report:
    """Validate an image configuration and return the graded report.

    `source` is YAML text, or a document already loaded with `load_yaml`. `before_validators`,
    when given, is called once the schema check has passed and before any validator runs, and
    whatever it raises propagates: the adapter checks there that the image id is free.

    Raises InvalidSuppressorError for a malformed suppression entry and ValueError for an
    unknown failure level. Every problem in `source` itself is reported, never raised.
    """
    if isinstance(suppress, str):
        suppress = [suppress]
    if not isinstance(suppress, Suppression):
        suppress = Suppression.parse(suppress)
    if not isinstance(failure_level, Level):
        if not isinstance(failure_level, str):
            raise ValueError(f"invalid failure level {failure_level!r}: expected INFO, WARNING or ERROR")
        failure_level = Level.parse(failure_level)
    context = context or ValidationContext()

    if isinstance(source, LoadedDocument):
        document = source
    elif isinstance(source, (str, bytes, bytearray)):
        try:
            document = load_yaml(source)
        except ConfigLoadError as error:
            return Report(messages=(), failure_level=failure_level, load_problem=error.problem)
    else:
        raise TypeError(f"source must be YAML text (str or bytes) or a LoadedDocument, not {type(source).__name__}")

    schema_result = check_schema(document)
    if schema_result.messages:
        return Report(messages=schema_result.messages, failure_level=failure_level)
    if before_validators is not None:
        before_validators()

    # Raises PluginError for a plugin that cannot be used; the doors report it as a failure.
    validators = collect_validators(plugin_manager or default_plugin_manager())
    unknown = sorted(suppress.types - {validator.type for validator in validators})
    if unknown:
        # ParallelCluster ignores such names silently; a warning catches a misspelt suppressor.
        logger.warning("suppressValidators names no installed validator: %s", ", ".join(unknown))
    messages = run_validators(validators, schema_result.config, document.source_map, context, suppress)
    return Report(messages=tuple(messages), failure_level=failure_level, config=schema_result.config)


def run_validators(
    validators: Iterable[Validator],
    config: Mapping[str, Any],
    source_map: SourceMap,
    context: ValidationContext,
    suppress: Suppression,
) -> list[Message]:
    """Run each validator that is neither suppressed nor offline-skipped, and locate its findings.

    A validator that raises contributes a single ERROR with the exception's text in place of
    anything it found before, as ParallelCluster does, so one broken check never hides the others.
    """
    messages: list[Message] = []
    # Validators share one read-only view, so a plugin cannot change what later validators check
    # or what gets built.
    view = frozen(config)

    for validator in validators:
        if suppress.skips(validator.type):
            logger.debug("validator %s suppressed", validator.type)
            continue
        if context.offline and validator.needs_aws:
            logger.debug("validator %s skipped: it needs AWS and the run is offline", validator.type)
            continue

        try:
            findings = [_checked(finding) for finding in iter_findings(validator.validate(view, context))]
        except Exception as error:  # noqa: BLE001 (a plugin's failure must become a message)
            logger.debug("validator %s raised", validator.type, exc_info=True)
            messages.append(Message(Level.ERROR, validator.type, exception_text(error)))
            continue

        for finding in findings:
            line, column = source_map.locate(finding.path)
            messages.append(
                Message(
                    level=Level(finding.level),
                    type=validator.type,
                    message=finding.message,
                    path=tuple(finding.path),
                    line=line,
                    column=column,
                )
            )

    return messages


class InvalidFindingError(Exception):
    """A validator produced something that is not a well-formed Finding."""


def _checked(finding: Any) -> Finding:
    if not isinstance(finding, Finding):
        raise InvalidFindingError(f"the validator returned {finding!r}, which is not a Finding")
    if finding.level not in tuple(Level):
        raise InvalidFindingError(f"the validator returned a Finding with the invalid level {finding.level!r}")
    if not isinstance(finding.message, str):
        raise InvalidFindingError(f"the validator returned a Finding whose message is not text: {finding.message!r}")
    path = finding.path
    if not isinstance(path, (tuple, list)) or not all(isinstance(part, (str, int)) for part in path):
        raise InvalidFindingError(
            f"the validator returned a Finding whose path {path!r} is not a tuple of keys and indexes"
        )
    return finding


# Exceptions that mean the validator itself is wrong, not that AWS or the input failed.
_PROGRAMMING_ERRORS = (AttributeError, IndexError, KeyError, NameError, TypeError, InvalidFindingError)


def frozen(value: Any) -> Any:
    """Return a read-only copy of a configuration: mappings become mapping proxies, lists tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: frozen(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(frozen(item) for item in value)
    return value


def exception_text(error: BaseException) -> str:
    """Return the text a user should see for an exception raised inside a validator.

    For an AWS error (botocore's ClientError, recognised by its `response` mapping) that is the
    service's own message without the operation boilerplate, as ParallelCluster reports it.
    """
    response = getattr(error, "response", None)
    if isinstance(response, Mapping):
        aws_message = response.get("Error", {}).get("Message")
        if aws_message:
            return str(aws_message)
    if isinstance(error, _PROGRAMMING_ERRORS):
        # str(KeyError('Tags')) is just "'Tags'", so the type is added to show a plugin author what failed.
        return f"validator failed with {type(error).__name__}: {error}"
    return str(error) or type(error).__name__
