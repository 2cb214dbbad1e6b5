"""ExtraChefAttributesValidator and CliAttributeOverridesValidator (ParallelCluster 3.16.1)."""

from __future__ import annotations

import json

from pcimage.engine import Finding, Level
from pcimage.validators.devsettings import CliAttributeOverridesValidator, ExtraChefAttributesValidator

CHEF_PATH = ("DevSettings", "Cookbook", "ExtraChefAttributes")
OVERRIDES_PATH = ("DevSettings", "CliAttributeOverrides")
CHEF_PREFIX = "Invalid value in DevSettings/Cookbook/ExtraChefAttributes: "
DISABLED_WARNING = (
    "Cluster readiness check is disabled. Cluster creation and cluster update can succeed even if there "
    "are cluster nodes that did not complete the deployment of the expected configuration."
)
IGNORED_WARNING = (
    "Cluster readiness check failures are ignored. Cluster creation and cluster update can succeed even if "
    "there are cluster nodes that did not complete the deployment of the expected configuration."
)


def chef(make_config, context, cluster):
    config = make_config(DevSettings={"Cookbook": {"ExtraChefAttributes": json.dumps({"cluster": cluster})}})
    return list(ExtraChefAttributesValidator().validate(config, context))


def overrides(make_config, context, text):
    return list(CliAttributeOverridesValidator().validate(make_config(DevSettings={"CliAttributeOverrides": text}), context))


def test_reconfigure_timeout_rules(make_config, stubbed_aws):
    not_integer = Finding(Level.ERROR, CHEF_PREFIX + "attribute 'cluster.slurm.reconfigure_timeout' must be an integer.", CHEF_PATH)
    too_low = Finding(
        Level.ERROR, CHEF_PREFIX + "attribute 'cluster.slurm.reconfigure_timeout' must be greater than 300.", CHEF_PATH
    )
    cases = [(301, []), (300, [too_low]), (10, [too_low]), ("600", [not_integer]), (600.0, [not_integer]), (True, [not_integer])]

    for value, expected in cases:
        assert chef(make_config, stubbed_aws, {"slurm": {"reconfigure_timeout": value}}) == expected, value


def test_readiness_flags_rules(make_config, stubbed_aws):
    enabled_not_bool = Finding(
        Level.ERROR, CHEF_PREFIX + "attribute 'cluster.cluster_readiness_check_enabled' must be a boolean value.", CHEF_PATH
    )
    ignore_not_bool = Finding(
        Level.ERROR,
        CHEF_PREFIX + "attribute 'cluster.cluster_readiness_check_ignore_failure' must be a boolean value.",
        CHEF_PATH,
    )
    cases = [
        ({"cluster_readiness_check_enabled": True}, []),
        ({"cluster_readiness_check_enabled": "TRUE"}, []),
        ({"cluster_readiness_check_enabled": False}, [Finding(Level.WARNING, DISABLED_WARNING, CHEF_PATH)]),
        ({"cluster_readiness_check_enabled": "no"}, [enabled_not_bool]),
        ({"cluster_readiness_check_ignore_failure": False}, []),
        ({"cluster_readiness_check_ignore_failure": "true"}, [Finding(Level.WARNING, IGNORED_WARNING, CHEF_PATH)]),
        ({"cluster_readiness_check_ignore_failure": 1}, [ignore_not_bool]),
    ]

    for cluster, expected in cases:
        assert chef(make_config, stubbed_aws, cluster) == expected, cluster


def test_chef_checks_in_reference_order(make_config, stubbed_aws):
    cluster = {
        "cluster_readiness_check_ignore_failure": "maybe",
        "cluster_readiness_check_enabled": False,
        "slurm": {"reconfigure_timeout": 120},
    }

    levels = [finding.level for finding in chef(make_config, stubbed_aws, cluster)]

    assert levels == [Level.ERROR, Level.WARNING, Level.ERROR]


def test_chef_attributes_other_shapes_ignored(make_config, stubbed_aws):
    for text in ("", "[1]", '{"cluster": []}', '{"other": {"slurm": {"reconfigure_timeout": 1}}}'):
        config = make_config(DevSettings={"Cookbook": {"ExtraChefAttributes": text}})
        assert list(ExtraChefAttributesValidator().validate(config, stubbed_aws)) == [], text


def test_cli_overrides_must_be_json_object(make_config, stubbed_aws):
    not_json = Finding(
        Level.ERROR, "Invalid value in DevSettings/CliAttributeOverrides: must be a valid JSON string.", OVERRIDES_PATH
    )
    not_object = Finding(
        Level.ERROR, "Invalid value in DevSettings/CliAttributeOverrides: must be a JSON object.", OVERRIDES_PATH
    )
    cases = [('{"cinc_version": "18.4"}', []), ("", []), ("{cinc_version: 18}", [not_json]), ("[1, 2]", [not_object])]

    for text, expected in cases:
        assert overrides(make_config, stubbed_aws, text) == expected, text
