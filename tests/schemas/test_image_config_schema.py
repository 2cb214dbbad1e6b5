"""Tests of schemas/image-config.schema.json with plain jsonschema, independent of the engine.

Key paths are written as in docs, `Build.Components[].Type`, where `[]` stands for the first
element of a list. The tables hold values as the engine passes them to the schema, that is after
YAML loading and before any lenient conversion ('40' for an integer is the engine's business).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest
from jsonschema import Draft202012Validator

SCHEMA = json.loads(
    resources.files("pcimage.schemas").joinpath("image-config.schema.json").read_text(encoding="utf-8")
)
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)

AMI_ID = "ami-0185634c5a8a37250"
ROLE_ARN = "arn:aws:iam::123456789012:role/ImageBuildRole"
PROFILE_ARN = "arn:aws:iam::123456789012:instance-profile/ImageBuildProfile"
POLICY_ARN = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
COMPONENT_ARN = "arn:aws:imagebuilder:us-east-1:123456789012:component/my-component/1.0.0/1"
SECURITY_GROUP = "sg-0123456789abcdef0"
SUBNET = "subnet-0123456789abcdef0"

MINIMAL_CONFIG = {"Build": {"InstanceType": "c5.xlarge", "ParentImage": AMI_ID}}

# Valid content for the objects that a key path passes through, where {} would not be valid.
OBJECT_TEMPLATES: dict[str, dict[str, Any]] = {
    "Image.Tags[]": {"Key": "team", "Value": "hpc"},
    "Build.Tags[]": {"Key": "team", "Value": "hpc"},
    "Build.Iam.AdditionalIamPolicies[]": {"Policy": POLICY_ARN},
    "Build.Components[]": {"Type": "arn", "Value": COMPONENT_ARN},
    "DevSettings.DistributionConfiguration": {"Regions": "us-east-1"},
    "DeploymentSettings.LambdaFunctionsVpcConfig": {"SecurityGroupIds": [SECURITY_GROUP], "SubnetIds": [SUBNET]},
}


def config_with(path: str, value: Any) -> dict[str, Any]:
    """Return the minimal valid config with `value` set at `path`, creating valid parents on the way."""
    config = copy.deepcopy(MINIMAL_CONFIG)
    node: dict[str, Any] = config
    prefix = ""
    segments = path.split(".")

    for position, segment in enumerate(segments):
        key = segment.removesuffix("[]")
        prefix = f"{prefix}.{key}" if prefix else key
        if position == len(segments) - 1:
            node[key] = value
            break
        if segment.endswith("[]"):
            prefix += "[]"
            if key not in node:
                node[key] = [copy.deepcopy(OBJECT_TEMPLATES[prefix])]
            node = node[key][0]
        else:
            node = node.setdefault(key, copy.deepcopy(OBJECT_TEMPLATES.get(prefix, {})))

    return config


def location(path: str) -> tuple[str | int, ...]:
    """Return the jsonschema `absolute_path` form of a key path: `[]` becomes index 0."""
    parts: list[str | int] = []
    for segment in path.split(".") if path else []:
        parts.append(segment.removesuffix("[]"))
        if segment.endswith("[]"):
            parts.append(0)
    return tuple(parts)


def errors_of(config: Any) -> list:
    return list(VALIDATOR.iter_errors(config))


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """Return the definition that a local `$ref` points to, or `schema` itself when it has no `$ref`."""
    reference = schema.get("$ref")
    if reference is None:
        return schema
    assert reference.startswith("#/$defs/"), reference
    return SCHEMA["$defs"][reference.removeprefix("#/$defs/")]


def walk_properties(schema: dict[str, Any] = SCHEMA, prefix: str = "") -> Iterator[tuple[str, dict, dict]]:
    """Yield (key path, property schema, resolved schema) for every key the schema declares."""
    for name, property_schema in schema.get("properties", {}).items():
        path = f"{prefix}.{name}" if prefix else name
        resolved = resolve(property_schema)
        yield path, property_schema, resolved
        if resolved.get("type") == "object":
            yield from walk_properties(resolved, path)
        elif resolved.get("type") == "array":
            items = resolve(resolved.get("items", {}))
            if items.get("type") == "object":
                yield from walk_properties(items, path + "[]")


def walk_subschemas(node: Any) -> Iterator[dict[str, Any]]:
    """Yield every schema object in the document, including nested subschemas and definitions."""
    if isinstance(node, dict):
        yield node
        for key, child in node.items():
            if key in ("properties", "$defs"):
                for subschema in child.values():
                    yield from walk_subschemas(subschema)
            elif key in ("items", "not", "if", "then", "else", "contains", "additionalProperties"):
                yield from walk_subschemas(child)
            elif key in ("allOf", "anyOf", "oneOf"):
                for subschema in child:
                    yield from walk_subschemas(subschema)


# Key path: (property schema, the schema it resolves to).
PROPERTIES_BY_PATH = {path: (property_schema, resolved) for path, property_schema, resolved in walk_properties()}
KEY_PATHS = list(PROPERTIES_BY_PATH)
OBJECT_PATHS = [path for path, _, resolved in walk_properties() if resolved.get("type") == "object"]
ARRAY_PATHS = [path for path, _, resolved in walk_properties() if resolved.get("type") == "array"]
ITEM_OBJECT_PATHS = [
    path + "[]"
    for path, _, resolved in walk_properties()
    if resolved.get("type") == "array" and resolve(resolved.get("items", {})).get("type") == "object"
]


# ---------------------------------------------------------------- the schema document itself


def test_schema_is_valid_draft_2020_12():
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"] == "https://pcimage.dev/schemas/image-config.schema.json"
    assert SCHEMA["title"]
    assert SCHEMA["description"]


def test_declared_keys_match_parallelcluster():
    # The keys AWS ParallelCluster 3.16.1 accepts in an image configuration.
    expected = {
        "Region", "Image", "Image.Name", "Image.Tags", "Image.Tags[].Key", "Image.Tags[].Value",
        "Image.RootVolume", "Image.RootVolume.Size", "Image.RootVolume.Encrypted", "Image.RootVolume.KmsKeyId",
        "Build", "Build.Iam", "Build.Iam.InstanceRole", "Build.Iam.InstanceProfile",
        "Build.Iam.CleanupLambdaRole", "Build.Iam.AdditionalIamPolicies",
        "Build.Iam.AdditionalIamPolicies[].Policy", "Build.Iam.PermissionsBoundary", "Build.InstanceType",
        "Build.Components", "Build.Components[].Type", "Build.Components[].Value", "Build.ParentImage",
        "Build.Tags", "Build.Tags[].Key", "Build.Tags[].Value", "Build.SecurityGroupIds", "Build.SubnetId",
        "Build.UpdateOsPackages", "Build.UpdateOsPackages.Enabled", "Build.Imds", "Build.Imds.ImdsSupport",
        "Build.Installation", "Build.Installation.LustreClient", "Build.Installation.LustreClient.Enabled",
        "Build.Installation.NvidiaSoftware", "Build.Installation.NvidiaSoftware.Enabled",
        "DevSettings", "DevSettings.Cookbook", "DevSettings.Cookbook.ChefCookbook",
        "DevSettings.Cookbook.ExtraChefAttributes", "DevSettings.NodePackage",
        "DevSettings.DisablePclusterComponent", "DevSettings.DistributionConfiguration",
        "DevSettings.DistributionConfiguration.Regions", "DevSettings.DistributionConfiguration.LaunchPermission",
        "DevSettings.TerminateInstanceOnFailure", "DevSettings.DisableValidateAndTest",
        "DevSettings.CliAttributeOverrides", "DevSettings.DisableKernelUpdate",
        "DeploymentSettings", "DeploymentSettings.LambdaFunctionsVpcConfig",
        "DeploymentSettings.LambdaFunctionsVpcConfig.SecurityGroupIds",
        "DeploymentSettings.LambdaFunctionsVpcConfig.SubnetIds",
        "CustomS3Bucket",
    }  # fmt: skip
    assert set(KEY_PATHS) == expected
    assert len(KEY_PATHS) == len(expected)


@pytest.mark.parametrize("path", KEY_PATHS)
def test_property_has_description(path):
    description = PROPERTIES_BY_PATH[path][0].get("description")

    assert isinstance(description, str)
    assert len(description) > 20
    assert description.endswith(".")


@pytest.mark.parametrize("name", sorted(SCHEMA["$defs"]))
def test_definition_has_description(name):
    description = SCHEMA["$defs"][name].get("description")
    assert isinstance(description, str)
    assert description.endswith(".")


def test_every_object_rejects_unknown_keys():
    declared_objects = [SCHEMA] + [resolved for _, resolved in PROPERTIES_BY_PATH.values()]
    declared_objects += [resolve(resolved["items"]) for _, resolved in PROPERTIES_BY_PATH.values() if "items" in resolved]
    declared_objects += list(SCHEMA["$defs"].values())

    for subschema in declared_objects:
        if subschema.get("type") == "object" or "properties" in subschema:
            assert subschema.get("type") == "object", subschema.get("description")
            assert subschema.get("additionalProperties") is False, subschema.get("description")


def test_error_messages_explain_one_assertion():
    annotations = {"errorMessage", "$comment", "description"}
    found = 0
    for subschema in walk_subschemas(SCHEMA):
        if "errorMessage" not in subschema:
            continue
        found += 1
        message = subschema["errorMessage"]
        assert isinstance(message, str)
        assert message[0].isupper()
        # The engine appends "; found <value>", so the sentence has no final period.
        assert not message.endswith(".")
        assert len(set(subschema) - annotations) == 1, subschema
    # Image name, image tags, ParentImage, InstanceProfile, Iam, two component rules, Regions,
    # security group id, subnet id, role ARN and policy ARN.
    assert found == 12


def test_patterns_compile_and_are_anchored():
    patterns = [subschema["pattern"] for subschema in walk_subschemas(SCHEMA) if "pattern" in subschema]
    assert patterns
    python_only = ("(?P", "(?i", "(?s", "(?m", "(?x", "(?#", "\\A", "\\Z")
    for pattern in patterns:
        re.compile(pattern)
        assert pattern.startswith("^"), pattern
        for construct in python_only:
            assert construct not in pattern, pattern


def test_json_strings_declare_media_type():
    for path in ("DevSettings.Cookbook.ExtraChefAttributes", "DevSettings.DistributionConfiguration.LaunchPermission"):
        assert PROPERTIES_BY_PATH[path][1].get("contentMediaType") == "application/json", path
    # CliAttributeOverrides is checked by a suppressible validator, not by the schema.
    assert "contentMediaType" not in PROPERTIES_BY_PATH["DevSettings.CliAttributeOverrides"][1]


# ParallelCluster's model defaults. Build.Imds and Build.Installation (with its two children) are
# created when absent, so their defaults are empty objects that the engine then fills.
EXPECTED_DEFAULTS = {
    "Image.RootVolume.Encrypted": False,
    "Build.Iam.AdditionalIamPolicies": [],
    "Build.Imds": {},
    "Build.Imds.ImdsSupport": "v2.0",
    "Build.Installation": {},
    "Build.Installation.LustreClient": {},
    "Build.Installation.LustreClient.Enabled": True,
    "Build.Installation.NvidiaSoftware": {},
    "Build.Installation.NvidiaSoftware.Enabled": False,
    "DevSettings.DisablePclusterComponent": False,
    "DevSettings.TerminateInstanceOnFailure": True,
    "DevSettings.DisableValidateAndTest": True,
    "DevSettings.CliAttributeOverrides": "",
    "DevSettings.DisableKernelUpdate": False,
}


def test_defaults_match_parallelcluster_model():
    declared = {path: schema["default"] for path, schema, _ in walk_properties() if "default" in schema}
    assert declared == EXPECTED_DEFAULTS
    for path, value in declared.items():
        assert type(value) is type(EXPECTED_DEFAULTS[path]), path


@pytest.mark.parametrize("path", sorted(EXPECTED_DEFAULTS))
def test_default_is_valid_value(path):
    assert errors_of(config_with(path, EXPECTED_DEFAULTS[path])) == []


def test_no_defaults_outside_properties():
    defaults = [subschema for subschema in walk_subschemas(SCHEMA) if "default" in subschema]
    assert len(defaults) == len(EXPECTED_DEFAULTS)


# ---------------------------------------------------------------- one valid and one invalid value per key

VALID = True
INVALID = False

# (key path, value, expected validity). Every declared key has at least one of each.
KEY_CASES: list[tuple[str, Any, bool]] = [
    ("Region", "us-east-1", VALID),
    ("Region", "", VALID),
    ("Region", 5, INVALID),
    ("Image", {}, VALID),
    ("Image", "hpc", INVALID),
    ("Image.Name", "hpc-base", VALID),
    ("Image.Name", "a" * 99, VALID),
    ("Image.Name", "{base} hpc 2024.1:x86_64", VALID),
    ("Image.Name", "abc", VALID),
    ("Image.Name", "a" * 100, INVALID),
    ("Image.Name", "", INVALID),
    ("Image.Name", "ab", INVALID),
    ("Image.Name", "!!bad name$", INVALID),
    ("Image.Name", "hpc/base", INVALID),
    ("Image.Name", 3, INVALID),
    ("Image.Tags", [], VALID),
    ("Image.Tags", [{"Key": "parallelcluster:custom_resource", "Value": "x"}], VALID),
    ("Image.Tags", [{"Key": "team", "Value": "a"}, {"Key": "team", "Value": "b"}], VALID),
    ("Image.Tags", [{"Key": "ParallelCluster:foo", "Value": "x"}], VALID),
    ("Image.Tags", [{"Key": "parallelcluster:foo", "Value": "x"}], INVALID),
    ("Image.Tags", [{"Key": "parallelcluster:", "Value": "x"}], INVALID),
    ("Image.Tags", [{"Key": "parallelcluster:custom_resource2", "Value": "x"}], INVALID),
    ("Image.Tags", {"Key": "team", "Value": "hpc"}, INVALID),
    ("Image.Tags", [{"Key": "team"}], INVALID),
    ("Image.Tags", [{"Value": "hpc"}], INVALID),
    ("Image.Tags[].Key", "k" * 128, VALID),
    ("Image.Tags[].Key", "", VALID),
    ("Image.Tags[].Key", "k" * 129, INVALID),
    ("Image.Tags[].Key", 3, INVALID),
    ("Image.Tags[].Value", "v" * 256, VALID),
    ("Image.Tags[].Value", "3.0.0", VALID),
    ("Image.Tags[].Value", "v" * 257, INVALID),
    ("Image.Tags[].Value", True, INVALID),
    ("Image.Tags[].Value", 3, INVALID),
    ("Image.RootVolume", {}, VALID),
    ("Image.RootVolume", [], INVALID),
    ("Image.RootVolume.Size", 40, VALID),
    ("Image.RootVolume.Size", 0, VALID),
    ("Image.RootVolume.Size", -5, VALID),
    ("Image.RootVolume.Size", 20000, VALID),
    ("Image.RootVolume.Size", "40", INVALID),
    ("Image.RootVolume.Size", "big", INVALID),
    ("Image.RootVolume.Size", 40.5, INVALID),
    ("Image.RootVolume.Size", True, INVALID),
    ("Image.RootVolume.Encrypted", True, VALID),
    ("Image.RootVolume.Encrypted", False, VALID),
    ("Image.RootVolume.Encrypted", "true", INVALID),
    ("Image.RootVolume.Encrypted", 1, INVALID),
    ("Image.RootVolume.KmsKeyId", "3c4cec4b-0c41-4139-933d-7dbacb8e001e", VALID),
    ("Image.RootVolume.KmsKeyId", 1234, INVALID),
    ("Build", {"InstanceType": "c5.xlarge", "ParentImage": AMI_ID}, VALID),
    ("Build", {"InstanceType": "c5.xlarge"}, INVALID),
    ("Build", {"ParentImage": AMI_ID}, INVALID),
    ("Build", [], INVALID),
    ("Build.Iam", {}, VALID),
    ("Build.Iam", {"InstanceRole": ROLE_ARN, "CleanupLambdaRole": ROLE_ARN, "PermissionsBoundary": POLICY_ARN}, VALID),
    ("Build.Iam", "role", INVALID),
    ("Build.Iam.InstanceRole", ROLE_ARN, VALID),
    ("Build.Iam.InstanceRole", "arn:aws-cn:iam::123456789012:role/path/to/Role", VALID),
    ("Build.Iam.InstanceRole", PROFILE_ARN, INVALID),
    ("Build.Iam.InstanceRole", "role/ImageBuildRole", INVALID),
    ("Build.Iam.InstanceRole", "", INVALID),
    ("Build.Iam.InstanceProfile", PROFILE_ARN, VALID),
    ("Build.Iam.InstanceProfile", ROLE_ARN, INVALID),
    ("Build.Iam.InstanceProfile", 1, INVALID),
    ("Build.Iam.CleanupLambdaRole", ROLE_ARN, VALID),
    ("Build.Iam.CleanupLambdaRole", POLICY_ARN, INVALID),
    ("Build.Iam.AdditionalIamPolicies", [], VALID),
    ("Build.Iam.AdditionalIamPolicies", [{"Policy": POLICY_ARN}, {"Policy": POLICY_ARN}], VALID),
    ("Build.Iam.AdditionalIamPolicies", [{}], INVALID),
    ("Build.Iam.AdditionalIamPolicies", [POLICY_ARN], INVALID),
    ("Build.Iam.AdditionalIamPolicies", {"Policy": POLICY_ARN}, INVALID),
    ("Build.Iam.AdditionalIamPolicies[].Policy", "arn:aws:iam::123456789012:policy/custom", VALID),
    ("Build.Iam.AdditionalIamPolicies[].Policy", ROLE_ARN, INVALID),
    ("Build.Iam.AdditionalIamPolicies[].Policy", "AmazonS3ReadOnlyAccess", INVALID),
    ("Build.Iam.PermissionsBoundary", POLICY_ARN, VALID),
    ("Build.Iam.PermissionsBoundary", ROLE_ARN, INVALID),
    ("Build.InstanceType", "c5.xlarge", VALID),
    ("Build.InstanceType", "", VALID),
    ("Build.InstanceType", 5, INVALID),
    ("Build.Components", [], VALID),
    ("Build.Components", [{"Type": "arn", "Value": COMPONENT_ARN}] * 16, VALID),
    ("Build.Components", [{}], INVALID),
    ("Build.Components", {"Type": "arn", "Value": COMPONENT_ARN}, INVALID),
    ("Build.Components", "arn", INVALID),
    ("Build.Components[].Type", "arn", VALID),
    ("Build.Components[].Type", "ARN", INVALID),
    ("Build.Components[].Type", "shell", INVALID),
    ("Build.Components[].Value", COMPONENT_ARN, VALID),
    ("Build.Components[].Value", "bar", INVALID),
    ("Build.Components[].Value", 5, INVALID),
    ("Build.ParentImage", AMI_ID, VALID),
    ("Build.ParentImage", "amifoo", VALID),
    ("Build.ParentImage", "arn:aws:imagebuilder:us-east-1:aws:image/amazon-linux-2-x86/x.x.x", VALID),
    ("Build.ParentImage", "xyz", INVALID),
    ("Build.ParentImage", "AMI-0185634c5a8a37250", INVALID),
    ("Build.ParentImage", "my-ami-1", INVALID),
    ("Build.ParentImage", " ami-1", INVALID),
    ("Build.ParentImage", "", INVALID),
    ("Build.Tags", [{"Key": "parallelcluster:foo", "Value": "x"}], VALID),
    ("Build.Tags", [{"Key": "team", "Value": "a"}, {"Key": "team", "Value": "b"}], VALID),
    ("Build.Tags", [{"Key": "team", "Value": "a", "Owner": "b"}], INVALID),
    ("Build.Tags", "team=hpc", INVALID),
    ("Build.Tags[].Key", "k" * 128, VALID),
    ("Build.Tags[].Key", "k" * 129, INVALID),
    ("Build.Tags[].Value", "42", VALID),
    ("Build.Tags[].Value", 42, INVALID),
    ("Build.Tags[].Value", "v" * 257, INVALID),
    ("Build.SecurityGroupIds", [], VALID),
    ("Build.SecurityGroupIds", ["sg-12345678", SECURITY_GROUP, "sg-12345678"], VALID),
    # Python's `$` matches before a final newline, and ParallelCluster accepts this value too.
    ("Build.SecurityGroupIds", ["sg-12345678\n"], VALID),
    ("Build.SecurityGroupIds", ["sg-123"], INVALID),
    ("Build.SecurityGroupIds", ["sg-1234567890"], INVALID),
    ("Build.SecurityGroupIds", ["SG-12345678"], INVALID),
    ("Build.SecurityGroupIds", ["sg-ABCDEF12"], INVALID),
    ("Build.SecurityGroupIds", ["sg-12345678 "], INVALID),
    ("Build.SecurityGroupIds", [123], INVALID),
    ("Build.SecurityGroupIds", "sg-12345678", INVALID),
    ("Build.SubnetId", SUBNET, VALID),
    ("Build.SubnetId", "subnet-12345678", VALID),
    ("Build.SubnetId", "subnet-12345678\n", VALID),
    ("Build.SubnetId", "subnet-123", INVALID),
    ("Build.SubnetId", "subnet-0123456789ABCDEF0", INVALID),
    ("Build.SubnetId", "my-subnet-12345678", INVALID),
    ("Build.SubnetId", ["subnet-12345678"], INVALID),
    ("Build.UpdateOsPackages", {}, VALID),
    ("Build.UpdateOsPackages", True, INVALID),
    ("Build.UpdateOsPackages.Enabled", True, VALID),
    ("Build.UpdateOsPackages.Enabled", "yes", INVALID),
    ("Build.Imds", {}, VALID),
    ("Build.Imds", "v2.0", INVALID),
    ("Build.Imds.ImdsSupport", "v1.0", VALID),
    ("Build.Imds.ImdsSupport", "v2.0", VALID),
    ("Build.Imds.ImdsSupport", "v3.0", INVALID),
    ("Build.Imds.ImdsSupport", "V2.0", INVALID),
    ("Build.Imds.ImdsSupport", 2.0, INVALID),
    ("Build.Installation", {}, VALID),
    ("Build.Installation", True, INVALID),
    ("Build.Installation.LustreClient", {}, VALID),
    ("Build.Installation.LustreClient", False, INVALID),
    ("Build.Installation.LustreClient.Enabled", False, VALID),
    ("Build.Installation.LustreClient.Enabled", "no", INVALID),
    ("Build.Installation.NvidiaSoftware", {"Enabled": True}, VALID),
    ("Build.Installation.NvidiaSoftware", [{"Enabled": True}], INVALID),
    ("Build.Installation.NvidiaSoftware.Enabled", True, VALID),
    ("Build.Installation.NvidiaSoftware.Enabled", "maybe", INVALID),
    ("DevSettings", {}, VALID),
    ("DevSettings", "dev", INVALID),
    ("DevSettings", {"AwsBatchCliPackage": "https://example.com/batch.tgz"}, INVALID),
    ("DevSettings", {"CincInstallerUrl": "https://example.com/install.sh"}, INVALID),
    ("DevSettings", {"SlurmPatchesS3Archive": "s3://my-bucket/patches.tgz"}, INVALID),
    ("DevSettings", {"Timeouts": {}}, INVALID),
    ("DevSettings.Cookbook", {}, VALID),
    ("DevSettings.Cookbook", "https://example.com/cookbook.tgz", INVALID),
    ("DevSettings.Cookbook.ChefCookbook", "s3://my-bucket/cookbook.tgz", VALID),
    ("DevSettings.Cookbook.ChefCookbook", 1, INVALID),
    ("DevSettings.Cookbook.ExtraChefAttributes", '{"cluster": {}}', VALID),
    ("DevSettings.Cookbook.ExtraChefAttributes", "", VALID),
    ("DevSettings.Cookbook.ExtraChefAttributes", {"cluster": {}}, INVALID),
    ("DevSettings.NodePackage", "https://example.com/node.tgz", VALID),
    ("DevSettings.NodePackage", 1, INVALID),
    ("DevSettings.DisablePclusterComponent", True, VALID),
    ("DevSettings.DisablePclusterComponent", "true", INVALID),
    ("DevSettings.DistributionConfiguration", {"Regions": "us-east-1"}, VALID),
    ("DevSettings.DistributionConfiguration", {"LaunchPermission": "{}"}, INVALID),
    ("DevSettings.DistributionConfiguration", "us-east-1", INVALID),
    ("DevSettings.DistributionConfiguration.Regions", "us-east-1", VALID),
    ("DevSettings.DistributionConfiguration.Regions", "us-east-1,eu-west-1,us-gov-west-1", VALID),
    ("DevSettings.DistributionConfiguration.Regions", "us-east-1, eu-west-1", INVALID),
    ("DevSettings.DistributionConfiguration.Regions", "us-east-1,", INVALID),
    ("DevSettings.DistributionConfiguration.Regions", "US-EAST-1", INVALID),
    ("DevSettings.DistributionConfiguration.Regions", "", INVALID),
    ("DevSettings.DistributionConfiguration.Regions", ["us-east-1"], INVALID),
    ("DevSettings.DistributionConfiguration.LaunchPermission", '{"UserIds": ["123456789012"]}', VALID),
    ("DevSettings.DistributionConfiguration.LaunchPermission", "", VALID),
    ("DevSettings.DistributionConfiguration.LaunchPermission", {"UserIds": []}, INVALID),
    ("DevSettings.TerminateInstanceOnFailure", False, VALID),
    ("DevSettings.TerminateInstanceOnFailure", 0, INVALID),
    ("DevSettings.DisableValidateAndTest", False, VALID),
    ("DevSettings.DisableValidateAndTest", "off", INVALID),
    ("DevSettings.CliAttributeOverrides", '{"cinc_version": "18.4.12"}', VALID),
    ("DevSettings.CliAttributeOverrides", "", VALID),
    # Not JSON, but that is a validator's finding, not a schema error.
    ("DevSettings.CliAttributeOverrides", "not json", VALID),
    ("DevSettings.CliAttributeOverrides", {"cinc_version": "18.4.12"}, INVALID),
    ("DevSettings.DisableKernelUpdate", True, VALID),
    ("DevSettings.DisableKernelUpdate", "y", INVALID),
    ("DeploymentSettings", {}, VALID),
    ("DeploymentSettings", {"DisableSudoAccessForDefaultUser": True}, INVALID),
    ("DeploymentSettings.LambdaFunctionsVpcConfig", {"SecurityGroupIds": [SECURITY_GROUP], "SubnetIds": [SUBNET]}, VALID),
    ("DeploymentSettings.LambdaFunctionsVpcConfig", {"SubnetIds": [SUBNET]}, INVALID),
    ("DeploymentSettings.LambdaFunctionsVpcConfig", {"SecurityGroupIds": [SECURITY_GROUP]}, INVALID),
    ("DeploymentSettings.LambdaFunctionsVpcConfig.SecurityGroupIds", [SECURITY_GROUP] * 5, VALID),
    ("DeploymentSettings.LambdaFunctionsVpcConfig.SecurityGroupIds", [SECURITY_GROUP] * 6, INVALID),
    ("DeploymentSettings.LambdaFunctionsVpcConfig.SecurityGroupIds", [], INVALID),
    ("DeploymentSettings.LambdaFunctionsVpcConfig.SecurityGroupIds", ["sg-1"], INVALID),
    ("DeploymentSettings.LambdaFunctionsVpcConfig.SecurityGroupIds", SECURITY_GROUP, INVALID),
    ("DeploymentSettings.LambdaFunctionsVpcConfig.SubnetIds", [SUBNET] * 16, VALID),
    ("DeploymentSettings.LambdaFunctionsVpcConfig.SubnetIds", [SUBNET] * 17, INVALID),
    ("DeploymentSettings.LambdaFunctionsVpcConfig.SubnetIds", [], INVALID),
    ("DeploymentSettings.LambdaFunctionsVpcConfig.SubnetIds", ["subnet-1"], INVALID),
    ("CustomS3Bucket", "my-build-bucket", VALID),
    ("CustomS3Bucket", 1, INVALID),
]


def case_id(case: tuple[str, Any, bool]) -> str:
    path, value, valid = case
    return f"{path}={value!r:.40}-{'valid' if valid else 'invalid'}"


def test_every_key_has_valid_and_invalid_case():
    valid_paths = {path for path, _, valid in KEY_CASES if valid}
    invalid_paths = {path for path, _, valid in KEY_CASES if not valid}
    assert set(KEY_PATHS) - valid_paths == set()
    assert set(KEY_PATHS) - invalid_paths == set()


@pytest.mark.parametrize("case", KEY_CASES, ids=case_id)
def test_key_value(case):
    path, value, valid = case
    errors = errors_of(config_with(path, value))

    if valid:
        assert [error.message for error in errors] == []
    else:
        assert errors, f"{path}={value!r} should be rejected"
        for error in errors:
            # An invalid value is reported at its key or inside it, never somewhere else.
            assert tuple(error.absolute_path)[: len(location(path))] == location(path), error.message


# ---------------------------------------------------------------- structural errors at every level


@pytest.mark.parametrize("path", [""] + OBJECT_PATHS + ITEM_OBJECT_PATHS)
def test_unknown_key_rejected(path):
    if path == "":
        config = copy.deepcopy(MINIMAL_CONFIG)
        config["Foo"] = "bar"
    else:
        config = config_with(path + ".Foo", "bar")
    errors = errors_of(config)

    assert len(errors) == 1
    assert errors[0].validator == "additionalProperties"
    assert tuple(errors[0].absolute_path) == location(path)


@pytest.mark.parametrize("path", KEY_PATHS)
def test_null_value_rejected(path):
    errors = errors_of(config_with(path, None))

    assert errors
    assert all(tuple(error.absolute_path)[: len(location(path))] == location(path) for error in errors)


@pytest.mark.parametrize("path", OBJECT_PATHS)
@pytest.mark.parametrize("value", [[], [{}], "text", 1, True])
def test_object_key_rejects_non_object(path, value):
    errors = errors_of(config_with(path, value))

    assert [error.validator for error in errors] == ["type"]
    assert tuple(errors[0].absolute_path) == location(path)


@pytest.mark.parametrize("path", ARRAY_PATHS)
@pytest.mark.parametrize("value", [{}, "text", 1])
def test_list_key_rejects_non_list(path, value):
    errors = errors_of(config_with(path, value))

    assert [error.validator for error in errors] == ["type"]
    assert tuple(errors[0].absolute_path) == location(path)


@pytest.mark.parametrize("document", [None, [], "Build", 1])
def test_root_must_be_object(document):
    errors = errors_of(document)

    assert [error.validator for error in errors] == ["type"]


def test_build_required():
    errors = errors_of({"Image": {"Name": "hpc"}})

    assert [(error.validator, error.message) for error in errors] == [("required", "'Build' is a required property")]


def test_keys_are_case_sensitive():
    errors = errors_of({"build": copy.deepcopy(MINIMAL_CONFIG["Build"])})
    found = sorted((error.validator, error.message) for error in errors)

    assert found == [
        ("additionalProperties", "Additional properties are not allowed ('build' was unexpected)"),
        ("required", "'Build' is a required property"),
    ]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("Build.instanceType", "c5.xlarge"),
        ("Image.name", "hpc"),
        ("Build.Imds.ImdsSupport", "V1.0"),
        ("Build.Components[].Type", "Arn"),
        ("DevSettings.distributionConfiguration", {"Regions": "us-east-1"}),
    ],
)
def test_key_and_enum_case_variants_rejected(path, value):
    assert errors_of(config_with(path, value))


# ---------------------------------------------------------------- cross-field rules


def error_messages(config: Any) -> list[tuple[tuple, str | None]]:
    """Return (location, errorMessage annotation) for each error, as the engine reads them."""
    return [(tuple(error.absolute_path), error.schema.get("errorMessage")) for error in errors_of(config)]


IAM_MESSAGE = SCHEMA["$defs"]["Iam"]["allOf"][0]["errorMessage"]


@pytest.mark.parametrize(
    "iam",
    [
        {"InstanceRole": ROLE_ARN, "InstanceProfile": PROFILE_ARN},
        {"InstanceRole": ROLE_ARN, "AdditionalIamPolicies": [{"Policy": POLICY_ARN}]},
        {"InstanceProfile": PROFILE_ARN, "AdditionalIamPolicies": [{"Policy": POLICY_ARN}]},
        {"InstanceRole": ROLE_ARN, "InstanceProfile": PROFILE_ARN, "AdditionalIamPolicies": [{"Policy": POLICY_ARN}]},
    ],
)
def test_iam_exclusive_keys_rejected(iam):
    assert error_messages(config_with("Build.Iam", iam)) == [(("Build", "Iam"), IAM_MESSAGE)]


@pytest.mark.parametrize(
    "iam",
    [
        {"InstanceRole": ROLE_ARN, "AdditionalIamPolicies": []},
        {"InstanceProfile": PROFILE_ARN, "AdditionalIamPolicies": []},
        {"AdditionalIamPolicies": [{"Policy": POLICY_ARN}], "CleanupLambdaRole": ROLE_ARN, "PermissionsBoundary": POLICY_ARN},
        {"InstanceProfile": PROFILE_ARN, "CleanupLambdaRole": ROLE_ARN, "PermissionsBoundary": POLICY_ARN},
    ],
)
def test_iam_compatible_keys_accepted(iam):
    assert errors_of(config_with("Build.Iam", iam)) == []


def test_iam_empty_role_counts_as_unset():
    # An empty InstanceRole fails its own pattern but, as in ParallelCluster, does not count as set.
    errors = errors_of(config_with("Build.Iam", {"InstanceRole": "", "InstanceProfile": PROFILE_ARN}))

    assert [(tuple(error.absolute_path), error.validator) for error in errors] == [
        (("Build", "Iam", "InstanceRole"), "pattern")
    ]


RESERVED_TAG_MESSAGE = SCHEMA["$defs"]["Image"]["properties"]["Tags"]["allOf"][0]["errorMessage"]


def test_image_tag_reserved_prefix_message():
    tags = [{"Key": "team", "Value": "hpc"}, {"Key": "parallelcluster:version", "Value": "3"}]

    assert error_messages(config_with("Image.Tags", tags)) == [(("Image", "Tags"), RESERVED_TAG_MESSAGE)]


def test_image_tag_reserved_prefix_with_element_error():
    tags = [{"Key": "parallelcluster:foo", "Value": True}]
    found = error_messages(config_with("Image.Tags", tags))

    assert (("Image", "Tags"), RESERVED_TAG_MESSAGE) in found
    assert (("Image", "Tags", 0, "Value"), None) in found


def test_image_tag_integer_key_type_error():
    found = error_messages(config_with("Image.Tags", [{"Key": 5, "Value": "x"}]))

    assert found == [(("Image", "Tags", 0, "Key"), None)]


def test_build_tags_have_no_reserved_prefix():
    tags = [{"Key": "parallelcluster:image_id", "Value": "x"}, {"Key": "parallelcluster:", "Value": "y"}]

    assert errors_of(config_with("Build.Tags", tags)) == []


COMPONENT_RULES = SCHEMA["$defs"]["Component"]["allOf"]
ARN_VALUE_MESSAGE = COMPONENT_RULES[0]["then"]["properties"]["Value"]["errorMessage"]
SCRIPT_VALUE_MESSAGE = COMPONENT_RULES[1]["then"]["properties"]["Value"]["errorMessage"]


@pytest.mark.parametrize(
    ("component", "message"),
    [
        ({"Type": "arn", "Value": COMPONENT_ARN}, None),
        ({"Type": "arn", "Value": "arnx"}, None),
        ({"Type": "arn", "Value": "bar"}, ARN_VALUE_MESSAGE),
        ({"Type": "arn", "Value": "ARN:aws:imagebuilder"}, ARN_VALUE_MESSAGE),
        ({"Type": "arn", "Value": ""}, ARN_VALUE_MESSAGE),
        ({"Type": "arn", "Value": "https://example.com/x.sh"}, ARN_VALUE_MESSAGE),
        ({"Type": "script", "Value": "https://example.com/x.sh"}, None),
        ({"Type": "script", "Value": "s3://my-bucket/x.sh"}, None),
        # urlparse lowercases the scheme and strips leading control characters and spaces.
        ({"Type": "script", "Value": "HTTPS://example.com/x.sh"}, None),
        ({"Type": "script", "Value": "S3://my-bucket/x.sh"}, None),
        ({"Type": "script", "Value": " https://example.com/x.sh"}, None),
        ({"Type": "script", "Value": "s3:my-bucket/x.sh"}, None),
        ({"Type": "script", "Value": "ht\ttps://example.com/x.sh"}, None),
        ({"Type": "script", "Value": "http://example.com/x.sh"}, SCRIPT_VALUE_MESSAGE),
        ({"Type": "script", "Value": "ftp://example.com/x.sh"}, SCRIPT_VALUE_MESSAGE),
        ({"Type": "script", "Value": "https//example.com/x.sh"}, SCRIPT_VALUE_MESSAGE),
        ({"Type": "script", "Value": "xhttps://example.com/x.sh"}, SCRIPT_VALUE_MESSAGE),
        ({"Type": "script", "Value": "/opt/x.sh"}, SCRIPT_VALUE_MESSAGE),
        ({"Type": "script", "Value": "\u00a0https://example.com/x.sh"}, SCRIPT_VALUE_MESSAGE),
        ({"Type": "script", "Value": ""}, SCRIPT_VALUE_MESSAGE),
        ({"Type": "script", "Value": COMPONENT_ARN}, SCRIPT_VALUE_MESSAGE),
    ],
)
def test_component_value_rule(component, message):
    found = error_messages(config_with("Build.Components", [component]))

    if message is None:
        assert found == []
    else:
        assert found == [(("Build", "Components", 0, "Value"), message)]


@pytest.mark.parametrize(
    "value",
    ["https://example.com/x.sh", "HTTPS://x", " s3://b/k", "ht\ttps://x", "https\n://x", "s3:k", "http://x",
     "1https://x", "\u00a0https://x", "\x7fs3://x", "https ://x", "s3//x", "", "hTtPs:"],
)  # fmt: skip
def test_script_pattern_agrees_with_urlparse(value):
    from urllib.parse import urlparse

    pattern = COMPONENT_RULES[1]["then"]["properties"]["Value"]["pattern"]

    assert (re.search(pattern, value) is not None) == (urlparse(value).scheme in ("https", "s3"))


def test_component_type_invalid_skips_value_rule():
    found = error_messages(config_with("Build.Components", [{"Type": "ARN", "Value": "bar"}]))

    assert found == [(("Build", "Components", 0, "Type"), None)]


@pytest.mark.parametrize(
    ("component", "missing"),
    [({"Value": COMPONENT_ARN}, "Type"), ({"Type": "arn"}, "Value"), ({"Type": "script"}, "Value")],
)
def test_component_type_and_value_required(component, missing):
    errors = errors_of(config_with("Build.Components", [component]))

    assert [(error.validator, error.message) for error in errors] == [
        ("required", f"'{missing}' is a required property")
    ]


def test_distribution_regions_required():
    errors = errors_of(config_with("DevSettings.DistributionConfiguration", {"LaunchPermission": "{}"}))

    assert [(error.validator, error.message) for error in errors] == [("required", "'Regions' is a required property")]


@pytest.mark.parametrize(
    ("path", "value", "definition"),
    [
        ("Build.SubnetId", "subnet-1", "SubnetId"),
        ("Build.SecurityGroupIds", ["sg-1"], "SecurityGroupId"),
        ("DeploymentSettings.LambdaFunctionsVpcConfig.SubnetIds", ["subnet-1"], "SubnetId"),
        ("Build.Iam.InstanceRole", "role", "RoleArn"),
        ("Build.Iam.PermissionsBoundary", "policy", "PolicyArn"),
    ],
)
def test_pattern_error_carries_message(path, value, definition):
    expected = SCHEMA["$defs"][definition]["allOf"][0]["errorMessage"]
    found = error_messages(config_with(path, value))

    assert len(found) == 1
    assert found[0][1] == expected


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("Build.SubnetId", 5),
        ("Build.SecurityGroupIds", [5]),
        ("Build.ParentImage", 5),
        ("Image.Name", 5),
        ("DevSettings.DistributionConfiguration.Regions", 5),
        ("Build.Components", [{"Type": "script", "Value": 5}]),
    ],
)
def test_type_error_has_no_pattern_message(path, value):
    found = error_messages(config_with(path, value))

    assert len(found) == 1
    assert found[0][1] is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a" * 100, ["maxLength"]), ("!" + "a" * 99, ["maxLength", "pattern"]), ("a b", [])],
)
def test_image_name_length_and_pattern(name, expected):
    errors = errors_of(config_with("Image.Name", name))

    assert sorted(error.validator for error in errors) == expected


# ---------------------------------------------------------------- ECMA-262 compatibility of the patterns

ECMA_CHECK_SCRIPT = """
const cases = JSON.parse(require("fs").readFileSync(0, "utf8"));
const results = cases.map(([pattern, value]) => new RegExp(pattern, "u").test(value));
process.stdout.write(JSON.stringify(results));
"""


def test_patterns_match_alike_in_ecma_262():
    import shutil
    import subprocess

    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed, so the patterns cannot be run as ECMA-262 regular expressions")

    patterns = sorted({subschema["pattern"] for subschema in walk_subschemas(SCHEMA) if "pattern" in subschema})
    samples = {value for _, value, _ in KEY_CASES if isinstance(value, str)}
    samples |= {value for _, values, _ in KEY_CASES if isinstance(values, list) for value in values if isinstance(value, str)}
    samples |= {"HTTPS://x", " s3://b/k", "ht\ttps://x", "s3:k", "\u00a0https://x", "parallelcluster:x", "a\u2003b c"}
    # Python's `$` also matches before a final newline, ECMA-262's does not.
    samples = sorted(value for value in samples if not value.endswith("\n"))
    cases = [(pattern, value) for pattern in patterns for value in samples]

    completed = subprocess.run(
        [node, "-e", ECMA_CHECK_SCRIPT], input=json.dumps(cases), capture_output=True, text=True, check=True, timeout=60
    )
    ecma_results = json.loads(completed.stdout)

    for (pattern, value), ecma_match in zip(cases, ecma_results, strict=True):
        assert (re.search(pattern, value) is not None) == ecma_match, (pattern, value)
