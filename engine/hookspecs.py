"""Hook specifications that validator plugins implement.

A plugin is any module or object with functions marked by `hookimpl`. Third-party plugins are
found through the entry-point group `pcimage.validators`; the built-in validators are registered
through that same group.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import pluggy

from .messages import Finding

PROJECT_NAME = "pcimage"
ENTRY_POINT_GROUP = "pcimage.validators"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@dataclass(frozen=True)
class ValidationContext:
    """Inputs a validator may use besides the configuration itself.

    `aws` is whatever the caller passes to reach AWS, and the engine never looks inside it. The
    adapter passes an object whose `client(service_name)` returns a boto3 client. When `offline`
    is true, validators that declare `needs_aws` are not run.
    """

    region: str | None = None
    image_id: str | None = None
    aws: Any = None
    offline: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Validator(Protocol):
    """A named check over the normalized configuration.

    `type` is the stable name that `type:<Name>` suppression matches and that messages carry.
    `needs_aws` declares whether the check calls AWS, so offline runs can skip it.
    """

    type: str
    needs_aws: bool

    def validate(self, config: Mapping[str, Any], context: ValidationContext) -> Iterable[Finding]:
        """Yield the findings for `config`, each with the key path it concerns."""
        ...


@hookspec
def pcimage_validators() -> list[Validator]:
    """Return the validators this plugin contributes, in the order they should run.

    The engine runs them in pluggy's call order: the built-in validators first (their
    implementation is marked `tryfirst`), then the most recently registered plugin's. A validator
    must not depend on another validator's findings.
    """


def iter_findings(items: Iterable[Finding] | None) -> Iterator[Finding]:
    """Yield from a validator's result, accepting None for a validator that found nothing."""
    if items is not None:
        yield from items
