"""The schema check: lenient values converted, JSON Schema applied, each problem one located message.

The JSON Schema in `pcimage.schemas` is strict, as editors need it. ParallelCluster, though, accepts
a few lenient forms (its marshmallow fields turn '40' and 40.9 into 40, and 'yes' into true), so
those are converted first, guided by the `type` the schema declares, and pcimage reaches the same
verdict as ParallelCluster.
"""

from __future__ import annotations

import copy
import difflib
import functools
import itertools
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, relevance

from .loader import LoadedDocument, SourceMap
from .messages import KeyPath, Level, Message, format_path
from .values import describe_value, yaml_text

#: The validator type of every schema message. Schema messages cannot be suppressed.
SCHEMA_VALIDATOR_TYPE = "ImageSchemaValidator"


#: Most schema messages reported for one document; the last message counts the rest.
MAX_SCHEMA_MESSAGES = 100
#: Most jsonschema errors examined. Past it, a document is broken beyond what a message list helps
#: with, and collecting every error of a huge document would take seconds.
MAX_SCHEMA_ERRORS = 1000

# The exact spellings marshmallow's Boolean field (ParallelCluster's) accepts: `tRue` and
# `'TRUE '` are rejected there, so they are here.
_TRUE_STRINGS = frozenset({"t", "T", "true", "True", "TRUE", "on", "On", "ON", "y", "Y", "yes", "Yes", "YES", "1"})
_FALSE_STRINGS = frozenset({"f", "F", "false", "False", "FALSE", "off", "Off", "OFF", "n", "N", "no", "No", "NO", "0"})


@dataclass(frozen=True)
class SchemaResult:
    """Schema messages in document order, or the normalized configuration when there are none."""

    messages: tuple[Message, ...]
    config: dict[str, Any] | None


@functools.cache
def image_config_schema() -> dict[str, Any]:
    """Return the image configuration JSON Schema shipped in `pcimage.schemas`."""
    text = resources.files("pcimage.schemas").joinpath("image-config.schema.json").read_text("utf-8")
    return json.loads(text)


def _check_json_text(validator: Any, media_type: Any, instance: Any, schema: dict) -> Iterable[ValidationError]:
    # `contentMediaType` is an annotation in 2020-12; pcimage asserts it for JSON-in-a-string fields.
    # An empty string means "not set"; blank text is still checked, as ParallelCluster does.
    if media_type != "application/json" or not isinstance(instance, str) or instance == "":
        return
    try:
        json.loads(instance)
    except json.JSONDecodeError as error:
        yield ValidationError(f"expected JSON text ({error.msg} at character {error.pos + 1})")


_JSONSCHEMA_ITEMS = jsonschema.Draft202012Validator.VALIDATORS["items"]


def _check_items(validator: Any, items: Any, instance: Any, schema: dict) -> Iterable[ValidationError]:
    # jsonschema descends into each item, which was most of the check of a config with thousands
    # of tags. When the exact check accepts every item, jsonschema's `items` would report nothing,
    # so it is skipped. Otherwise it runs and reports its usual errors.
    accepts = _exact_check(items)
    if accepts is not None and isinstance(instance, list) and all(map(accepts, instance)):
        return
    yield from _JSONSCHEMA_ITEMS(validator, items, instance, schema)


_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"contentMediaType": _check_json_text, "items": _check_items}
)


@functools.cache
def _validator() -> Any:
    schema = image_config_schema()
    _Validator.check_schema(schema)
    # jsonschema resolves a `$ref` on every use, which costs about a third of the check on a
    # config with thousands of tags, so the validator gets a copy with every local ref inlined.
    inlined = _inline_references(schema, schema)
    inlined["$schema"] = schema["$schema"]
    return _Validator(inlined)


def _inline_references(node: Any, root: dict) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline_references(_resolve(node, root), root)
        return {key: _inline_references(value, root) for key, value in node.items() if key != "$defs"}
    if isinstance(node, list):
        return [_inline_references(item, root) for item in node]
    return node


def check_schema(document: LoadedDocument) -> SchemaResult:
    """Check a loaded document against the image configuration schema."""
    validator = _validator()
    # The inlined copy has no `$ref`s left, so the walks below never resolve one.
    schema = validator.schema

    config = _convert_lenient(document.data, schema, schema)
    errors = list(itertools.islice(validator.iter_errors(config), MAX_SCHEMA_ERRORS + 1))
    if errors:
        truncated = len(errors) > MAX_SCHEMA_ERRORS
        messages = _ErrorFormatter(config, document.source_map, schema).messages(errors[:MAX_SCHEMA_ERRORS], truncated)
        return SchemaResult(messages=tuple(messages), config=None)

    _apply_defaults(config, schema, schema)
    return SchemaResult(messages=(), config=config)


