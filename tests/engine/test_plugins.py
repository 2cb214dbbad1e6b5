"""Validator plugins: discovery through entry points, suppression, failure levels, broken plugins."""

from __future__ import annotations

import importlib
import sys
import textwrap

import pytest

from pcimage.engine import (
    Finding,
    InvalidSuppressorError,
    Level,
    PluginError,
    Suppression,
    ValidationContext,
    collect_validators,
    create_plugin_manager,
    hookimpl,
    validate_config,
)

CONFIG = "Build:\n  InstanceType: c5.xlarge\n  ParentImage: ami-12345678\n  Tags:\n    - Key: team\n      Value: hpc\n"


class TagValidator:
    """A plugin author's rule: every image must carry a cost-center tag."""

    type = "CostCenterTagValidator"
    needs_aws = False

    def validate(self, config, context):
        keys = [tag["Key"] for tag in config["Build"].get("Tags", [])]
        if "cost-center" not in keys:
            yield Finding(Level.WARNING, "Build.Tags has no cost-center tag", ("Build", "Tags"))


class ExplodingValidator:
    type = "ExplodingValidator"
    needs_aws = False

    def validate(self, config, context):
        yield Finding(Level.INFO, "discarded when the validator raises", ())
        raise RuntimeError("lookup failed: service unavailable")


class AwsOnlyValidator:
    type = "AwsOnlyValidator"
    needs_aws = True

    def validate(self, config, context):
        yield Finding(Level.ERROR, "needs AWS", ("Build", "ParentImage"))


class Plugin:
    def __init__(self, *validators):
        self.validators = list(validators)

    @hookimpl
    def pcimage_validators(self):
        return self.validators


def manager_with(*validators):
    manager = create_plugin_manager(load_entry_points=False)
    manager.register(Plugin(*validators))
    return manager


def test_plugin_finding_located_in_source():
    report = validate_config(CONFIG, plugin_manager=manager_with(TagValidator()), failure_level="ERROR")

    assert not report.failed
    [message] = report.messages
    assert message.type == "CostCenterTagValidator"
    assert message.level is Level.WARNING
    assert message.dotted_path == "Build.Tags"
    assert (message.line, message.column) == (5, 5)


@pytest.mark.parametrize(("level", "failed"), [("INFO", True), ("WARNING", True), ("ERROR", False)])
def test_failure_level_grades_report(level, failed):
    report = validate_config(CONFIG, plugin_manager=manager_with(TagValidator()), failure_level=level)

    assert report.failed is failed
    assert len(report.messages) == 1


@pytest.mark.parametrize("suppress", [["ALL"], ["type:CostCenterTagValidator"]])
def test_suppression_skips_validator(suppress):
    report = validate_config(CONFIG, plugin_manager=manager_with(TagValidator()), suppress=suppress, failure_level="INFO")

    assert report.messages == ()
    assert not report.failed


def test_suppression_is_case_sensitive():
    report = validate_config(
        CONFIG, plugin_manager=manager_with(TagValidator()), suppress=["type:costcentertagvalidator"], failure_level="INFO"
    )

    assert [m.type for m in report.messages] == ["CostCenterTagValidator"]


@pytest.mark.parametrize("entry", ["ALLL", "type:", "type:Has Space", "Type:X", "all"])
def test_malformed_suppressor_rejected(entry):
    with pytest.raises(InvalidSuppressorError):
        Suppression.parse([entry])


def test_schema_errors_ignore_suppression_and_level():
    report = validate_config("Build:\n  ParentImage: ami-1\n", plugin_manager=manager_with(), suppress=["ALL"], failure_level="ERROR")

    assert report.failed
    assert report.schema_failed
    assert [m.type for m in report.messages] == ["ImageSchemaValidator"]


def test_raising_validator_becomes_one_error():
    report = validate_config(CONFIG, plugin_manager=manager_with(ExplodingValidator(), TagValidator()), failure_level="ERROR")

    assert [(m.type, m.level) for m in report.messages] == [
        ("ExplodingValidator", Level.ERROR),
        ("CostCenterTagValidator", Level.WARNING),
    ]
    assert report.messages[0].message == "lookup failed: service unavailable"


def test_offline_skips_aws_validators():
    manager = manager_with(AwsOnlyValidator(), TagValidator())

    online = validate_config(CONFIG, plugin_manager=manager)
    offline = validate_config(CONFIG, plugin_manager=manager, context=ValidationContext(offline=True))

    assert [m.type for m in online.messages] == ["AwsOnlyValidator", "CostCenterTagValidator"]
    assert [m.type for m in offline.messages] == ["CostCenterTagValidator"]


def test_validator_without_type_rejected():
    class Nameless:
        needs_aws = False

        def validate(self, config, context):
            return []

    with pytest.raises(PluginError, match="no valid `type` name"):
        collect_validators(manager_with(Nameless()))


def test_duplicate_type_names_rejected():
    manager = create_plugin_manager(load_entry_points=False)
    manager.register(Plugin(TagValidator()), name="first")
    manager.register(Plugin(TagValidator()), name="second")

    with pytest.raises(PluginError, match="two plugins register a validator of type CostCenterTagValidator"):
        collect_validators(manager)


def test_entry_point_plugin_discovered(tmp_path, monkeypatch):
    (tmp_path / "site_rules.py").write_text(
        textwrap.dedent(
            """
            from pcimage.engine import Finding, Level, hookimpl

            class NoLargeInstances:
                type = "NoLargeInstancesValidator"
                needs_aws = False

                def validate(self, config, context):
                    if config["Build"]["InstanceType"].endswith("24xlarge"):
                        yield Finding(Level.ERROR, "24xlarge build instances are not allowed here", ("Build", "InstanceType"))

            @hookimpl
            def pcimage_validators():
                return [NoLargeInstances()]
            """
        )
    )
    dist_info = tmp_path / "site_rules-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: site-rules\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text("[pcimage.validators]\nsite_rules = site_rules\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()

    manager = create_plugin_manager()
    report = validate_config(
        CONFIG.replace("c5.xlarge", "c5.24xlarge"),
        plugin_manager=manager,
        suppress=["type:InstanceTypeBaseAMICompatibleValidator"],
        context=ValidationContext(offline=True),
    )

    types = [validator.type for validator in collect_validators(manager)]
    assert "NoLargeInstancesValidator" in types
    assert types.index("NoLargeInstancesValidator") > types.index("KmsKeyIdEncryptedValidator")
    assert [(m.type, m.line, m.column) for m in report.messages] == [("NoLargeInstancesValidator", 2, 17)]
    sys.modules.pop("site_rules", None)


def test_unknown_suppressor_logged(caplog):
    with caplog.at_level("WARNING", logger="pcimage.engine.core"):
        validate_config(CONFIG, plugin_manager=manager_with(TagValidator()), suppress=["type:CostCentreTagValidator"])

    assert "suppressValidators names no installed validator: CostCentreTagValidator" in caplog.text
