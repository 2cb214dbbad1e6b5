"""Every key of the image configuration, with a valid and an invalid value, through the engine.

The value table lives with the schema tests (tests/schemas/test_image_config_schema.py), which
check the JSON Schema alone. Here each case goes through what a user runs: YAML text, the loader,
the lenient conversion and the schema check, and every rejection must be located at its key.
"""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from pcimage.engine import check_schema, load_yaml

_SPEC = importlib.util.spec_from_file_location(
    "image_config_schema_cases", Path(__file__).parent.parent / "schemas" / "test_image_config_schema.py"
)
CASES = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(CASES)

# Values the raw schema rejects but ParallelCluster's marshmallow fields convert, and so does
# pcimage: numeric strings and floats for integers, marshmallow's spellings for booleans.
LENIENT = {
    ("Image.RootVolume.Size", "40"),
    ("Image.RootVolume.Size", 40.5),
    ("Image.RootVolume.Encrypted", "true"),
    ("Image.RootVolume.Encrypted", 1),
    ("Build.UpdateOsPackages.Enabled", "yes"),
    ("Build.Installation.LustreClient.Enabled", "no"),
    ("DevSettings.DisablePclusterComponent", "true"),
    ("DevSettings.TerminateInstanceOnFailure", 0),
    ("DevSettings.DisableValidateAndTest", "off"),
    ("DevSettings.DisableKernelUpdate", "y"),
}


def yaml_text(config) -> str:
    stream = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.dump(config, stream)
    return stream.getvalue()


def test_lenient_cases_are_in_table():
    table = {(path, value) for path, value, _ in CASES.KEY_CASES if isinstance(value, (str, int, float))}

    assert LENIENT <= table


@pytest.mark.parametrize("case", CASES.KEY_CASES, ids=CASES.case_id)
def test_key_value_through_engine(case):
    path, value, valid = case
    lenient = isinstance(value, (str, int, float)) and (path, value) in LENIENT

    result = check_schema(load_yaml(yaml_text(CASES.config_with(path, value))))

    if valid or lenient:
        assert [message.message for message in result.messages] == []
    else:
        assert result.messages, f"{path}={value!r} should be rejected"
        key_path = CASES.location(path)
        for message in result.messages:
            assert message.path[: len(key_path)] == key_path, message.message
            assert message.line is not None, message.message
