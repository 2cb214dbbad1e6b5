"""Tests of the image build template: its resources, names and tags, cfn-lint, and its documents."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from typing import Any

import boto3
import pytest
from cfnlint.api import ManualArgs, lint
from ruamel.yaml import YAML

from pcimage.api_adapter.errors import BadRequestError
from pcimage.api_adapter.template import (
    ParentImageInfo,
    base_version,
    build_log_group,
    chef_attributes_json,
    recipe_name,
    render_template,
)

IMAGE_ID = "my-image"
VERSION = "3.16.1"
PARENT = ParentImageInfo(
    ami_id="ami-04681a1dbd79675a5",
    root_device_name="/dev/xvda",
    root_volume_size=15,
    architecture="x86_64",
    description="Amazon Linux 2 AMI",
)
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/team/image-build-role"
PROFILE_ARN = f"arn:aws:iam::{ACCOUNT}:instance-profile/team/image-build-profile"
BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/image-build-boundary"
KMS_KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
ARN_COMPONENT = "arn:aws:imagebuilder:us-east-1:aws:component/amazon-cloudwatch-agent-linux/x.x.x"

MINIMAL = {"Build": {"InstanceType": "c5.xlarge", "ParentImage": PARENT.ami_id, "Imds": {"ImdsSupport": "v2.0"}}}


def config_with(**sections: Any) -> dict[str, Any]:
    """Return the minimal config with `sections` merged into Build and the other top-level keys."""
    config = copy.deepcopy(MINIMAL)
    for key, value in sections.items():
        if key == "Build":
            config["Build"].update(value)
        else:
            config[key] = value
    return config


# Configs in their normalized form, as the schema check hands them over.
CONFIGS = {
    "minimal": MINIMAL,
    "instance role": config_with(Build={"Iam": {"InstanceRole": ROLE_ARN}}),
    "instance profile": config_with(Build={"Iam": {"InstanceProfile": PROFILE_ARN}}),
    "additional policies and boundary": config_with(
        Build={
            "Iam": {
                "AdditionalIamPolicies": [{"Policy": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}],
                "PermissionsBoundary": BOUNDARY_ARN,
            }
        }
    ),
    "script and arn components": config_with(
        Build={
            "Components": [
                {"Type": "script", "Value": "s3://image-build-bucket/scripts/post_install.sh"},
                {"Type": "arn", "Value": ARN_COMPONENT},
                {"Type": "script", "Value": "https://example.com/scripts/setup.sh"},
            ]
        }
    ),
    "update os packages": config_with(Build={"UpdateOsPackages": {"Enabled": True}}),
    "update os without kernel": config_with(
        Build={"UpdateOsPackages": {"Enabled": True}},
        DevSettings={"DisableKernelUpdate": True, "TerminateInstanceOnFailure": True},
    ),
    "kms encrypted root volume": config_with(
        Image={"RootVolume": {"Size": 100, "Encrypted": True, "KmsKeyId": KMS_KEY_ID}}
    ),
    "distribution regions and launch permission": config_with(
        Image={"Name": "HPC image", "Tags": [{"Key": "team", "Value": "hpc"}]},
        DevSettings={
            "DistributionConfiguration": {
                "Regions": "us-east-1,eu-west-1,us-east-1",
                "LaunchPermission": json.dumps({"UserIds": [ACCOUNT], "UserGroups": ["all"]}),
            },
            "TerminateInstanceOnFailure": False,
        },
    ),
    "network and imds v1": config_with(
        Build={
            "SecurityGroupIds": ["sg-0123456789abcdef0", "sg-0fedcba9876543210"],
            "SubnetId": "subnet-0123456789abcdef0",
            "Imds": {"ImdsSupport": "v1.0"},
            "Tags": [{"Key": "cost-center", "Value": "42"}],
        }
    ),
    "custom cookbook from s3 with tests": config_with(
        DevSettings={
            "Cookbook": {
                "ChefCookbook": "s3://image-build-bucket/cookbooks/custom.tgz",
                "ExtraChefAttributes": json.dumps({"cluster": {"nvidia": {"enabled": "yes"}}, "extra": {"a": 1}}),
            },
            "CliAttributeOverrides": json.dumps(
                {"cinc_installer_url": "https://example.com/install.sh", "cinc_version": "18.4.12", "other": 1}
            ),
            "NodePackage": "https://example.com/node.tgz",
            "DisableValidateAndTest": False,
        }
    ),
    "custom cookbook from https": config_with(
        DevSettings={"Cookbook": {"ChefCookbook": "https://example.com/cookbook.tgz"}}
    ),
    "parallelcluster component disabled": config_with(DevSettings={"DisablePclusterComponent": True}),
    "nvidia without lustre": config_with(
        Build={"Installation": {"NvidiaSoftware": {"Enabled": True}, "LustreClient": {"Enabled": False}}}
    ),
    "official ami build": config_with(
        Build={"UpdateOsPackages": {"Enabled": True}},
        DevSettings={
            "Cookbook": {"ExtraChefAttributes": json.dumps({"cluster": {"is_official_ami_build": True}})},
            "CliAttributeOverrides": json.dumps({"cinc_version": "18.4.12"}),
        },
    ),
    "everything": config_with(
        Image={
            "Name": "everything image",
            "Tags": [{"Key": "team", "Value": "hpc"}],
            "RootVolume": {"Encrypted": True, "KmsKeyId": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KMS_KEY_ID}"},
        },
        Build={
            "Iam": {"InstanceRole": ROLE_ARN, "PermissionsBoundary": BOUNDARY_ARN},
            "Components": [
                {"Type": "script", "Value": "s3://image-build-bucket/scripts/post_install.sh"},
                {"Type": "arn", "Value": ARN_COMPONENT},
            ],
            "UpdateOsPackages": {"Enabled": True},
            "SecurityGroupIds": ["sg-0123456789abcdef0"],
            "SubnetId": "subnet-0123456789abcdef0",
            "Imds": {"ImdsSupport": "v1.0"},
            "Tags": [{"Key": "cost-center", "Value": "42"}],
        },
        DevSettings={
            "DistributionConfiguration": {
                "Regions": "us-east-1, eu-west-1",
                "LaunchPermission": json.dumps({"OrganizationArns": [f"arn:aws:organizations::{ACCOUNT}:organization/o-abc"]}),
            },
            "DisableValidateAndTest": False,
        },
    ),
}


def render(config: dict[str, Any] = MINIMAL, *, image_id: str = IMAGE_ID, version: str = VERSION) -> dict[str, Any]:
    return render_template(image_id, config, parent_image=PARENT, version=version)


def resources_of(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return {name: body for name, body in template["Resources"].items() if body["Type"] == resource_type}


def properties(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return template["Resources"][logical_id]["Properties"]


# -- cfn-lint ----------------------------------------------------------------------------------- #


@pytest.mark.parametrize("name", CONFIGS)
def test_template_passes_cfn_lint(name):
    template = render(CONFIGS[name])

    matches = lint(json.dumps(template), config=ManualArgs(regions=["us-east-1", "eu-west-1"]))

    problems = [f"{m.rule.id} {m.message} at {'/'.join(map(str, m.path))}" for m in matches]
    assert problems == [], "cfn-lint found:\n" + "\n".join(problems)


@pytest.mark.parametrize("name", CONFIGS)
def test_template_fits_create_stack_body(name):
    body = json.dumps(render(CONFIGS[name]), separators=(",", ":"))

    assert len(body.encode()) < 51200


def test_fifteen_components_fit_body():
    components = [{"Type": "script", "Value": f"https://example.com/scripts/{'x' * 200}-{n}.sh"} for n in range(15)]
    config = config_with(Build={"Components": components, "UpdateOsPackages": {"Enabled": True}})

    body = json.dumps(render(config), separators=(",", ":"))

    assert len(body.encode()) < 51200


def test_render_makes_no_aws_call(monkeypatch):
    def fail_on_client(*args, **kwargs):
        raise AssertionError("render_template created an AWS client")

    monkeypatch.setattr(boto3.session.Session, "client", fail_on_client)
    monkeypatch.setattr(boto3, "client", fail_on_client)

    render(CONFIGS["everything"])


# -- Resources and IAM -------------------------------------------------------------------------- #


def test_minimal_template_resources():
    template = render()

    types = {name: body["Type"] for name, body in template["Resources"].items()}
    assert types == {
        "InstanceRole": "AWS::IAM::Role",
        "InstanceProfile": "AWS::IAM::InstanceProfile",
        "InfrastructureConfiguration": "AWS::ImageBuilder::InfrastructureConfiguration",
        "ParallelClusterComponent": "AWS::ImageBuilder::Component",
        "ParallelClusterTagComponent": "AWS::ImageBuilder::Component",
        "ImageRecipe": "AWS::ImageBuilder::ImageRecipe",
        "DistributionConfiguration": "AWS::ImageBuilder::DistributionConfiguration",
        "ParallelClusterImage": "AWS::ImageBuilder::Image",
    }
    assert set(template["Parameters"]) == {
        "CfnParamCookbookVersion",
        "CfnParamChefCookbook",
        "CfnParamCincInstaller",
        "CfnParamCincVersion",
        "CfnParamChefDnaJson",
        "CfnParamUpdateOsAndReboot",
        "CfnParamIsOfficialAmiBuild",
    }
    assert "Outputs" not in template


def test_generated_instance_role():
    role = properties(render(), "InstanceRole")

    assert role["Path"] == "/parallelcluster/"
    assert role["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"},
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/EC2InstanceProfileForImageBuilder"},
    ]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": {"Fn::Sub": "ec2.${AWS::URLSuffix}"}
    }
    policy = role["Policies"][0]
    assert policy["PolicyName"] == "InstanceRoleInlinePolicy"
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Action": ["ec2:CreateTags", "ec2:ModifyImageAttribute"],
            "Resource": {"Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}::image/*"},
        }
    ]
    assert "PermissionsBoundary" not in role
    assert {"Key": "parallelcluster:image_id", "Value": IMAGE_ID} in role["Tags"]
    assert {"Key": "parallelcluster:image_name", "Value": IMAGE_ID} in role["Tags"]


def test_role_names_are_unique_per_stack():
    template = render()

    stack_uuid = {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}
    expected = {"Fn::Join": ["-", ["ParallelClusterImage", stack_uuid]]}
    assert properties(template, "InstanceRole")["RoleName"] == expected
    assert properties(template, "InstanceProfile")["InstanceProfileName"] == expected
    assert properties(template, "InfrastructureConfiguration")["Name"] == expected
    assert properties(template, "DistributionConfiguration")["Name"] == expected


def test_role_policies_and_boundary():
    role = properties(render(CONFIGS["additional policies and boundary"]), "InstanceRole")

    assert role["ManagedPolicyArns"][2:] == ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]
    assert role["PermissionsBoundary"] == BOUNDARY_ARN


def test_role_reads_s3_script_components_only():
    template = render(CONFIGS["script and arn components"])

    statements = properties(template, "InstanceRole")["Policies"][0]["PolicyDocument"]["Statement"]
    assert statements[1:] == [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": {
                "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::", "image-build-bucket/scripts/post_install.sh"]]
            },
        }
    ]


def test_role_reads_s3_cookbook():
    template = render(CONFIGS["custom cookbook from s3 with tests"])

    statements = properties(template, "InstanceRole")["Policies"][0]["PolicyDocument"]["Statement"]
    assert statements[1:] == [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": {
                "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::", "image-build-bucket/cookbooks/custom.tgz"]]
            },
        }
    ]


def test_role_skips_https_cookbook():
    template = render(CONFIGS["custom cookbook from https"])

    statements = properties(template, "InstanceRole")["Policies"][0]["PolicyDocument"]["Statement"]
    assert len(statements) == 1


def test_user_role_gets_profile():
    template = render(CONFIGS["instance role"])

    assert "InstanceRole" not in template["Resources"]
    profile = properties(template, "InstanceProfile")
    assert profile["Roles"] == ["image-build-role"]
    assert profile["Path"] == "/parallelcluster/"
    assert properties(template, "InfrastructureConfiguration")["InstanceProfileName"] == {"Ref": "InstanceProfile"}


def test_user_instance_profile_used_as_is():
    template = render(CONFIGS["instance profile"])

    assert "InstanceRole" not in template["Resources"]
    assert "InstanceProfile" not in template["Resources"]
    assert properties(template, "InfrastructureConfiguration")["InstanceProfileName"] == "image-build-profile"


def test_boundary_without_generated_role():
    template = render(CONFIGS["everything"])

    assert resources_of(template, "AWS::IAM::Role") == {}


# -- Infrastructure configuration --------------------------------------------------------------- #


def test_infrastructure_defaults():
    infrastructure = properties(render(), "InfrastructureConfiguration")

    assert infrastructure["InstanceTypes"] == ["c5.xlarge"]
    assert infrastructure["TerminateInstanceOnFailure"] is True
    assert infrastructure["InstanceMetadataOptions"] == {"HttpTokens": "required"}
    assert "SecurityGroupIds" not in infrastructure
    assert "SubnetId" not in infrastructure
    assert "SnsTopicArn" not in infrastructure


def test_imds_absent_requires_tokens():
    config = {"Build": {"InstanceType": "c5.xlarge", "ParentImage": PARENT.ami_id}}

    infrastructure = properties(render(config), "InfrastructureConfiguration")

    assert infrastructure["InstanceMetadataOptions"] == {"HttpTokens": "required"}


def test_infrastructure_network_and_imds_v1():
    infrastructure = properties(render(CONFIGS["network and imds v1"]), "InfrastructureConfiguration")

    assert infrastructure["SecurityGroupIds"] == ["sg-0123456789abcdef0", "sg-0fedcba9876543210"]
    assert infrastructure["SubnetId"] == "subnet-0123456789abcdef0"
    assert infrastructure["InstanceMetadataOptions"] == {"HttpTokens": "optional"}


def test_infrastructure_keeps_failed_instance():
    infrastructure = properties(render(CONFIGS["distribution regions and launch permission"]), "InfrastructureConfiguration")

    assert infrastructure["TerminateInstanceOnFailure"] is False


# -- Tags --------------------------------------------------------------------------------------- #


def test_build_tags_on_image_builder_resources():
    template = render(CONFIGS["network and imds v1"])

    expected = {"cost-center": "42", "parallelcluster:image_id": IMAGE_ID, "parallelcluster:image_name": IMAGE_ID}
    for logical_id, body in template["Resources"].items():
        if body["Type"].startswith("AWS::ImageBuilder::"):
            assert body["Properties"]["Tags"] == expected, logical_id
    assert properties(template, "InfrastructureConfiguration")["ResourceTags"] == expected


def test_build_tag_cannot_replace_image_id():
    config = config_with(Build={"Tags": [{"Key": "parallelcluster:image_id", "Value": "other"}]})

    tags = properties(render(config), "ImageRecipe")["Tags"]

    assert tags["parallelcluster:image_id"] == IMAGE_ID


def test_image_name_tag_uses_image_name():
    tags = properties(render(CONFIGS["distribution regions and launch permission"]), "ParallelClusterImage")["Tags"]

    assert tags["parallelcluster:image_name"] == "HPC image"


def test_ami_tags():
    template = render(CONFIGS["distribution regions and launch permission"], version="3.16.1")

    ami = properties(template, "DistributionConfiguration")["Distributions"][0]["AmiDistributionConfiguration"]
    assert ami["AmiTags"] == {
        "team": "hpc",
        "parallelcluster:image_name": "HPC image",
        "parallelcluster:version": "3.16.1",
        "parallelcluster:image_id": IMAGE_ID,
        "parallelcluster:build_log": {
            "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
            f"/aws/imagebuilder/ParallelClusterImage-{IMAGE_ID}"
        },
    }


def test_build_tags_stay_off_ami():
    template = render(CONFIGS["network and imds v1"])

    ami = properties(template, "DistributionConfiguration")["Distributions"][0]["AmiDistributionConfiguration"]
    assert "cost-center" not in ami["AmiTags"]


# -- Components --------------------------------------------------------------------------------- #


def test_component_order():
    config = copy.deepcopy(CONFIGS["script and arn components"])
    config["Build"]["UpdateOsPackages"] = {"Enabled": True}
    config["DevSettings"] = {"DisableValidateAndTest": False}

    components = properties(render(config), "ImageRecipe")["Components"]

    assert components == [
        {"ComponentArn": {"Ref": "UpdateOSComponent"}},
        {"ComponentArn": {"Ref": "ParallelClusterComponent"}},
        {"ComponentArn": {"Ref": "ParallelClusterTagComponent"}},
        {"ComponentArn": {"Ref": "ScriptComponent0"}},
        {"ComponentArn": ARN_COMPONENT},
        {"ComponentArn": {"Ref": "ScriptComponent1"}},
        {"ComponentArn": {"Ref": "ParallelClusterTestComponent"}},
    ]


def test_minimal_components():
    components = properties(render(), "ImageRecipe")["Components"]

    assert components == [
        {"ComponentArn": {"Ref": "ParallelClusterComponent"}},
        {"ComponentArn": {"Ref": "ParallelClusterTagComponent"}},
    ]


def test_pcluster_component_disabled():
    config = copy.deepcopy(CONFIGS["parallelcluster component disabled"])
    config["DevSettings"]["DisableValidateAndTest"] = False

    template = render(config)

    assert properties(template, "ImageRecipe")["Components"] == [
        {"ComponentArn": {"Ref": "ParallelClusterTagComponent"}}
    ]
    assert "Parameters" not in template


def test_script_component_properties():
    template = render(CONFIGS["script and arn components"])

    first = properties(template, "ScriptComponent0")
    assert first["Name"] == {
        "Fn::Join": ["-", ["ParallelClusterImage-Script-0", {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}]]
    }
    assert first["Version"] == "3.16.1"
    assert first["Platform"] == "Linux"
    assert "post_install.sh" in first["Description"]
    assert "s3://image-build-bucket/scripts/post_install.sh" in first["Description"]
    assert first["Tags"]["parallelcluster:image_id"] == IMAGE_ID
    second = properties(template, "ScriptComponent1")
    assert "https://example.com/scripts/setup.sh" in second["Description"]


def test_component_versions_use_base_version():
    template = render(version="3.16.1b2")

    assert properties(template, "ParallelClusterComponent")["Version"] == "3.16.1"
    assert properties(template, "ImageRecipe")["Version"] == "3.16.1"
    assert template["Parameters"]["CfnParamCookbookVersion"]["Default"] == "3.16.1b2"


def test_invalid_component_arn_rejected():
    config = config_with(Build={"Components": [{"Type": "arn", "Value": "arnold"}]})

    with pytest.raises(BadRequestError) as raised:
        render(config)

    assert "Build.Components[0].Value 'arnold'" in raised.value.message


# -- Recipe and root volume --------------------------------------------------------------------- #


def test_recipe_properties():
    recipe = properties(render(), "ImageRecipe")

    assert recipe["Name"] == f"ParallelClusterImage-{IMAGE_ID}"
    assert recipe["ParentImage"] == PARENT.ami_id
    assert recipe["WorkingDirectory"] == "/opt/parallelcluster/tmp"
    assert recipe["BlockDeviceMappings"] == [
        {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 15 + 37, "VolumeType": "gp3", "Encrypted": False}}
    ]


def test_recipe_keeps_arn_parent_image():
    arn = "arn:aws:imagebuilder:us-east-1:aws:image/amazon-linux-2-x86/x.x.x"
    config = config_with(Build={"ParentImage": arn})

    assert properties(render(config), "ImageRecipe")["ParentImage"] == arn


def test_root_volume_given_size_and_kms():
    ebs = properties(render(CONFIGS["kms encrypted root volume"]), "ImageRecipe")["BlockDeviceMappings"][0]["Ebs"]

    assert ebs == {"VolumeSize": 100, "VolumeType": "gp3", "Encrypted": True, "KmsKeyId": KMS_KEY_ID}


def test_derived_size_keeps_encryption():
    ebs = properties(render(CONFIGS["everything"]), "ImageRecipe")["BlockDeviceMappings"][0]["Ebs"]

    assert ebs["VolumeSize"] == 52
    assert ebs["Encrypted"] is True
    assert ebs["KmsKeyId"] == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KMS_KEY_ID}"


@pytest.mark.parametrize("size", [0, -5, 16001])
def test_root_volume_size_out_of_range(size):
    config = config_with(Image={"RootVolume": {"Size": size}})

    with pytest.raises(BadRequestError) as raised:
        render(config)

    assert f"Image.RootVolume.Size {size} is invalid" in raised.value.message


def test_long_image_id_recipe_name_cut():
    image_id = "a" * 128
    config = config_with(Image={"Name": "short"})

    recipe = properties(render(config, image_id=image_id), "ImageRecipe")

    assert recipe["Name"] == ("ParallelClusterImage-" + image_id)[:128]
    assert build_log_group(image_id) == f"/aws/imagebuilder/{recipe_name(image_id)}"


# -- Distribution ------------------------------------------------------------------------------- #


def test_distribution_default_region():
    distributions = properties(render(), "DistributionConfiguration")["Distributions"]

    assert [d["Region"] for d in distributions] == [{"Ref": "AWS::Region"}]
    ami = distributions[0]["AmiDistributionConfiguration"]
    assert ami["Name"] == f"{IMAGE_ID} {{{{ imagebuilder:buildDate }}}}"
    assert "LaunchPermissionConfiguration" not in ami


def test_distribution_regions_and_launch_permission():
    template = render(CONFIGS["distribution regions and launch permission"])

    distributions = properties(template, "DistributionConfiguration")["Distributions"]
    assert [d["Region"] for d in distributions] == ["us-east-1", "eu-west-1"]
    for distribution in distributions:
        ami = distribution["AmiDistributionConfiguration"]
        assert ami["Name"] == "HPC image {{ imagebuilder:buildDate }}"
        assert ami["LaunchPermissionConfiguration"] == {"UserIds": [ACCOUNT], "UserGroups": ["all"]}


def test_distribution_regions_are_trimmed():
    distributions = properties(render(CONFIGS["everything"]), "DistributionConfiguration")["Distributions"]

    assert [d["Region"] for d in distributions] == ["us-east-1", "eu-west-1"]


@pytest.mark.parametrize(
    ("launch_permission", "expected"),
    [
        ("[1]", "is invalid: expected a JSON object"),
        ('{"userIds": ["1"]}', "has the unknown key 'userIds'"),
        ('{"UserIds": "123"}', "key 'UserIds' must be a list of strings"),
        ("{not json", "is not valid JSON"),
    ],
)
def test_launch_permission_rejected(launch_permission, expected):
    config = config_with(DevSettings={"DistributionConfiguration": {"Regions": "us-east-1", "LaunchPermission": launch_permission}})

    with pytest.raises(BadRequestError) as raised:
        render(config)

    assert "DevSettings.DistributionConfiguration.LaunchPermission" in raised.value.message
    assert expected in raised.value.message


def test_empty_launch_permission_ignored():
    config = config_with(DevSettings={"DistributionConfiguration": {"Regions": "us-east-1", "LaunchPermission": ""}})

    ami = properties(render(config), "DistributionConfiguration")["Distributions"][0]["AmiDistributionConfiguration"]

    assert "LaunchPermissionConfiguration" not in ami


def test_empty_image_name_falls_back_to_id():
    config = config_with(Image={"Name": ""})

    ami = properties(render(config), "DistributionConfiguration")["Distributions"][0]["AmiDistributionConfiguration"]

    assert ami["Name"] == f"{IMAGE_ID} {{{{ imagebuilder:buildDate }}}}"


@pytest.mark.parametrize(
    ("image_id", "name", "expected"),
    [
        ("a" * 99, None, "set Image.Name to at most 98 characters"),
        (IMAGE_ID, "n" * 99, "128 characters, more than the 127"),
        (IMAGE_ID, "!!bad name$", "may contain only letters"),
    ],
)
def test_ami_name_rejected(image_id, name, expected):
    config = config_with(Image={"Name": name}) if name else MINIMAL

    with pytest.raises(BadRequestError) as raised:
        render(config, image_id=image_id)

    assert expected in raised.value.message


def test_ami_name_at_limit_accepted():
    config = config_with(Image={"Name": "n" * 98})

    ami = properties(render(config), "DistributionConfiguration")["Distributions"][0]["AmiDistributionConfiguration"]

    assert len(ami["Name"]) == 127


# -- Parameters and Chef attributes ------------------------------------------------------------- #


def test_parameter_defaults():
    parameters = render(CONFIGS["custom cookbook from s3 with tests"])["Parameters"]

    assert parameters["CfnParamCookbookVersion"]["Default"] == VERSION
    assert parameters["CfnParamChefCookbook"]["Default"] == "s3://image-build-bucket/cookbooks/custom.tgz"
    assert parameters["CfnParamCincInstaller"]["Default"] == "https://example.com/install.sh"
    assert parameters["CfnParamCincVersion"]["Default"] == "18.4.12"


def test_minimal_parameter_defaults_empty():
    parameters = render()["Parameters"]

    assert parameters["CfnParamChefCookbook"]["Default"] == ""
    assert parameters["CfnParamCincInstaller"]["Default"] == ""
    assert parameters["CfnParamCincVersion"]["Default"] == ""
    assert parameters["CfnParamUpdateOsAndReboot"]["Default"] == "false"
    assert parameters["CfnParamIsOfficialAmiBuild"]["Default"] == "false"


@pytest.mark.parametrize(
    ("overrides", "url", "version"),
    [
        ({"cinc_installer_url": "https://example.com/cinc.sh"}, "https://example.com/cinc.sh", ""),
        ({"cinc_version": "18.4.12"}, "", "18.4.12"),
        ({"cinc_installer_url": None, "cinc_version": ""}, "", ""),
        ({"chef_version": "18"}, "", ""),
        ({}, "", ""),
    ],
)
def test_cli_overrides_reach_parameters(overrides, url, version):
    config = config_with(DevSettings={"CliAttributeOverrides": json.dumps(overrides)})

    parameters = render(config)["Parameters"]

    assert parameters["CfnParamCincInstaller"]["Default"] == url
    assert parameters["CfnParamCincVersion"]["Default"] == version


def test_empty_cli_overrides_ignored():
    parameters = render(config_with(DevSettings={"CliAttributeOverrides": ""}))["Parameters"]

    assert parameters["CfnParamCincInstaller"]["Default"] == ""
    assert parameters["CfnParamCincVersion"]["Default"] == ""


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ("{not json", "is not valid JSON"),
        ('["cinc_version"]', "is invalid: expected a JSON object"),
        ('{"cinc_version": 18}', "key 'cinc_version' must be a string, not 18"),
        ('{"cinc_installer_url": ["https://example.com/cinc.sh"]}', "key 'cinc_installer_url' must be a string"),
    ],
)
def test_cli_overrides_rejected(overrides, expected):
    config = config_with(DevSettings={"CliAttributeOverrides": overrides})

    with pytest.raises(BadRequestError) as raised:
        render(config)

    assert "DevSettings.CliAttributeOverrides" in raised.value.message
    assert expected in raised.value.message


def test_cli_overrides_unused_without_component():
    config = config_with(DevSettings={"DisablePclusterComponent": True, "CliAttributeOverrides": "{not json"})

    assert "Parameters" not in render(config)


@pytest.mark.parametrize(
    ("dev_settings", "where", "character"),
    [
        ({"CliAttributeOverrides": json.dumps({"cinc_installer_url": 'https://example.com/"x'})}, "cinc_installer_url", '"'),
        ({"CliAttributeOverrides": json.dumps({"cinc_version": "$(reboot)"})}, "cinc_version", "$"),
        ({"Cookbook": {"ChefCookbook": "https://example.com/`id`.tgz"}}, "ChefCookbook", "`"),
        ({"Cookbook": {"ChefCookbook": "s3://bucket/a\\b.tgz"}}, "ChefCookbook", "\\"),
        ({"Cookbook": {"ExtraChefAttributes": json.dumps({"cluster": {"is_official_ami_build": "x\ny"}})}},
         "is_official_ami_build", "\n"),
    ],
)
def test_unquotable_parameter_value_rejected(dev_settings, where, character):
    config = config_with(DevSettings=dev_settings)

    with pytest.raises(BadRequestError) as raised:
        render(config)

    assert where in raised.value.message
    assert f"it contains {character!r}" in raised.value.message


def test_long_cinc_installer_url_rejected():
    url = "https://example.com/" + "x" * 4096
    config = config_with(DevSettings={"CliAttributeOverrides": json.dumps({"cinc_installer_url": url})})

    with pytest.raises(BadRequestError) as raised:
        render(config)

    assert "key 'cinc_installer_url' is 4116 bytes, more than the 4096 bytes" in raised.value.message


@pytest.mark.parametrize(("enabled", "expected"), [(True, "true"), (False, "false")])
def test_update_os_parameter(enabled, expected):
    config = config_with(Build={"UpdateOsPackages": {"Enabled": enabled}})

    assert render(config)["Parameters"]["CfnParamUpdateOsAndReboot"]["Default"] == expected


@pytest.mark.parametrize(
    ("cluster", "expected"),
    [
        ({"is_official_ami_build": "true"}, "true"),
        ({"is_official_ami_build": True}, "true"),
        ({"is_official_ami_build": False}, "false"),
        ({"is_official_ami_build": ""}, "false"),
        ({}, "false"),
    ],
)
def test_official_ami_build_parameter(cluster, expected):
    config = config_with(DevSettings={"Cookbook": {"ExtraChefAttributes": json.dumps({"cluster": cluster})}})

    assert render(config)["Parameters"]["CfnParamIsOfficialAmiBuild"]["Default"] == expected


def test_chef_attributes_defaults():
    attributes = json.loads(chef_attributes_json(MINIMAL))

    assert attributes == {
        "cluster": {
            "base_os": "{{ build.OperatingSystemName.outputs.stdout }}",
            "custom_node_package": "",
            "disable_kernel_update": "false",
            "is_official_ami_build": "false",
            "lustre": {"enabled": "yes"},
            "nvidia": {"enabled": "no"},
            "region": "{{ build.AWSRegion.outputs.stdout }}",
            "slurm_patches_s3_archive": "",
        }
    }


def test_chef_attributes_user_keys_win():
    text = chef_attributes_json(CONFIGS["custom cookbook from s3 with tests"])

    attributes = json.loads(text)
    assert attributes["cluster"]["nvidia"] == {"enabled": "yes"}
    assert attributes["cluster"]["custom_node_package"] == "https://example.com/node.tgz"
    assert attributes["extra"] == {"a": 1}
    assert text == json.dumps(attributes, sort_keys=True)


@pytest.mark.parametrize(
    ("installation", "nvidia", "lustre"),
    [
        (None, "no", "yes"),
        ({}, "no", "yes"),
        ({"NvidiaSoftware": {"Enabled": True}}, "yes", "yes"),
        ({"LustreClient": {"Enabled": False}}, "no", "no"),
        ({"NvidiaSoftware": {"Enabled": True}, "LustreClient": {"Enabled": False}}, "yes", "no"),
        ({"NvidiaSoftware": {"Enabled": False}, "LustreClient": {"Enabled": True}}, "no", "yes"),
    ],
)
def test_installation_reaches_chef_attributes(installation, nvidia, lustre):
    config = config_with(Build={"Installation": installation}) if installation is not None else MINIMAL

    parameters = render(config)["Parameters"]

    cluster = json.loads(parameters["CfnParamChefDnaJson"]["Default"])["cluster"]
    assert cluster["nvidia"] == {"enabled": nvidia}
    assert cluster["lustre"] == {"enabled": lustre}


def test_extra_attributes_override_installation():
    config = config_with(
        Build={"Installation": {"NvidiaSoftware": {"Enabled": True}}},
        DevSettings={"Cookbook": {"ExtraChefAttributes": json.dumps({"cluster": {"nvidia": {"enabled": "no"}}})}},
    )

    cluster = json.loads(chef_attributes_json(config))["cluster"]

    assert cluster["nvidia"] == {"enabled": "no"}
    assert cluster["lustre"] == {"enabled": "yes"}


def test_chef_attributes_null_cluster():
    config = config_with(DevSettings={"Cookbook": {"ExtraChefAttributes": '{"cluster": null, "extra": 1}'}})

    attributes = json.loads(chef_attributes_json(config))

    assert attributes["extra"] == 1
    assert attributes["cluster"]["nvidia"] == {"enabled": "no"}


@pytest.mark.parametrize("extra", ["[1]", '{"cluster": 3}', "{oops"])
def test_chef_attributes_rejected(extra):
    config = config_with(DevSettings={"Cookbook": {"ExtraChefAttributes": extra}})

    with pytest.raises(BadRequestError) as raised:
        render(config)

    assert "DevSettings.Cookbook.ExtraChefAttributes" in raised.value.message


def test_chef_attributes_over_parameter_limit():
    config = config_with(DevSettings={"Cookbook": {"ExtraChefAttributes": json.dumps({"big": "x" * 4096})}})

    with pytest.raises(BadRequestError) as raised:
        render(config)

    assert "more than the 4096 bytes" in raised.value.message


def test_base_version_rejects_bad_version():
    with pytest.raises(ValueError):
        base_version("dev")


# -- Component documents ------------------------------------------------------------------------ #

_PHASES = {"build", "validate", "test"}
_ACTIONS = {"ExecuteBash", "Reboot", "S3Download", "WebDownload"}
_CHAIN = re.compile(r"\{\{\s*(\w+)\.(\w+)\.outputs\.stdout\s*\}\}")
_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


_PSEUDO_PARAMETERS = {"AWS::Region": "us-east-1", "AWS::URLSuffix": "amazonaws.com"}


def component_documents(template: dict[str, Any]):
    """Yield (logical id, document text, whether it goes through Fn::Sub) for every component."""
    for logical_id, body in resources_of(template, "AWS::ImageBuilder::Component").items():
        data = body["Properties"]["Data"]
        if isinstance(data, dict):
            yield logical_id, data["Fn::Sub"], True
        else:
            yield logical_id, data, False


def substitute(text: str, template: dict[str, Any]) -> str:
    """Resolve Fn::Sub in `text` as CloudFormation would, with parameter defaults and sample pseudo parameters."""
    values = {name: parameter["Default"] for name, parameter in template.get("Parameters", {}).items()}
    values.update(_PSEUDO_PARAMETERS)
    return _SUB_VARIABLE.sub(lambda match: values[match.group(1)], text).replace("${!", "${")


def all_documents() -> list[Any]:
    """Return each component document of each config, as written and as Image Builder receives it."""
    params = []
    for name, config in CONFIGS.items():
        template = render(config)
        for logical_id, text, substituted in component_documents(template):
            received = substitute(text, template) if substituted else text
            params.append(pytest.param(text, substituted, received, id=f"{name}-{logical_id}"))
    return params


def check_document_structure(document: dict[str, Any]) -> list[str]:
    """Return what breaks AWSTOE's component document rules (schemaVersion 1.0) in `document`."""
    problems = []
    if document.get("schemaVersion") != 1.0:
        problems.append(f"schemaVersion is {document.get('schemaVersion')!r}, not 1.0")
    phases = document.get("phases") or []
    if not phases:
        problems.append("no phases")
    phase_names = [phase.get("name") for phase in phases]
    if len(set(phase_names)) != len(phase_names) or not set(phase_names) <= _PHASES:
        problems.append(f"phase names {phase_names} are repeated or unknown")

    for phase in phases:
        seen: set[str] = set()
        for step in phase.get("steps") or []:
            name = step.get("name", "")
            if not re.fullmatch(r"[A-Za-z0-9]+", name) or name in seen:
                problems.append(f"step name {name!r} in {phase['name']} is invalid or repeated")
            if step.get("action") not in _ACTIONS:
                problems.append(f"step {name} has unknown action {step.get('action')!r}")
            if "inputs" not in step:
                problems.append(f"step {name} has no inputs")
            if step.get("action") == "ExecuteBash" and not all(isinstance(c, str) for c in step["inputs"]["commands"]):
                problems.append(f"step {name} commands are not strings")
            if step.get("action") in ("S3Download", "WebDownload"):
                for item in step["inputs"]:
                    if set(item) != {"source", "destination"}:
                        problems.append(f"step {name} download input has keys {sorted(item)}")
            for chained_phase, chained_step in _CHAIN.findall(json.dumps(step)):
                if chained_phase != phase["name"] or chained_step not in seen:
                    problems.append(f"step {name} reads {chained_phase}.{chained_step}, which does not run before it")
            seen.add(name)
        if not seen:
            problems.append(f"phase {phase['name']} has no steps")
    return problems


