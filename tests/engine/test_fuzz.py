"""Property tests: configs generated from the schema, and mutations of them, never crash the engine.

Every rejection must name where: a key path or a line and column.
"""

from __future__ import annotations

import io
import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from pcimage.engine import ValidationContext, create_plugin_manager, image_config_schema, validate_config

SCHEMA = image_config_schema()
OFFLINE = ValidationContext(offline=True)
# Only the built-in plugin, and no AWS: this is about the engine, not the account.
MANAGER = create_plugin_manager()

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
_junk = st.recursive(
    _scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)),
    max_leaves=12,
)


def _resolve(node):
    while isinstance(node, dict) and "$ref" in node:
        target = SCHEMA
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = {**target, **{key: value for key, value in node.items() if key != "$ref"}}
    return node


def from_schema(node, depth=0):
    """A strategy for values that follow `node`'s types, patterns, enums and bounds."""
    node = _resolve(node)

    if "enum" in node:
        return st.sampled_from(node["enum"])
    if "const" in node:
        return st.just(node["const"])

    kind = node.get("type")
    if isinstance(kind, list):
        kind = kind[0]

    if kind == "object" or "properties" in node:
        properties = node.get("properties", {})
        required = [name for name in node.get("required", []) if name in properties]
        optional = [name for name in properties if name not in required]
        if depth > 6:
            return st.fixed_dictionaries({name: from_schema(properties[name], depth + 1) for name in required})
        return st.fixed_dictionaries(
            {name: from_schema(properties[name], depth + 1) for name in required},
            optional={name: from_schema(properties[name], depth + 1) for name in optional},
        )

    if kind == "array":
        low = node.get("minItems", 0)
        high = min(node.get("maxItems", low + 3), low + 3)
        return st.lists(from_schema(node.get("items", {}), depth + 1), min_size=low, max_size=high)

    if kind == "string":
        pattern = node.get("pattern")
        if pattern:
            limit = node.get("maxLength", 200)
            return st.from_regex(re.compile(pattern), fullmatch=False).filter(
                lambda text: len(text) <= limit and "\x00" not in text
            )
        return st.text(max_size=min(node.get("maxLength", 40), 40))

    if kind == "integer":
        return st.integers(min_value=node.get("minimum", -100), max_value=node.get("maximum", 100000))
    if kind == "boolean":
        return st.booleans()
    return _junk


def dump(data) -> str:
    stream = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.dump(data, stream)
    return stream.getvalue()


def assert_located(report):
    if report.load_problem is not None:
        problem = report.load_problem
        assert problem.line is not None or "empty" in problem.problem or "bytes long" in problem.problem, problem
        return
    for message in report.messages:
        if message.type == "ImageSchemaValidator":
            assert message.path or message.line is not None, message


def _mutate(data, draw):
    """Replace, drop or rename one node somewhere in `data`."""
    if not isinstance(data, (dict, list)) or not data:
        return draw(_junk)
    if isinstance(data, dict):
        key = draw(st.sampled_from(sorted(data)))
        action = draw(st.sampled_from(["replace", "drop", "rename", "descend"]))
        copy = dict(data)
        if action == "replace":
            copy[key] = draw(_junk)
        elif action == "drop":
            del copy[key]
        elif action == "rename":
            copy[draw(st.text(min_size=1, max_size=15))] = copy.pop(key)
        else:
            copy[key] = _mutate(copy[key], draw)
        return copy
    index = draw(st.integers(min_value=0, max_value=len(data) - 1))
    copy = list(data)
    copy[index] = _mutate(copy[index], draw) if draw(st.booleans()) else draw(_junk)
    return copy


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(from_schema(SCHEMA))
def test_generated_configs_never_crash(config):
    report = validate_config(dump(config), context=OFFLINE, plugin_manager=MANAGER)

    assert_located(report)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(from_schema(SCHEMA), st.data())
def test_mutated_configs_rejected_with_location(config, data):
    mutated = _mutate(config, data.draw)

    report = validate_config(dump(mutated) if isinstance(mutated, dict) else json.dumps(mutated), context=OFFLINE, plugin_manager=MANAGER)

    assert_located(report)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(from_schema(SCHEMA), st.data())
def test_corrupted_text_never_crashes(config, data):
    text = dump(config)
    start = data.draw(st.integers(min_value=0, max_value=len(text)))
    end = data.draw(st.integers(min_value=start, max_value=min(len(text), start + 20)))
    insert = data.draw(st.text(max_size=10))

    report = validate_config((text[:start] + insert + text[end:]).encode("utf-8", "surrogatepass"), context=OFFLINE, plugin_manager=MANAGER)

    assert_located(report)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash(blob):
    report = validate_config(blob, context=OFFLINE, plugin_manager=MANAGER)

    assert_located(report)
