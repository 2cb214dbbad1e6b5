"""Schema messages: one per problem, located, saying what was expected and what was found."""

from __future__ import annotations

import pytest

from pcimage.engine import SCHEMA_VALIDATOR_TYPE, Level, check_schema, load_yaml

MINIMAL = "Build:\n  InstanceType: c5.xlarge\n  ParentImage: ami-12345678\n"


def schema_messages(text):
    return check_schema(load_yaml(text)).messages


def only_message(text):
    messages = schema_messages(text)
    assert len(messages) == 1, [m.message for m in messages]
    return messages[0]


def test_valid_config_has_no_messages_and_defaults():
    result = check_schema(load_yaml(MINIMAL))

    assert result.messages == ()
    assert result.config["Build"]["Imds"] == {"ImdsSupport": "v2.0"}


def test_every_message_is_schema_error():
    messages = schema_messages("Foo: 1\nBuild:\n  ParentImage: xyz\n")

    assert messages
    for message in messages:
        assert message.type == SCHEMA_VALIDATOR_TYPE
        assert message.level is Level.ERROR
        assert message.line is not None


def test_pattern_names_path_position_and_value():
    message = only_message("Build:\n  InstanceType: c5.xlarge\n  ParentImage: xyz\n")

    assert message.dotted_path == "Build.ParentImage"
    assert (message.line, message.column) == (3, 16)
    assert "'xyz'" in message.message
    assert message.message.startswith("Build.ParentImage:")


def test_missing_required_key_located_at_parent():
    message = only_message("Build:\n  ParentImage: ami-12345678\n")

    assert message.dotted_path == "Build.InstanceType"
    assert message.message == "Build: missing required key InstanceType"
    assert (message.line, message.column) == (1, 1)


def test_unknown_key_suggests_close_match():
    message = only_message(MINIMAL + "  UpdateOsPackage:\n    Enabled: true\n")

    assert message.message.startswith("Build: unknown key 'UpdateOsPackage'")
    assert "did you mean UpdateOsPackages?" in message.message
    assert (message.line, message.column) == (4, 3)


def test_unknown_key_lists_allowed_keys():
    message = only_message(MINIMAL + "Zzz: 1\n")

    assert message.message.startswith("top level: unknown key 'Zzz', expected one of:")
    assert "expected one of:" in message.message
    assert "Build" in message.message


def test_wrong_case_key_is_one_message():
    message = only_message(MINIMAL.replace("Build:", "build:"))

    assert "unknown key 'build'" in message.message
    assert "did you mean Build?" in message.message


def test_wrong_type_hides_nested_noise():
    message = only_message(MINIMAL + "Image: [1, 2]\n")

    assert message.dotted_path == "Image"
    assert "expected a mapping, found a list" in message.message


def test_null_value_reported():
    message = only_message(MINIMAL + "Image:\n")

    assert "Image: expected a mapping, found null" == message.message


def test_control_characters_escaped():
    message = only_message('Build:\n  InstanceType: c5.xlarge\n  ParentImage: "x\\u200bami\\x01"\n')

    assert "\\u200b" in message.message
    assert "\\x01" in message.message
    assert "\u200b" not in message.message


def test_long_values_cut():
    message = only_message(MINIMAL + "Image:\n  Name: " + "n" * 500 + "\n")

    assert "(500 characters)" in message.message
    assert len(message.message) < 200


def test_messages_in_document_order():
    messages = schema_messages("Image:\n  Name: 3\nBuild:\n  InstanceType: 4\n  ParentImage: xyz\n")

    assert [m.dotted_path for m in messages] == ["Image.Name", "Build.InstanceType", "Build.ParentImage"]
    assert [m.line for m in messages] == [2, 4, 5]


@pytest.mark.parametrize(
    ("value", "converted"),
    [("'40'", 40), ("' 7 '", 7), ("40.9", 40), ("40", 40)],
)
def test_lenient_integers_accepted(value, converted):
    result = check_schema(load_yaml(MINIMAL + f"Image:\n  RootVolume:\n    Size: {value}\n"))

    assert result.messages == ()
    assert result.config["Image"]["RootVolume"]["Size"] == converted


@pytest.mark.parametrize("value", ["'40.5'", "true", "big"])
def test_non_integers_rejected(value):
    message = only_message(MINIMAL + f"Image:\n  RootVolume:\n    Size: {value}\n")

    assert message.dotted_path == "Image.RootVolume.Size"
    assert "expected an integer" in message.message


@pytest.mark.parametrize(("value", "converted"), [("yes", True), ("'on'", True), ("'F'", False), ("0", False), ("'N'", False)])
def test_lenient_booleans_accepted(value, converted):
    result = check_schema(load_yaml(MINIMAL + f"  UpdateOsPackages:\n    Enabled: {value}\n"))

    assert result.messages == ()
    assert result.config["Build"]["UpdateOsPackages"]["Enabled"] is converted


def test_non_boolean_rejected():
    message = only_message(MINIMAL + "  UpdateOsPackages:\n    Enabled: maybe\n")

    assert "expected a boolean" in message.message


def test_date_where_string_expected():
    message = only_message(MINIMAL + "Image:\n  Name: 2024-01-01\n")

    assert "found the date 2024-01-01" in message.message


def test_aliases_do_not_share_normalized_objects():
    text = "Build:\n  InstanceType: c5.xlarge\n  ParentImage: ami-12345678\n  Tags: &t\n    - {Key: a, Value: b}\nImage:\n  Tags: *t\n"
    result = check_schema(load_yaml(text))

    assert result.messages == ()
    assert result.config["Build"]["Tags"] is not result.config["Image"]["Tags"]


def test_many_errors_capped_with_summary():
    tags = ", ".join(["1"] * 5000)

    messages = schema_messages(MINIMAL + f"  Tags: [{tags}]\n")

    assert len(messages) == 100
    assert messages[0].dotted_path == "Build.Tags[0]"
    assert messages[-1].message == "more schema errors are not shown; fix the ones above first"


def test_few_errors_not_capped():
    messages = schema_messages(MINIMAL + "  Tags: [1, 2, 3]\n")

    assert [m.dotted_path for m in messages] == ["Build.Tags[0]", "Build.Tags[1]", "Build.Tags[2]"]


@pytest.mark.parametrize("value", ["tRue", "'TRUE '", "yEs"])
def test_boolean_spellings_as_marshmallow(value):
    message = only_message(MINIMAL + f"  UpdateOsPackages:\n    Enabled: {value}\n")

    assert "expected a boolean" in message.message
