"""YAML-level problems: each is one clear error with its position, and nothing is constructed."""

from __future__ import annotations

import datetime

import pytest

from pcimage.engine import ConfigLoadError, load_yaml
from pcimage.engine.loader import MAX_DEPTH, MAX_DOCUMENT_BYTES, MAX_NODES


def load_error(source: str | bytes) -> ConfigLoadError:
    with pytest.raises(ConfigLoadError) as caught:
        load_yaml(source)
    return caught.value


def test_positions_of_keys_and_values():
    document = load_yaml("Build:\n  InstanceType: c5.xlarge\n  ParentImage: ami-1\n")

    assert document.data == {"Build": {"InstanceType": "c5.xlarge", "ParentImage": "ami-1"}}
    assert document.source_map.locate(("Build", "ParentImage")) == (3, 16)
    assert document.source_map.locate(("Build", "ParentImage"), key=True) == (3, 3)
    assert document.source_map.locate(("Build", "Missing")) == (2, 3)


def test_list_item_positions():
    document = load_yaml("Build:\n  Components:\n    - Type: arn\n      Value: arn:x\n")

    assert document.source_map.locate(("Build", "Components", 0, "Value")) == (4, 14)


def test_syntax_error_has_position():
    error = load_error("Build:\n  InstanceType: [c5.xlarge\n")

    assert error.problem.line == 3
    assert "invalid YAML" in error.problem.problem


def test_tab_indentation():
    error = load_error("Build:\n\tInstanceType: c5.xlarge\n")

    assert "tab character" in error.problem.problem
    assert (error.problem.line, error.problem.column) == (2, 1)


def test_duplicate_key_names_both_places():
    error = load_error("Build:\n  InstanceType: a\n  InstanceType: b\n")

    assert "duplicate key 'InstanceType'" in error.problem.problem
    assert "line 2, column 3" in error.problem.problem
    assert (error.problem.line, error.problem.column) == (3, 3)


def test_invalid_utf8_gives_byte_offset():
    error = load_error(b"Build:\n  InstanceType: c5\xff\n")

    assert error.problem.offset == 25
    assert (error.problem.line, error.problem.column) == (2, 19)
    assert "not valid UTF-8" in error.problem.problem
    assert "byte offset 25" in error.problem.problem


def test_invalid_utf8_offset_counts_the_bom():
    error = load_error(b"\xef\xbb\xbfa: \xc3\n")

    assert error.problem.offset == 6


def test_bom_and_crlf_accepted():
    document = load_yaml(b"\xef\xbb\xbfBuild:\r\n  InstanceType: c5.xlarge\r\n")

    assert document.data == {"Build": {"InstanceType": "c5.xlarge"}}
    assert document.source_map.locate(("Build", "InstanceType")) == (2, 17)


@pytest.mark.parametrize("text", ["", "   \n", "# just a comment\n# and another\n"])
def test_empty_or_comment_only(text):
    error = load_error(text)

    assert "empty" in error.problem.problem


@pytest.mark.parametrize(
    ("text", "found"),
    [("- Build\n", "a list"), ("just text\n", "'just text'"), ("~\n", "an empty document"), ("42\n", "the number 42")],
)
def test_top_level_must_be_mapping(text, found):
    error = load_error(text)

    assert "top level of the configuration must be a mapping" in error.problem.problem
    assert found in error.problem.problem


@pytest.mark.parametrize(
    "text",
    [
        "Build: !!python/object/apply:os.system ['true']\n",
        "Build: !!python/object:builtins.dict {}\n",
        "Build: !custom value\n",
        "Build: !!set {a, b}\n",
    ],
)
def test_tags_are_rejected_not_constructed(text):
    error = load_error(text)

    assert "is not allowed" in error.problem.problem
    assert error.problem.line == 1


