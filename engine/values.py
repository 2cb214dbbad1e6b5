"""Rendering of configuration values in messages and mapping keys."""

from __future__ import annotations

import unicodedata
from typing import Any

#: Maximum length, in characters, of a value shown in a message. Longer values are cut.
MAX_SHOWN_VALUE = 60


def yaml_text(value: Any) -> str:
    """Return a scalar as YAML writes it: null, true, false, a date in ISO form, or its text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def describe_value(value: Any) -> str:
    """Describe a found value for a message: escaped, cut when long, its kind named when not text."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {yaml_text(value)}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if not isinstance(value, str):
        if hasattr(value, "isoformat"):
            return f"the date {value.isoformat()}"
        return type(value).__name__

    escaped = "".join(escape_character(character) for character in value)
    if len(escaped) > MAX_SHOWN_VALUE:
        escaped = escaped[: MAX_SHOWN_VALUE - 1] + "…"
        return f"'{escaped}' ({len(value)} characters)"
    return f"'{escaped}'"


def escape_character(character: str) -> str:
    if character == "'":
        return "\\'"
    if character == "\\":
        return "\\\\"
    if character == " ":
        return character
    category = unicodedata.category(character)
    if category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"):
        code = ord(character)
        if code < 0x100:
            return f"\\x{code:02x}"
        if code < 0x10000:
            return f"\\u{code:04x}"
        return f"\\U{code:08x}"
    return character