@pytest.mark.parametrize(("text", "substituted", "received"), all_documents())
def test_component_document_is_valid(text, substituted, received):
    document = YAML(typ="safe").load(received)

    assert check_document_structure(document) == []
    assert len(received) <= 16000


@pytest.mark.parametrize(("text", "substituted", "received"), all_documents())
def test_component_sub_variables_known(text, substituted, received):
    variables = set(_SUB_VARIABLE.findall(text))

    if substituted:
        allowed = {"AWS::Region", "AWS::URLSuffix", "CfnParamCookbookVersion", "CfnParamChefCookbook",
                   "CfnParamCincInstaller", "CfnParamCincVersion", "CfnParamChefDnaJson",
                   "CfnParamUpdateOsAndReboot", "CfnParamIsOfficialAmiBuild"}
        assert variables <= allowed
    else:
        assert variables == set()


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@pytest.mark.parametrize(("text", "substituted", "received"), all_documents())
def test_component_bash_syntax(text, substituted, received):
    document = YAML(typ="safe").load(received)
    for phase in document["phases"]:
        for step in phase["steps"]:
            if step["action"] != "ExecuteBash":
                continue
            for command in step["inputs"]["commands"]:
                script = _CHAIN.sub("value", command)

                result = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True, check=False)

                assert result.returncode == 0, f"step {step['name']}: {result.stderr}"
                assert result.stderr == "", f"step {step['name']}: {result.stderr}"


