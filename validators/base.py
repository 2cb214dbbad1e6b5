"""Helpers shared by the built-in validators: reading the config and isolating one check."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pcimage.engine import Finding, KeyPath, Level

logger = logging.getLogger(__name__)


def dig(config: Mapping[str, Any] | None, *keys: str) -> Any:
    """Return the value at `keys` below `config`, or None when any key on the way is missing."""
    value: Any = config
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def error_text(error: BaseException) -> str:
    """Return the text ParallelCluster reports for an exception raised inside a validator.

    An AWS error that reached a validator unconverted reports the service's own message, and
    anything else reports `str(error)`, which may be empty, as ParallelCluster does.
    """
    response = getattr(error, "response", None)
    if isinstance(response, Mapping):
        message = response.get("Error", {}).get("Message")
        if message:
            return str(message)
    return str(error)


def run_isolated(check: Callable[[], Iterable[Finding]], path: KeyPath, validator_type: str) -> list[Finding]:
    """Run one check and return its findings, or one ERROR carrying the exception it raised.

    ParallelCluster runs a separate validator instance for each registered value (each role, each
    policy, each URL) and replaces only that instance's results when it raises. One pcimage
    validator covers every value of its type, so it isolates each value with this helper.
    """
    try:
        return list(check())
    except Exception as error:  # noqa: BLE001 (ParallelCluster turns any exception into a message)
        logger.debug("%s check of %s raised", validator_type, path, exc_info=True)
        return [Finding(Level.ERROR, error_text(error), path)]
