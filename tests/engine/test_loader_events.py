"""The loader's event handling: fast paths for plain text, key tracking and the parser choice."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pcimage.engine import ConfigLoadError, load_yaml
from pcimage.engine import loader


def load_error(source: str | bytes) -> ConfigLoadError:
    with pytest.raises(ConfigLoadError) as caught:
        load_yaml(source)
    return caught.value


def test_same_keys_in_sibling_items_allowed():
    document = load_yaml("Tags:\n  - Key: a\n    Value: b\n  - Key: c\n    Value: d\nKey: e\n")

    assert document.data == {"Tags": [{"Key": "a", "Value": "b"}, {"Key": "c", "Value": "d"}], "Key": "e"}
    assert document.source_map.locate(("Tags", 1, "Key"), key=True) == (4, 5)
    assert document.source_map.locate(("Key",), key=True) == (6, 1)


def test_duplicate_key_in_list_item_located():
    error = load_error("Tags:\n  - Key: a\n    Value: b\n  - Key: c\n    Key: d\n")

    assert "duplicate key 'Key': it is already defined at line 4, column 5" in error.problem.problem
    assert (error.problem.line, error.problem.column) == (5, 5)


def test_duplicate_key_after_nested_mapping():
    error = load_error("Build:\n  Imds:\n    ImdsSupport: v2.0\n  Imds: {}\n")

    assert "duplicate key 'Imds'" in error.problem.problem
    assert (error.problem.line, error.problem.column) == (4, 3)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("a: !!int '12'\n", 12),
        ("a: !!str 012\n", "012"),
        ("a: ! 12\n", "12"),
        ("a: '012'\n", "012"),
        ('a: "yes"\n', "yes"),
        ("a: |\n  12\n", "12\n"),
        ("a:\n", None),
        ("a: ''\n", ""),
        ("a: tag-12\n", "tag-12"),
        ("a: Value\n", "Value"),
        ("a: 0o17\n", "0o17"),
    ],
)
def test_scalar_resolution(text, value):
    assert load_yaml(text).data == {"a": value}
    assert type(load_yaml(text).data["a"]) is type(value)


def test_invalid_explicit_int_located():
    error = load_error("a:\n  b: !!int 'x1'\n")

    assert error.problem.problem == "'x1' is not a valid int"
    assert (error.problem.line, error.problem.column) == (2, 6)


def test_scalar_document_located():
    error = load_error("\n  text\n")

    assert "found 'text'" in error.problem.problem
    assert (error.problem.line, error.problem.column) == (2, 3)


SAMPLES = [
    "Build:\n  InstanceType: c5.xlarge\n  Tags:\n    - Key: a\n      Value: 'b'\n",
    "a: &x [1, 2]\nb: *x\nc: {d: ~, e: yes, f: 2024-01-02}\n",
    "Build:\n  InstanceType: [c5.xlarge\n",
    "a: 1\na: 2\n",
    "a: *missing\n",
    "Build: {}\n---\nImage: {}\n",
    "<<: {a: 1}\n",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_pure_parser_fallback_matches(text, monkeypatch):
    def outcome():
        try:
            document = load_yaml(text)
        except ConfigLoadError as error:
            return str(error), error.problem.line, error.problem.column
        return document.data, document.source_map.values, document.source_map.keys

    with_clib = outcome()
    monkeypatch.setattr(loader, "CParser", None)

    assert outcome() == with_clib


def _resolve_rule_by_rule(value: str) -> str:
    if value and value[0] not in loader._RESOLVABLE_FIRST_CHARACTERS:
        return "tag:yaml.org,2002:str"
    for tag, expression in loader._YAML11_IMPLICIT:
        if expression.match(value):
            return tag
    return "tag:yaml.org,2002:str"


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="-+._:0123456789abeEfFinNlLoOrsStTuxyY<~ \tZ\n", max_size=14))
def test_combined_resolution_matches_rules(value):
    assert loader._Builder("")._resolve(value) == _resolve_rule_by_rule(value)


@pytest.mark.parametrize(
    "value",
    ["<<", "~", "", "null", "NULL", "yes", "Off", "0b1_0", "-0x1F", "012", "1:20", "-1:20.5", ".5", "1e3", "1.0e+3", ".inf",
     "-.Inf", ".NaN", "2024-01-02", "2024-1-2 10:20:30", "2024-01-02T10:20:30.5Z", "1_000", "+12", "tag-1", "no way"],
)
def test_combined_resolution_named_forms(value):
    assert loader._Builder("")._resolve(value) == _resolve_rule_by_rule(value)