def test_cookbook_source_after_sub():
    template = render(CONFIGS["custom cookbook from s3 with tests"])

    text = substitute(properties(template, "ParallelClusterComponent")["Data"]["Fn::Sub"], template)

    steps = {step["name"]: step for step in YAML(typ="safe").load(text)["phases"][0]["steps"]}
    assert steps["DownloadCookbook"]["inputs"][0]["source"] == "s3://image-build-bucket/cookbooks/custom.tgz"
    assert '"base_os": "{{ build.OperatingSystemName.outputs.stdout }}"' in steps["InstallCookbook"]["inputs"]["commands"][0]


def test_cookbook_url_stays_one_yaml_string():
    url = "s3://image-build-bucket/cookbooks/build #7: custom.tgz"
    template = render(config_with(DevSettings={"Cookbook": {"ChefCookbook": url}}))

    text = substitute(properties(template, "ParallelClusterComponent")["Data"]["Fn::Sub"], template)

    steps = {step["name"]: step for step in YAML(typ="safe").load(text)["phases"][0]["steps"]}
    assert steps["DownloadCookbook"]["inputs"][0]["source"] == url


def test_script_component_downloads_by_scheme():
    template = render(CONFIGS["script and arn components"])

    documents = {logical_id: YAML(typ="safe").load(text) for logical_id, text, _ in component_documents(template)}
    s3_step = documents["ScriptComponent0"]["phases"][0]["steps"][0]
    https_step = documents["ScriptComponent1"]["phases"][0]["steps"][0]
    assert s3_step["action"] == "S3Download"
    assert s3_step["inputs"][0]["source"] == "s3://image-build-bucket/scripts/post_install.sh"
    assert https_step["action"] == "WebDownload"
    assert https_step["inputs"][0]["source"] == "https://example.com/scripts/setup.sh"


