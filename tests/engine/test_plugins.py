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

    with pytest.raises(PluginError, match="needs a `type` of letters and digits only"):
        collect_validators(manager_with(Nameless()))


def test_duplicate_type_names_rejected():
    manager = create_plugin_manager(load_entry_points=False)
    manager.register(Plugin(TagValidator()), name="first")
    manager.register(Plugin(TagValidator()), name="second")

    with pytest.raises(PluginError, match="registers the type CostCenterTagValidator, which plugin '.*' already registers"):
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


class MutatingValidator:
    type = "MutatingValidator"
    needs_aws = False

    def validate(self, config, context):
        config["Build"]["InstanceType"] = "p4d.24xlarge"
        return []


def test_validators_cannot_change_config():
    report = validate_config(CONFIG, plugin_manager=manager_with(MutatingValidator(), TagValidator()))

    assert report.config["Build"]["InstanceType"] == "c5.xlarge"
    assert report.messages[0].type == "MutatingValidator"
    assert report.messages[0].level is Level.ERROR
    assert "TypeError" in report.messages[0].message


class JunkValidator:
    needs_aws = False

    def __init__(self, name, *results):
        self.type = name
        self.results = results

    def validate(self, config, context):
        return list(self.results)


@pytest.mark.parametrize(
    ("result", "complaint"),
    [
        ("text", "which is not a Finding"),
        (Finding("WARN", "x", ()), "invalid level 'WARN'"),
        (Finding(Level.ERROR, None, ()), "message is not text"),
        (Finding(Level.ERROR, "x", "Build.InstanceType"), "is not a tuple of keys and indexes"),
    ],
)
def test_malformed_finding_becomes_error(result, complaint):
    report = validate_config(CONFIG, plugin_manager=manager_with(JunkValidator("JunkValidator", result)))

    [message] = report.messages
    assert message.type == "JunkValidator"
    assert message.level is Level.ERROR
    assert complaint in message.message


def test_finding_with_integer_level_accepted():
    report = validate_config(
        CONFIG, plugin_manager=manager_with(JunkValidator("IntLevelValidator", Finding(30, "x", ("Build",)))), failure_level="INFO"
    )

    assert [(m.level, m.line) for m in report.messages] == [(Level.WARNING, 2)]


class BrokenHook:
    def __init__(self, result=None, error=None):
        self.result, self.error = result, error

    @hookimpl
    def pcimage_validators(self):
        if self.error:
            raise self.error
        return self.result


@pytest.mark.parametrize(
    ("plugin", "complaint"),
    [
        (BrokenHook(error=RuntimeError("boom")), "pcimage_validators() raised RuntimeError: boom"),
        (BrokenHook(result="CostCenterTagValidator"), "must return a list of validators, not str"),
        (Plugin(JunkValidator("Site_Rules")), "needs a `type` of letters and digits only"),
        (Plugin(type("NoFlag", (), {"type": "NoFlag", "validate": lambda self, c, x: []})()), "boolean `needs_aws`"),
    ],
)
def test_broken_plugin_named_in_error(plugin, complaint):
    manager = create_plugin_manager(load_entry_points=False)
    manager.register(plugin, name="site-rules")

    with pytest.raises(PluginError) as caught:
        collect_validators(manager)

    assert "validator plugin 'site-rules'" in str(caught.value)
    assert complaint in str(caught.value)


def test_entry_point_import_failure_named(tmp_path, monkeypatch):
    (tmp_path / "broken_rules.py").write_text("raise ImportError('missing dependency: pyfoo')\n")
    dist_info = tmp_path / "broken_rules-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-rules\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text("[pcimage.validators]\nbroken_rules = broken_rules\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()

    with pytest.raises(PluginError) as caught:
        create_plugin_manager()

    assert str(caught.value) == (
        "validator plugin 'broken_rules' (broken_rules) failed to load: ImportError: missing dependency: pyfoo"
    )
    sys.modules.pop("broken_rules", None)
