"""Validation messages: what a validator finds and what the engine reports."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

#: A location in the configuration tree: mapping keys and list indexes, from the root.
KeyPath = tuple[str | int, ...]


class Level(enum.IntEnum):
    """Severity of a message. The numbers are ParallelCluster's FailureLevel values."""

    INFO = 20
    WARNING = 30
    ERROR = 40

    @classmethod
    def parse(cls, name: str) -> Level:
        """Return the level called `name` (case-insensitive), or raise ValueError."""
        try:
            return cls[name.strip().upper()]
        except KeyError:
            choices = ", ".join(level.name for level in cls)
            raise ValueError(f"invalid failure level {name!r}: expected one of {choices}") from None


@dataclass(frozen=True)
class Finding:
    """One problem as a validator reports it: a level, a sentence and the key path it concerns.

    Validators never compute line numbers. The engine maps `path` onto the source document.
    """

    level: Level
    message: str
    path: KeyPath = ()


@dataclass(frozen=True)
class Message:
    """One reported problem, attributed to the validator type that found it and located in the source."""

    level: Level
    type: str
    message: str
    path: KeyPath = ()
    line: int | None = None
    column: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def dotted_path(self) -> str:
        """Return the key path as written in docs and errors, for example `Build.Components[0].Value`."""
        return format_path(self.path)

    @property
    def location(self) -> str:
        """Return `line:column` (1-based), or an empty string when the message has no position."""
        if self.line is None:
            return ""
        return f"{self.line}:{self.column}"

    def to_dict(self) -> dict[str, Any]:
        """Return the API form: ParallelCluster's `{level, type, message}` plus the location fields."""
        body: dict[str, Any] = {"level": self.level.name, "type": self.type, "message": self.message}
        if self.path:
            body["path"] = self.dotted_path
        if self.line is not None:
            body["line"] = self.line
            body["column"] = self.column
        return body


def format_path(path: KeyPath) -> str:
    """Render a key path as `Build.Components[0].Value`; the root is an empty string."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif text:
            text += f".{part}"
        else:
            text = str(part)
    return text