@pytest.mark.parametrize(
    ("name", "action"),
    [("custom cookbook from s3 with tests", "S3Download"), ("custom cookbook from https", "ExecuteBash"), ("minimal", "ExecuteBash")],
)
def test_cookbook_download_by_scheme(name, action):
    text = properties(render(CONFIGS[name]), "ParallelClusterComponent")["Data"]["Fn::Sub"]

    steps = {step["name"]: step for step in YAML(typ="safe").load(text)["phases"][0]["steps"]}
    assert steps["DownloadCookbook"]["action"] == action


def test_update_os_holds_kernel_when_asked():
    plain = properties(render(CONFIGS["update os packages"]), "UpdateOSComponent")["Data"]
    pinned = properties(render(CONFIGS["update os without kernel"]), "UpdateOSComponent")["Data"]

    assert "--exclude='kernel*'" not in plain
    assert "--exclude='kernel*'" in pinned
    assert "apt-mark hold" in pinned


def install_steps(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return the install document's steps by name, as Image Builder receives them."""
    text = substitute(properties(template, "ParallelClusterComponent")["Data"]["Fn::Sub"], template)
    return {step["name"]: step for step in YAML(typ="safe").load(text)["phases"][0]["steps"]}


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            None,
            "url=https://us-east-1-aws-parallelcluster.s3.us-east-1.amazonaws.com/archives/cinc/cinc-install-1.4.0.sh "
            "version=19.3.14",
        ),
        ({"cinc_installer_url": "https://example.com/cinc.sh"}, "url=https://example.com/cinc.sh version=19.3.14"),
        ({"cinc_version": "18.4.12"}, "url=https://us-east-1-aws-parallelcluster.s3.us-east-1.amazonaws.com/archives/cinc/"
         "cinc-install-1.4.0.sh version=18.4.12"),
        (
            {"cinc_installer_url": "https://example.com/cinc install.sh", "cinc_version": "latest"},
            "url=https://example.com/cinc install.sh version=latest",
        ),
    ],
    ids=["defaults", "installer url", "version", "both"],
)
def test_install_cinc_step_runs_overrides(tmp_path, overrides, expected):
    dev_settings = {"CliAttributeOverrides": json.dumps(overrides)} if overrides is not None else {}
    script = install_steps(render(config_with(DevSettings=dev_settings)))["InstallCinc"]["inputs"]["commands"][0]
    # The stub curl prints an installer that reports the URL it came from and the -v argument.
    curl = tmp_path / "curl"
    curl.write_text('#!/bin/sh\nfor url; do :; done\necho "echo \\"url=$url version=\\$2\\""\n')
    curl.chmod(0o755)

    result = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": f"{tmp_path}:/usr/bin:/bin"},
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


