"""Compare the schema's verdict on configs/*.yaml with ParallelCluster's recorded verdict.

Each NAME.yaml has a NAME.reference.json written by record_reference_verdicts.py: the response of
ParallelCluster 3.16.1's `pcluster build-image --dryrun true` with every validator suppressed.
Where ParallelCluster rejects a config, its error locations must be the schema's as well.
"""

from __future__ import annotations

import ast
import json
from importlib import resources
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML

CONFIG_DIR = Path(__file__).parent / "configs"
SCHEMA = json.loads(
    resources.files("pcimage.schemas").joinpath("image-config.schema.json").read_text(encoding="utf-8")
)
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)

# Configs where the schema alone deliberately gives another verdict than ParallelCluster.
SCHEMA_DIFFERENCES = {
    # ParallelCluster fails with an internal error (HTTP 500) on a missing Type, Value or Regions.
    "component-type-missing": "invalid",
    "distribution-regions-missing": "invalid",
    # ParallelCluster declares the image name pattern but enforces only the length.
    "image-name-off-pattern": "invalid",
    "image-name-empty": "invalid",
    # ParallelCluster converts '40' to 40. The engine does the same before the schema check.
    "root-volume-size-numeric-string": "invalid",
}

CONFIG_NAMES = sorted(path.stem for path in CONFIG_DIR.glob("*.yaml"))


def load_config(name: str):
    return YAML(typ="safe", pure=True).load((CONFIG_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


def load_reference(name: str) -> dict:
    return json.loads((CONFIG_DIR / f"{name}.reference.json").read_text(encoding="utf-8"))


def reference_error_paths(message: str) -> set[tuple]:
    """Return the key path of every leaf in ParallelCluster's schema error message.

    The message is the repr of marshmallow's sorted error dict, for example
    "[('Build', {'Components': {0: {'Value': ['...']}}})]". An error under `_schema` belongs
    to the object that contains it.
    """
    paths: set[tuple] = set()

    def collect(node, path: tuple) -> None:
        if isinstance(node, dict):
            for key, child in node.items():
                collect(child, path if key == "_schema" else path + (key,))
        else:
            paths.add(path)

    for key, child in ast.literal_eval(message):
        collect(child, (key,))
    return paths


def schema_error_paths(config) -> set[tuple]:
    """Return the schema's error locations in ParallelCluster's convention.

    ParallelCluster reports a missing or unknown key at the key itself, and one invalid security
    group id in Build.SecurityGroupIds at the list, where jsonschema reports the object or the element.
    """
    paths: set[tuple] = set()
    for error in VALIDATOR.iter_errors(config):
        path = tuple(error.absolute_path)
        if error.validator == "required":
            paths |= {path + (name,) for name in error.validator_value if name not in error.instance}
        elif error.validator == "additionalProperties":
            paths |= {path + (name,) for name in error.instance if name not in error.schema.get("properties", {})}
        elif path[:2] == ("Build", "SecurityGroupIds") and error.validator == "pattern":
            paths.add(path[:2])
        else:
            paths.add(path)
    return paths


def test_every_config_has_reference_verdict():
    verdicts = sorted(path.name.removesuffix(".reference.json") for path in CONFIG_DIR.glob("*.reference.json"))

    assert verdicts == CONFIG_NAMES
    assert len(CONFIG_NAMES) >= 20


def test_differences_name_existing_configs():
    assert set(SCHEMA_DIFFERENCES) <= set(CONFIG_NAMES)


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_schema_verdict_matches_reference(name):
    reference = load_reference(name)
    errors = list(VALIDATOR.iter_errors(load_config(name)))
    schema_verdict = "invalid" if errors else "valid"

    expected = SCHEMA_DIFFERENCES.get(name, reference["verdict"])

    assert reference["verdict"] in ("valid", "invalid", "internal-error")
    assert schema_verdict == expected, [error.message for error in errors]


REJECTED_BY_BOTH = [
    name for name in CONFIG_NAMES if name not in SCHEMA_DIFFERENCES and load_reference(name)["verdict"] == "invalid"
]


@pytest.mark.parametrize("name", REJECTED_BY_BOTH)
def test_error_locations_match_reference(name):
    messages = load_reference(name)["response"]["configurationValidationErrors"]

    assert [message["type"] for message in messages] == ["ImageSchemaValidator"]
    assert schema_error_paths(load_config(name)) == reference_error_paths(messages[0]["message"])
