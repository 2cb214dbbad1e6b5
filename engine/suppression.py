"""Parsing of `suppressValidators` entries: `ALL` or `type:<ValidatorName>`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# The pattern ParallelCluster's API applies to each suppressValidators item.
SUPPRESSOR_PATTERN = re.compile(r"^(ALL|type:[A-Za-z0-9]+)$")


class InvalidSuppressorError(ValueError):
    """A suppressValidators entry is neither `ALL` nor `type:<Name>`."""

    def __init__(self, entry: str):
        self.entry = entry
        super().__init__(f"{entry!r} does not match {SUPPRESSOR_PATTERN.pattern!r}")


@dataclass(frozen=True)
class Suppression:
    """The validators a request skips: all of them, or those whose type name is listed."""

    all: bool = False
    types: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, entries: Iterable[str] | None) -> Suppression:
        """Parse request entries; raise InvalidSuppressorError on the first malformed one."""
        suppress_all = False
        types: set[str] = set()
        for entry in entries or ():
            if not isinstance(entry, str) or not SUPPRESSOR_PATTERN.match(entry):
                raise InvalidSuppressorError(str(entry))
            if entry == "ALL":
                suppress_all = True
            else:
                types.add(entry.removeprefix("type:"))
        return cls(all=suppress_all, types=frozenset(types))

    def skips(self, validator_type: str) -> bool:
        """Return whether a validator of this type must not run. Names match case-sensitively."""
        return self.all or validator_type in self.types