@pytest.mark.parametrize(("name", "condition"), [("minimal", '"false" = "false"'), ("official ami build", '"true" = "false"')])
def test_apt_step_skipped_after_os_update(name, condition):
    script = install_steps(render(CONFIGS[name]))["DisableAptUpdates"]["inputs"]["commands"][0]

    assert f"if [ {condition} ] && command -v apt-get" in script
    assert "systemctl disable --now apt-daily.timer" in script


def test_update_os_disables_apt_timers():
    document = YAML(typ="safe").load(properties(render(CONFIGS["update os packages"]), "UpdateOSComponent")["Data"])

    script = document["phases"][0]["steps"][0]["inputs"]["commands"][0]
    assert script.index("systemctl disable --now apt-daily.timer") < script.index("apt-get update")
    assert "/etc/apt/apt.conf.d/51pcluster-unattended-upgrades" in script


@pytest.mark.parametrize(("name", "argument"), [("minimal", "false"), ("official ami build", "true")])
def test_install_ends_with_ami_cleanup(name, argument):
    steps = install_steps(render(CONFIGS[name]))

    assert list(steps)[-1] == "CleanUpAmi"
    assert f'/usr/local/sbin/ami_cleanup.sh "{argument}"' in steps["CleanUpAmi"]["inputs"]["commands"][0]


def test_chef_attributes_reach_install_step():
    steps = install_steps(render(CONFIGS["nvidia without lustre"]))

    command = steps["InstallCookbook"]["inputs"]["commands"][0]
    written = command.split("<<'PCIMAGE_CHEF_ATTRIBUTES'\n", 1)[1].split("\nPCIMAGE_CHEF_ATTRIBUTES", 1)[0]
    cluster = json.loads(written)["cluster"]
    assert cluster["nvidia"] == {"enabled": "yes"}
    assert cluster["lustre"] == {"enabled": "no"}
