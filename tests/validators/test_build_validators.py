"""EbsVolumeTypeSizeValidator, ComponentsValidator and InstanceTypeSoftwareValidator."""

from __future__ import annotations

from pcimage.engine import Finding, Level
from pcimage.validators.ebs import EbsVolumeTypeSizeValidator
from pcimage.validators.imagebuilder import ComponentsValidator, InstanceTypeSoftwareValidator

SIZE_PATH = ("Image", "RootVolume", "Size")


def run(validator, config, context):
    return list(validator.validate(config, context))


def sized(make_config, size):
    return make_config(Image={"RootVolume": {"Size": size, "Encrypted": False}})


def test_gp3_size_bounds(make_config, context):
    too_large = Finding(Level.ERROR, "The size of gp3 volumes can not exceed 16384 GiB.", SIZE_PATH)
    too_small = Finding(Level.ERROR, "The size of gp3 volumes must be at least 1 GiB.", SIZE_PATH)
    cases = {1: [], 16384: [], 16385: [too_large], 20000: [too_large], -5: [too_small], 0: []}

    for size, expected in cases.items():
        assert run(EbsVolumeTypeSizeValidator(), sized(make_config, size), context) == expected, size


def test_gp3_check_without_size_silent(make_config, context):
    assert run(EbsVolumeTypeSizeValidator(), make_config(), context) == []
    assert run(EbsVolumeTypeSizeValidator(), make_config(Image={"Name": "x"}), context) == []


def components(count):
    return [{"Type": "arn", "Value": f"arn:aws:imagebuilder:us-east-1:aws:component/c{i}/1.0.0"} for i in range(count)]


def test_fifteen_components_accepted(make_config, context):
    assert run(ComponentsValidator(), make_config({"Components": components(15)}), context) == []
    assert run(ComponentsValidator(), make_config({"Components": []}), context) == []


def test_sixteen_components_rejected(make_config, context):
    findings = run(ComponentsValidator(), make_config({"Components": components(16)}), context)

    assert findings == [
        Finding(
            Level.ERROR,
            "Number of build components is 16. It's not possible to specify more than 15 build components.",
            ("Build", "Components"),
        )
    ]


def nvidia(make_config, instance_type, enabled=True):
    return make_config({"InstanceType": instance_type, "Installation": {"NvidiaSoftware": {"Enabled": enabled}}})


def test_nvidia_software_needs_gpu(make_config, context):
    findings = run(InstanceTypeSoftwareValidator(), nvidia(make_config, "c5.xlarge"), context)

    assert findings == [
        Finding(
            Level.ERROR,
            "Instance type c5.xlarge does not have GPU. NVIDIA software can only be installed on GPU instances.",
            ("Build", "InstanceType"),
        )
    ]


def test_nvidia_software_on_gpu_accepted(make_config, context):
    assert run(InstanceTypeSoftwareValidator(), nvidia(make_config, "p3dn.24xlarge"), context) == []


def test_nvidia_software_disabled_skipped(make_config, stubbed_aws):
    # No response is stubbed, so any DescribeInstanceTypes request would fail the test.
    assert run(InstanceTypeSoftwareValidator(), nvidia(make_config, "c5.xlarge", enabled=False), stubbed_aws) == []
    assert run(InstanceTypeSoftwareValidator(), make_config(), stubbed_aws) == []


def test_nvidia_software_unknown_type_reports_ec2_text(make_config, context):
    findings = run(InstanceTypeSoftwareValidator(), nvidia(make_config, "x9.large"), context)

    assert [finding.message for finding in findings] == [
        "The following supplied instance types do not exist: [x9.large]"
    ]