def test_billion_laughs_is_bounded():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 10):
        previous = f"*a{level - 1}"
        lines.append(f"a{level}: &a{level} [{', '.join([previous] * 10)}]")

    error = load_error("\n".join(lines) + "\n")

    assert f"more than {MAX_NODES} values" in error.problem.problem
    assert error.problem.line is not None


def test_nesting_beyond_bound():
    error = load_error("a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n")

    assert f"more than {MAX_DEPTH} levels" in error.problem.problem


def test_deep_nesting_through_alias_is_bounded():
    half = MAX_DEPTH // 2 + 2
    text = "a: &deep " + "[" * half + "]" * half + "\nb: " + "[" * half + "*deep" + "]" * half + "\n"

    error = load_error(text)

    assert "levels deep" in error.problem.problem


def test_document_over_size_limit():
    error = load_error(b"a: " + b"x" * MAX_DOCUMENT_BYTES + b"\n")

    assert f"maximum of {MAX_DOCUMENT_BYTES} bytes" in error.problem.problem


def test_second_document_rejected():
    error = load_error("Build: {}\n---\nImage: {}\n")

    assert "more than one YAML document" in error.problem.problem
    assert error.problem.line == 2


def test_control_character_rejected():
    error = load_error("Build:\n  InstanceType: c5\x07\n")

    assert "U+0007" in error.problem.problem
    assert (error.problem.line, error.problem.column) == (2, 19)


def test_undefined_alias():
    error = load_error("Build: *nowhere\n")

    assert "*nowhere" in error.problem.problem


def test_yaml11_scalars_as_pyyaml_reads_them():
    document = load_yaml(
        "a: yes\nb: y\nc: 012\nd: 1e3\ne: 1.5\nf: 1:20\ng: 2024-01-02\nh: ~\ni: 3.0.0\nj: 0x1F\nk: 'yes'\n"
    )

    assert document.data == {
        "a": True,
        "b": "y",
        "c": 10,
        "d": "1e3",
        "e": 1.5,
        "f": 80,
        "g": datetime.date(2024, 1, 2),
        "h": None,
        "i": "3.0.0",
        "j": 31,
        "k": "yes",
    }


def test_yaml12_directive_keeps_pyyaml_rules():
    document = load_yaml("%YAML 1.2\n---\na: yes\nb: 'on'\n")

    assert document.data == {"a": True, "b": "on"}


def test_merge_keys_rejected_as_in_parallelcluster():
    error = load_error("base: &base {InstanceType: c5.xlarge}\nBuild:\n  <<: *base\n  ParentImage: ami-2\n")

    assert "merge keys (<<) are not supported" in error.problem.problem
    assert (error.problem.line, error.problem.column) == (3, 3)


def test_unpaired_surrogate_rejected():
    error = load_error("Build:\n  InstanceType: \ud800\n")

    assert "unpaired surrogate U+D800" in error.problem.problem
    assert (error.problem.line, error.problem.column) == (2, 17)


def test_utf16_without_bom_named():
    error = load_error("Build: {}\n".encode("utf-16-le"))

    assert "UTF-16" in error.problem.problem
    assert error.problem.line == 1


def test_collection_as_key_rejected():
    error = load_error("Build:\n  ? {a: 1}\n  : x\n")

    assert "mapping key must be plain text, not a mapping" in error.problem.problem
    assert error.problem.line == 2


def test_recursive_alias_rejected():
    error = load_error("a: &a\n  b: *a\n")

    assert "recursive aliases are not supported" in error.problem.problem


def test_non_string_keys_become_text():
    document = load_yaml("Image:\n  Name: x\n  2: y\n  ~: z\n")

    assert document.data == {"Image": {"Name": "x", "2": "y", "null": "z"}}
    assert document.source_map.locate(("Image", "2"), key=True) == (3, 3)


def test_aliased_values_located_at_alias():
    document = load_yaml("x: &tags\n  - Key: a\n    Value: b\nBuild:\n  Tags: *tags\n")

    assert document.source_map.locate(("Build", "Tags", 0, "Value")) == (5, 9)
