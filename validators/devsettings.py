"""Checks of the JSON strings in DevSettings that ParallelCluster 3.16.1 reads attributes from."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from pcimage.engine import Finding, Level, ValidationContext

from .base import dig

EXTRA_CHEF_ATTRIBUTES_PATH = ("DevSettings", "Cookbook", "ExtraChefAttributes")
CLI_ATTRIBUTE_OVERRIDES_PATH = ("DevSettings", "CliAttributeOverrides")

# The messages name the keys the way ParallelCluster writes them.
_EXTRA_CHEF_ATTRIBUTES_NAME = "DevSettings/Cookbook/ExtraChefAttributes"
_CLI_ATTRIBUTE_OVERRIDES_NAME = "DevSettings/CliAttributeOverrides"

_RECONFIGURE_TIMEOUT = "cluster.slurm.reconfigure_timeout"
_READINESS_CHECK_ENABLED = "cluster.cluster_readiness_check_enabled"
_READINESS_CHECK_IGNORE_FAILURE = "cluster.cluster_readiness_check_ignore_failure"

#: Seconds that `cluster.slurm.reconfigure_timeout` must exceed.
MIN_SLURM_RECONFIGURE_TIMEOUT = 300

_READINESS_WARNING_TAIL = (
    "Cluster creation and cluster update can succeed even if there are cluster nodes that did not "
    "complete the deployment of the expected configuration."
)


def _attribute(attributes: Any, dotted_name: str) -> Any:
    """Return the value at a dotted name in parsed JSON, or None when any level is not an object."""
    value = attributes
    for key in dotted_name.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _is_boolean_text(value: Any) -> bool:
    # ParallelCluster compares str(value) case-insensitively, so JSON true and "TRUE" both count.
    return str(value).lower() in ("true", "false")


class ExtraChefAttributesValidator:
    """Checks three cluster attributes in `Cookbook.ExtraChefAttributes` (ParallelCluster 3.16.1).

    `cluster.slurm.reconfigure_timeout` must be an integer above 300. The two readiness check
    flags must be booleans, and a WARNING notes a disabled check or ignored failures. The schema
    has already checked that the string is JSON.
    """

    type = "ExtraChefAttributesValidator"
    needs_aws = False

    def validate(self, config: Mapping[str, Any], context: ValidationContext) -> Iterator[Finding]:
        text = dig(config, "DevSettings", "Cookbook", "ExtraChefAttributes")
        if not text:
            return
        attributes = json.loads(text)
        yield from self._check_reconfigure_timeout(attributes)
        yield from self._check_readiness_enabled(attributes)
        yield from self._check_readiness_ignore_failure(attributes)

    def _check_reconfigure_timeout(self, attributes: Any) -> Iterator[Finding]:
        timeout = _attribute(attributes, _RECONFIGURE_TIMEOUT)
        if timeout is None:
            return
        if isinstance(timeout, bool) or not isinstance(timeout, int):
            yield self._error(f"attribute '{_RECONFIGURE_TIMEOUT}' must be an integer.")
        elif timeout <= MIN_SLURM_RECONFIGURE_TIMEOUT:
            yield self._error(f"attribute '{_RECONFIGURE_TIMEOUT}' must be greater than {MIN_SLURM_RECONFIGURE_TIMEOUT}.")

    def _check_readiness_enabled(self, attributes: Any) -> Iterator[Finding]:
        value = _attribute(attributes, _READINESS_CHECK_ENABLED)
        if value is None:
            return
        if not _is_boolean_text(value):
            yield self._error(f"attribute '{_READINESS_CHECK_ENABLED}' must be a boolean value.")
        elif str(value).lower() == "false":
            yield Finding(
                Level.WARNING,
                f"Cluster readiness check is disabled. {_READINESS_WARNING_TAIL}",
                EXTRA_CHEF_ATTRIBUTES_PATH,
            )

    def _check_readiness_ignore_failure(self, attributes: Any) -> Iterator[Finding]:
        value = _attribute(attributes, _READINESS_CHECK_IGNORE_FAILURE)
        if value is None:
            return
        if not _is_boolean_text(value):
            yield self._error(f"attribute '{_READINESS_CHECK_IGNORE_FAILURE}' must be a boolean value.")
        elif str(value).lower() == "true":
            yield Finding(
                Level.WARNING,
                f"Cluster readiness check failures are ignored. {_READINESS_WARNING_TAIL}",
                EXTRA_CHEF_ATTRIBUTES_PATH,
            )

    @staticmethod
    def _error(detail: str) -> Finding:
        return Finding(Level.ERROR, f"Invalid value in {_EXTRA_CHEF_ATTRIBUTES_NAME}: {detail}", EXTRA_CHEF_ATTRIBUTES_PATH)


class CliAttributeOverridesValidator:
    """Checks that `DevSettings.CliAttributeOverrides` is a JSON object (ParallelCluster 3.16.1)."""

    type = "CliAttributeOverridesValidator"
    needs_aws = False

    def validate(self, config: Mapping[str, Any], context: ValidationContext) -> Iterator[Finding]:
        text = dig(config, "DevSettings", "CliAttributeOverrides")
        if not text:
            return
        try:
            overrides = json.loads(text)
        except ValueError:
            yield Finding(
                Level.ERROR,
                f"Invalid value in {_CLI_ATTRIBUTE_OVERRIDES_NAME}: must be a valid JSON string.",
                CLI_ATTRIBUTE_OVERRIDES_PATH,
            )
            return
        if not isinstance(overrides, dict):
            yield Finding(
                Level.ERROR,
                f"Invalid value in {_CLI_ATTRIBUTE_OVERRIDES_NAME}: must be a JSON object.",
                CLI_ATTRIBUTE_OVERRIDES_PATH,
            )
