"""The exact item checks that let the schema check skip jsonschema for valid list items.

A compiled check must agree with jsonschema on every value, both ways. A subschema that cannot be
checked exactly gets None.
"""

from __future__ import annotations

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pcimage.engine import check_schema, load_yaml
from pcimage.engine.schema import _compile_exact_check, _validator

MINIMAL = "Build:\n  InstanceType: c5.xlarge\n  ParentImage: ami-12345678\n"


def _subschemas(node):
    """Yield `node` and every schema nested in it, skipping keywords whose values are data."""
    if isinstance(node, list):
        for value in node:
            yield from _subschemas(value)
    if not isinstance(node, dict):
        return
    yield node
    for keyword, value in node.items():
        if keyword in ("properties", "patternProperties", "dependentSchemas"):
            for child in value.values():
                yield from _subschemas(child)
        elif keyword not in ("enum", "const", "default", "examples", "required"):
            yield from _subschemas(value)


INLINED = _validator().schema
COMPILED = [node for node in _subschemas(INLINED) if _compile_exact_check(node) is not None]

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=5),
    st.floats(allow_nan=False),
    st.text(max_size=3),
    st.text(min_size=120, max_size=300),
    st.sampled_from(["Key", "Value", "Type", "Policy", "Enabled", "x" * 128, "x" * 129, "x" * 256, "x" * 257]),
)
_keys = st.sampled_from(["Key", "Value", "Type", "Policy", "Enabled", "Name", "Other"])
_values = st.recursive(
    _scalars,
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(_keys, children, max_size=4)),
    max_leaves=8,
)


def _shaped(node, depth=0):
    """Values that follow `node`'s keys and lengths closely, so both verdicts come up often."""
    if depth > 3 or not isinstance(node, dict):
        return _values
    if "properties" in node:
        shaped = {name: _shaped(child, depth + 1) for name, child in node["properties"].items()}
        required = {name: shaped[name] for name in node.get("required", []) if name in shaped}
        optional = {name: st.one_of(strategy, _scalars) for name, strategy in shaped.items() if name not in required}
        optional["Other"] = _scalars
        return st.one_of(
            st.fixed_dictionaries(required, optional=optional),
            st.fixed_dictionaries({}, optional=optional | required),
            _values,
        )
    if "items" in node:
        return st.one_of(st.lists(st.one_of(_shaped(node["items"], depth + 1), _scalars), max_size=3), _values)
    if "maxLength" in node:
        limit = node["maxLength"]
        return st.one_of(st.text(max_size=3), st.text(min_size=max(0, limit - 1), max_size=limit + 1), _values)
    return _values


def test_image_schema_has_compiled_checks():
    tag = INLINED["properties"]["Build"]["properties"]["Tags"]["items"]

    assert _compile_exact_check(tag) is not None
    assert len(COMPILED) > 1


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_compiled_checks_agree_with_jsonschema(data):
    node = data.draw(st.sampled_from(COMPILED))
    value = data.draw(_shaped(node))

    expected = jsonschema.Draft202012Validator(node).is_valid(value)

    assert _compile_exact_check(node)(value) is expected


@pytest.mark.parametrize(
    ("schema", "accepted", "rejected"),
    [
        ({"type": "string"}, ["", "a"], [1, None, True, [], {}]),
        ({"type": ["string", "array"]}, ["a", []], [{}, 1.5]),
        ({"type": []}, [], ["a", 1, None]),
        ({"type": "boolean"}, [True, False], [0, 1, "true"]),
        ({"minLength": 2, "maxLength": 3}, ["ab", "abc", 1, None], ["a", "abcd"]),
        ({"maxLength": 1}, ["\U0001f600", "é"], ["ab"]),
        ({"required": ["a"]}, [{"a": None}, "not a mapping"], [{}, {"b": 1}]),
        ({"properties": {"a": {"type": "string"}}}, [{"a": "x"}, {"b": 1}], [{"a": 1}]),
        ({"properties": {"a": True}, "additionalProperties": False}, [{"a": 1}, {}], [{"b": 1}]),
        ({"additionalProperties": {"type": "string"}}, [{"b": "x"}], [{"b": 1}]),
        ({"items": {"maxLength": 1}}, [["a", "b"], [], "abc"], [["a", "bc"]]),
        ({"items": {"items": {"type": "string"}}}, [[["a"], []]], [[["a", 1]]]),
        ({"description": "ignored", "errorMessage": "ignored", "default": 1, "$comment": "ignored"}, [1, "x"], []),
        (True, [1, None, {}], []),
    ],
)
def test_keyword_semantics_match_jsonschema(schema, accepted, rejected):
    check = _compile_exact_check(schema)
    validator = jsonschema.Draft202012Validator(schema)

    for value in accepted:
        assert validator.is_valid(value), value
        assert check(value), value
    for value in rejected:
        assert not validator.is_valid(value), value
        assert not check(value), value


@pytest.mark.parametrize(
    "schema",
    [
        False,
        {"pattern": "^a"},
        {"enum": ["a"]},
        {"const": "a"},
        {"type": "integer"},
        {"type": "null"},
        {"format": "uri"},
        {"$ref": "#/$defs/Tag"},
        {"$id": "https://example.com/tag"},
        {"$schema": "https://json-schema.org/draft/2020-12/schema"},
        {"prefixItems": [{"type": "string"}]},
        {"items": False},
        {"contentMediaType": "application/json"},
        {"properties": {"a": {"pattern": "^a"}}},
        {"additionalProperties": {"enum": [1]}},
        {"patternProperties": {"^a": {}}},
        {"unevaluatedProperties": False},
    ],
)
def test_unsupported_schema_is_not_compiled(schema):
    assert _compile_exact_check(schema) is None


def _tags(count: int, bad_index: int | None = None, bad_entry: str = "") -> str:
    lines = [MINIMAL.rstrip("\n"), "  Tags:"]
    for index in range(count):
        if index == bad_index:
            lines.append(bad_entry)
        else:
            lines.append(f"    - Key: tag-{index}\n      Value: value-{index}")
    return "\n".join(lines) + "\n"


def test_many_valid_tags_pass():
    result = check_schema(load_yaml(_tags(3000)))

    assert result.messages == ()
    assert len(result.config["Build"]["Tags"]) == 3000


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("    - Key: k\n      Value: " + "v" * 257, "Build.Tags[1500].Value: expected at most 256 characters (it has 257)"),
        ("    - Key: k", "Build.Tags[1500]: missing required key Value"),
        ("    - Key: k\n      Value: 12", "Build.Tags[1500].Value: expected a string, found the number 12"),
        ("    - Key: k\n      Value: v\n      Extra: x", "Build.Tags[1500]: unknown key 'Extra'"),
    ],
)
def test_one_bad_tag_among_many_is_reported(entry, expected):
    messages = check_schema(load_yaml(_tags(3000, bad_index=1500, bad_entry=entry))).messages

    assert len(messages) == 1, [message.message for message in messages]
    assert messages[0].message.startswith(expected)
    assert messages[0].line is not None
