"""The outcome of validating one configuration, independent of how it is printed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .messages import Level, Message


@dataclass(frozen=True)
class LoadProblem:
    """The reason the text could not be read as a YAML mapping, with its 1-based line and column."""

    problem: str
    line: int | None = None
    column: int | None = None
    offset: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.problem
        return f"line {self.line}, column {self.column}: {self.problem}"


@dataclass(frozen=True)
class Report:
    """Messages from loading, the schema check and the validators, graded at `failure_level`.

    `config` is the normalized configuration, with lenient values converted and defaults applied.
    It is None when loading or the schema check failed, and then no validator ran.
    """

    messages: tuple[Message, ...]
    failure_level: Level
    config: Mapping[str, Any] | None = None
    load_problem: LoadProblem | None = None

    @property
    def schema_failed(self) -> bool:
        """Whether the configuration broke the schema; such errors ignore suppression and level."""
        return self.load_problem is None and self.config is None

    @property
    def failed(self) -> bool:
        """Whether the request must be rejected: unreadable, off-schema, or a message at the level."""
        if self.load_problem is not None or self.config is None:
            return True
        return any(message.level >= self.failure_level for message in self.messages)

    @property
    def blocking(self) -> tuple[Message, ...]:
        """The messages at or above the failure level."""
        return tuple(message for message in self.messages if message.level >= self.failure_level)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary for library callers and the CLI's offline mode."""
        body: dict[str, Any] = {
            "valid": not self.failed,
            "failureLevel": self.failure_level.name,
            "messages": [message.to_dict() for message in self.messages],
        }
        if self.load_problem is not None:
            body["loadError"] = {
                "message": self.load_problem.problem,
                "line": self.load_problem.line,
                "column": self.load_problem.column,
            }
        return body