# Schema navigation


def _resolve(node: Any, root: dict) -> dict:
    """Follow local `$ref`s (`#/$defs/Name`) until a schema without one is reached."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 32:
        reference = node["$ref"]
        if not reference.startswith("#/"):
            break
        target: Any = root
        for part in reference[2:].split("/"):
            target = target[part]
        node = {**target, **{key: value for key, value in node.items() if key != "$ref"}}
        seen += 1
    return node if isinstance(node, dict) else {}


def _declared_types(node: dict) -> set[str]:
    declared = node.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return set(declared)
    return set()


# Exact checks of simple subschemas

#: JSON Schema types that jsonschema's 2020-12 type checker tests with a bare isinstance, and the
#: Python type of each.
_ISINSTANCE_TYPES = {"string": str, "object": dict, "array": list, "boolean": bool}
#: Keywords that are not validation keywords but change how jsonschema reads a subschema.
_SCOPE_KEYWORDS = frozenset({"$schema", "$id", "$anchor", "$dynamicAnchor", "$vocabulary"})
#: Validation keywords that `_compile_exact_check` compiles.
_EXACT_KEYWORDS = frozenset({"type", "minLength", "maxLength", "required", "properties", "additionalProperties", "items"})
#: Compiled checks by id() of their subschema, which each entry keeps alive so the id stays unique.
_EXACT_CHECKS: dict[int, tuple[Any, Callable[[Any], bool] | None]] = {}


def _exact_check(subschema: Any) -> Callable[[Any], bool] | None:
    """Return `_compile_exact_check(subschema)`, compiled once per subschema object.

    The cache assumes that a schema is not modified once it is in use, as `_validator`'s is not.
    """
    cached = _EXACT_CHECKS.get(id(subschema))
    if cached is None or cached[0] is not subschema:
        cached = (subschema, _compile_exact_check(subschema))
        _EXACT_CHECKS[id(subschema)] = cached
    return cached[1]


def _compile_exact_check(subschema: Any) -> Callable[[Any], bool] | None:
    """Compile a predicate that is true exactly when jsonschema finds `subschema` valid for a value.

    Only the keywords in `_EXACT_KEYWORDS` are compiled, with `type` limited to the names in
    `_ISINSTANCE_TYPES`, nested as deep as they go. Keywords that jsonschema ignores are ignored.
    For any other keyword, and for a boolean schema other than true, this returns None and
    jsonschema checks the value itself. `subschema` must be valid under the 2020-12 metaschema,
    as `_validator` checks.
    """
    if subschema is True:
        return lambda instance: True
    if not isinstance(subschema, dict) or _SCOPE_KEYWORDS & subschema.keys():
        return None
    if any(keyword in _Validator.VALIDATORS and keyword not in _EXACT_KEYWORDS for keyword in subschema):
        return None

    types: tuple[type, ...] | None = None
    if "type" in subschema:
        names = subschema["type"]
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, list) or not all(name in _ISINSTANCE_TYPES for name in names):
            return None
        types = tuple(_ISINSTANCE_TYPES[name] for name in names)

    min_length = subschema.get("minLength", 0)
    max_length = subschema.get("maxLength")
    required = frozenset(subschema.get("required", ()))

    properties: dict[str, Callable[[Any], bool]] = {}
    for name, child in subschema.get("properties", {}).items():
        check = _exact_check(child)
        if check is None:
            return None
        properties[name] = check

    additional = subschema.get("additionalProperties", True)
    if additional is not True and additional is not False:
        additional = _exact_check(additional)
        if additional is None:
            return None
    items = _exact_check(subschema.get("items", True))
    if items is None:
        return None

    def accepts(instance: Any) -> bool:
        if types is not None and not isinstance(instance, types):
            return False
        if isinstance(instance, str):
            return min_length <= len(instance) and (max_length is None or len(instance) <= max_length)
        if isinstance(instance, dict):
            if not instance.keys() >= required:
                return False
            for key, value in instance.items():
                check = properties.get(key)
                if check is not None:
                    if not check(value):
                        return False
                elif additional is False or (additional is not True and not additional(value)):
                    return False
            return True
        if isinstance(instance, list):
            return all(map(items, instance))
        return True

    return accepts


# Lenient conversion


def _convert_lenient(value: Any, node: Any, root: dict) -> Any:
    """Return a copy of `value` with ParallelCluster's lenient integer and boolean forms converted.

    The copy also turns non-string mapping keys into text, so every later step gets string keys.
    It never shares containers, because aliases in the source may repeat one object.
    """
    node = _resolve(node, root)

    if isinstance(value, dict):
        properties = node.get("properties", {})
        additional = node.get("additionalProperties", {})
        converted = {}
        for key, item in value.items():
            name = key if isinstance(key, str) else yaml_text(key)
            child = properties.get(name, additional if isinstance(additional, dict) else {})
            converted[name] = _convert_lenient(item, child, root)
        return converted

    if isinstance(value, list):
        items = node.get("items", {})
        return [_convert_lenient(item, items, root) for item in value]

    types = _declared_types(node)
    if types == {"integer"}:
        return _lenient_integer(value)
    if types == {"boolean"}:
        return _lenient_boolean(value)
    return value


def _lenient_integer(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return value
    return value


def _lenient_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        if value in _TRUE_STRINGS:
            return True
        if value in _FALSE_STRINGS:
            return False
    return value


# Defaults


def _apply_defaults(value: Any, node: Any, root: dict) -> None:
    """Fill `default`s into every mapping present in `value`, recursing into what was filled."""
    node = _resolve(node, root)

    if isinstance(value, dict):
        for name, child in node.get("properties", {}).items():
            child = _resolve(child, root)
            if name not in value and "default" in child:
                value[name] = copy.deepcopy(child["default"])
            # Defaults are filled only into mappings, so a scalar needs no visit.
            if name in value and isinstance(value[name], (dict, list)):
                _apply_defaults(value[name], child, root)
    elif isinstance(value, list):
        items = node.get("items")
        if items is not None:
            for item in value:
                if isinstance(item, (dict, list)):
                    _apply_defaults(item, items, root)


# Messages


class _ErrorFormatter:
    """Turns jsonschema errors into one located, readable message per problem."""

    def __init__(self, config: dict, source_map: SourceMap, root: dict):
        self.config = config
        self.source_map = source_map
        self.root = root

    def messages(self, errors: list[ValidationError], truncated: bool = False) -> list[Message]:
        errors = [self._most_specific(error) for error in errors]
        errors.sort(key=relevance, reverse=True)

        # A value of the wrong type makes every other finding beneath it noise.
        broken = {tuple(e.absolute_path) for e in errors if e.validator == "type"}

        unknown = [e for e in errors if e.validator in ("additionalProperties", "unevaluatedProperties")]
        renamed = self._renamed_keys(unknown)

        found: dict[tuple, Message] = {}
        for error in errors:
            path = tuple(error.absolute_path)
            if any(path[:length] in broken for length in range(len(path))):
                continue
            for message in self._format(error, renamed):
                identity = (message.path, message.message)
                found.setdefault(identity, message)

        messages = sorted(found.values(), key=lambda m: (m.line or 0, m.column or 0))
        if len(messages) > MAX_SCHEMA_MESSAGES or truncated:
            shown = messages[: MAX_SCHEMA_MESSAGES - 1]
            hidden = len(messages) - len(shown)
            if truncated:
                text = "more schema errors are not shown; fix the ones above first"
            else:
                text = f"{hidden} more schema errors are not shown; fix the ones above first"
            last = shown[-1] if shown else messages[0]
            summary = Message(
                Level.ERROR, SCHEMA_VALIDATOR_TYPE, text, path=last.path, line=last.line, column=last.column
            )
            messages = shown + [summary]
        return messages

    @staticmethod
    def _most_specific(error: ValidationError) -> ValidationError:
        # anyOf and oneOf report their own failure, but the best branch's error is more specific.
        while error.context:
            best = jsonschema.exceptions.best_match(error.context)
            if best is None:
                break
            error = best
        return error

    def _renamed_keys(self, unknown: list[ValidationError]) -> dict[KeyPath, str]:
        """Map each missing required key that an unknown key was probably meant as, to that key."""
        renamed: dict[KeyPath, str] = {}
        for error in unknown:
            path = tuple(error.absolute_path)
            node = self._schema_at(error)
            required = node.get("required", [])
            instance = error.instance if isinstance(error.instance, dict) else {}
            missing = [name for name in required if name not in instance]
            for key in self._extra_keys(error):
                suggestion = _suggest(key, missing)
                if suggestion is not None:
                    renamed[path + (suggestion,)] = key
        return renamed

    def _schema_at(self, error: ValidationError) -> dict:
        return _resolve(error.schema, self.root)

    def _extra_keys(self, error: ValidationError) -> list[str]:
        node = self._schema_at(error)
        known = node.get("properties", {})
        instance = error.instance if isinstance(error.instance, dict) else {}
        return [key for key in instance if key not in known]

    def _format(self, error: ValidationError, renamed: dict[KeyPath, str]) -> list[Message]:
        path = tuple(error.absolute_path)
        node = self._schema_at(error)
        custom = node.get("errorMessage") if isinstance(node.get("errorMessage"), str) else None
        keyword = error.validator

        if keyword in ("additionalProperties", "unevaluatedProperties"):
            return [self._unknown_key(path, key, node) for key in self._extra_keys(error)]

        if keyword == "required":
            instance = error.instance if isinstance(error.instance, dict) else {}
            messages = []
            for name in error.validator_value:
                if name in instance or path + (name,) in renamed:
                    continue
                where = format_path(path) or "top level"
                messages.append(self._message(path + (name,), f"{where}: missing required key {name}", key_of=path))
            return messages

        where = format_path(path) or "top level"
        # For a rule over a whole mapping or list, "found a mapping" would add nothing, unless
        # the type itself is what is wrong.
        found = ""
        if keyword == "type" or not isinstance(error.instance, (dict, list)):
            found = f"found {describe_value(error.instance)}"
        if custom:
            return [self._message(path, f"{where}: {custom}" + (f"; {found}" if found else ""))]

        expected = _expectation(keyword, error.validator_value, node, error)
        return [self._message(path, f"{where}: expected {expected}" + (f", {found}" if found else ""))]

    def _unknown_key(self, parent: KeyPath, key: str, node: dict) -> Message:
        known = list(node.get("properties", {}))
        where = format_path(parent) or "top level"
        suggestion = _suggest(key, known)
        if suggestion is not None:
            hint = f"; did you mean {suggestion}?"
        elif known:
            hint = f", expected one of: {', '.join(known)}"
        else:
            hint = ", and this mapping accepts no keys"
        return self._message(parent + (key,), f"{where}: unknown key {describe_value(key)}{hint}", key_of=parent + (key,))

    def _message(self, path: KeyPath, text: str, key_of: KeyPath | None = None) -> Message:
        if key_of is not None:
            line, column = self.source_map.locate(key_of, key=True)
        else:
            line, column = self.source_map.locate(path)
        return Message(Level.ERROR, SCHEMA_VALIDATOR_TYPE, text, path=path, line=line, column=column)


def _suggest(key: str, candidates: list[str]) -> str | None:
    for candidate in candidates:
        if candidate.lower() == key.lower():
            return candidate
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.75)
    return close[0] if close else None


_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean (true or false)",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}


def _expectation(keyword: str, value: Any, node: dict, error: ValidationError) -> str:
    if keyword == "type":
        names = [value] if isinstance(value, str) else list(value)
        return " or ".join(_TYPE_NAMES.get(name, name) for name in names)
    if keyword == "enum":
        return "one of " + ", ".join(yaml_text(choice) for choice in value)
    if keyword == "const":
        return describe_value(value)
    if keyword == "pattern":
        return f"a string matching the regular expression {value}"
    if keyword == "maxLength":
        return f"at most {value} characters (it has {len(error.instance)})"
    if keyword == "minLength":
        return f"at least {value} characters"
    if keyword in ("minItems", "maxItems"):
        low, high = node.get("minItems"), node.get("maxItems")
        count = len(error.instance) if isinstance(error.instance, list) else 0
        if low is not None and high is not None:
            return f"between {low} and {high} items (it has {count})"
        if low is not None:
            return f"at least {low} item{'s' if low != 1 else ''} (it has {count})"
        return f"at most {high} items (it has {count})"
    if keyword == "uniqueItems":
        return "no repeated items"
    if keyword in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        relation = {
            "minimum": "at least",
            "exclusiveMinimum": "more than",
            "maximum": "at most",
            "exclusiveMaximum": "less than",
        }[keyword]
        return f"a value {relation} {value}"
    if keyword == "contentMediaType":
        return error.message.removeprefix("expected ")
    return error.message
