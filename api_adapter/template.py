"""The CloudFormation template that builds one image with EC2 Image Builder.

`render_template` is a pure function: every AWS fact it needs (the parent AMI's root device and
size) arrives as a `ParentImageInfo`, so the template can be rendered and checked offline. The
resources, names and tags follow AWS ParallelCluster 3.16.1's image build stack. The component
documents come from `components.py`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from .components import (
    CINC_VERSION,
    install_check_document,
    parallelcluster_document,
    script_document,
    tag_document,
    update_os_document,
)
from .errors import BadRequestError

# Tag keys that mark what pcimage (and ParallelCluster) built.
IMAGE_ID_TAG = "parallelcluster:image_id"
IMAGE_NAME_TAG = "parallelcluster:image_name"
VERSION_TAG = "parallelcluster:version"
BUILD_LOG_TAG = "parallelcluster:build_log"
BUILD_STATUS_TAG = "parallelcluster:build_status"

RESOURCE_NAME_PREFIX = "ParallelClusterImage"
IAM_PATH = "/parallelcluster/"
ROOT_VOLUME_TYPE = "gp3"
# GiB added to the parent AMI's root volume when Image.RootVolume.Size is not set. ParallelCluster
# 3.12.0 added 32, and 3.16.1 (`PCLUSTER_RESERVED_VOLUME_SIZE`) adds 37.
RESERVED_VOLUME_SIZE = 37
AMI_NAME_SUFFIX = " {{ imagebuilder:buildDate }}"
# Working directory of the build, as ParallelCluster 3.16.1 sets it on the image recipe.
WORKING_DIRECTORY = "/opt/parallelcluster/tmp"

# Limits of the AWS::ImageBuilder resource schemas (cfn-lint 1.58 copy of the CloudFormation
# registry) and of CloudFormation itself.
MAX_RESOURCE_NAME_LENGTH = 128
MAX_AMI_NAME_LENGTH = 127
AMI_NAME_PATTERN = re.compile(r"^[-_A-Za-z0-9{][-_A-Za-z0-9\s:{}\.]+[-_A-Za-z0-9}]$")
COMPONENT_ARN_PATTERN = re.compile(
    r"^arn:aws[^:]*:imagebuilder:[^:]+:(?:[0-9]{12}|aws(?:-[a-z-]+)?|third-party):component/[a-z0-9-_]+/"
    r"(?:(?:([0-9]+|x)\.([0-9]+|x)\.([0-9]+|x))|(?:[0-9]+\.[0-9]+\.[0-9]+/[0-9]+))$"
)
MIN_VOLUME_SIZE = 1
MAX_VOLUME_SIZE = 16000
MAX_PARAMETER_VALUE_BYTES = 4096
LAUNCH_PERMISSION_KEYS = ("UserIds", "UserGroups", "OrganizationArns", "OrganizationalUnitArns")
CLI_ATTRIBUTE_OVERRIDES = "DevSettings.CliAttributeOverrides"
# Characters that end or expand a double-quoted bash string, or end a double-quoted YAML string.
SHELL_UNSAFE_CHARACTERS = frozenset('"$`\\\n\r')

# The stack's UUID, the last part of its id: it makes the names of shared resources unique.
_STACK_UUID = {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}


@dataclass(frozen=True)
class ParentImageInfo:
    """The parent AMI facts the template needs, read from EC2 DescribeImages."""

    ami_id: str
    root_device_name: str
    root_volume_size: int  # GiB
    architecture: str
    description: str = ""


def recipe_name(image_id: str) -> str:
    """Return the image recipe name, which also names the Image Builder log group.

    ParallelCluster cuts the name at 1024 characters, but Image Builder accepts at most 128, so
    pcimage cuts it at 128. Two image ids that share their first 107 characters then share a
    recipe name, and the second build fails while the first one's recipe exists.
    """
    return f"{RESOURCE_NAME_PREFIX}-{image_id}"[:MAX_RESOURCE_NAME_LENGTH]


def build_log_group(image_id: str) -> str:
    """Return the CloudWatch log group that Image Builder writes the build log to."""
    return f"/aws/imagebuilder/{recipe_name(image_id)}"


def image_name(image_id: str, config: Mapping[str, Any]) -> str:
    """Return Image.Name, or the image id when the name is absent or empty."""
    return _get(config, "Image", "Name") or image_id


def base_version(version: str) -> str:
    """Return the MAJOR.MINOR.PATCH prefix of `version`, the form Image Builder versions take."""
    match = re.match(r"^(\d+\.\d+\.\d+)", version)
    if not match:
        raise ValueError(f"version {version!r} does not start with MAJOR.MINOR.PATCH: pass a release such as 3.16.1")
    return match.group(1)


def render_template(
    image_id: str,
    config: Mapping[str, Any],
    *,
    parent_image: ParentImageInfo,
    version: str,
) -> dict[str, Any]:
    """Render the CloudFormation template that builds `image_id` from a normalized image config.

    `version` is the ParallelCluster release the image is built for (pcimage passes 3.16.1): it
    goes into the AMI tags and picks the released cookbook, and Image Builder resources get its
    MAJOR.MINOR.PATCH part. Raises BadRequestError when the config would give a template that
    Image Builder rejects, for example an AMI name longer than 127 characters.

    TODO: the stack still lacks ParallelCluster's cleanup machinery (SNS topic, Lambda function
    that tags the AMI `parallelcluster:build_status=available` and deletes the stack) and the S3
    artifacts (uploaded config, `s3_bucket`, `s3_image_dir` and `build_config` tags). Until it
    has them, a finished build leaves its stack in place, and its AMI is never marked available, so
    the image stays BUILD_IN_PROGRESS.
    """
    recipe_version = base_version(version)
    tags = _build_tags(image_id, config)
    resources: dict[str, Any] = {}

    instance_profile_name = _add_iam_resources(resources, config, tags)
    resources["InfrastructureConfiguration"] = _infrastructure_configuration(config, tags, instance_profile_name)
    recipe_components = _add_components(resources, config, tags, recipe_version)
    resources["ImageRecipe"] = _image_recipe(image_id, config, tags, recipe_version, recipe_components, parent_image)
    resources["DistributionConfiguration"] = _distribution_configuration(image_id, config, tags, version)
    resources[RESOURCE_NAME_PREFIX] = {
        "Type": "AWS::ImageBuilder::Image",
        "Properties": {
            "ImageRecipeArn": {"Ref": "ImageRecipe"},
            "InfrastructureConfigurationArn": {"Ref": "InfrastructureConfiguration"},
            "DistributionConfigurationArn": {"Ref": "DistributionConfiguration"},
            "EnhancedImageMetadataEnabled": False,
            "Tags": tags,
        },
    }

    template: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"pcimage build of image {image_id} with EC2 Image Builder",
    }
    # ParallelCluster declares its parameters even without the install component. pcimage leaves
    # them out then, because no other component reads them and cfn-lint warns (W2001) about
    # unused parameters.
    if "ParallelClusterComponent" in resources:
        template["Parameters"] = _parameters(config, version)
    template["Resources"] = resources
    return template


# -- Tags --------------------------------------------------------------------------------------- #


def _build_tags(image_id: str, config: Mapping[str, Any]) -> dict[str, str]:
    """Return Build.Tags plus the image id and name, as a map: a repeated key keeps its last value."""
    tags = _tag_map(_get(config, "Build", "Tags", default=()))
    tags[IMAGE_ID_TAG] = image_id
    tags[IMAGE_NAME_TAG] = image_name(image_id, config)
    return tags


def _ami_tags(image_id: str, config: Mapping[str, Any], version: str) -> dict[str, Any]:
    tags: dict[str, Any] = _tag_map(_get(config, "Image", "Tags", default=()))
    tags[IMAGE_NAME_TAG] = image_name(image_id, config)
    tags[VERSION_TAG] = version
    tags[IMAGE_ID_TAG] = image_id
    tags[BUILD_LOG_TAG] = {
        "Fn::Sub": f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{build_log_group(image_id)}"
    }
    return tags


def _tag_map(tags: Iterable[Mapping[str, str]]) -> dict[str, Any]:
    return {tag["Key"]: tag["Value"] for tag in tags}


def _tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


# -- IAM and infrastructure --------------------------------------------------------------------- #


def _add_iam_resources(resources: dict[str, Any], config: Mapping[str, Any], tags: Mapping[str, str]) -> Any:
    """Add the instance role and profile the build needs, and return the instance profile name to use.

    A user's InstanceProfile is used as is. A user's InstanceRole gets a generated profile.
    Otherwise both the role and the profile are generated.
    """
    user_role = _get(config, "Build", "Iam", "InstanceRole")
    user_profile = _get(config, "Build", "Iam", "InstanceProfile")
    if user_profile and not user_role:
        return _arn_resource_name(user_profile)

    if user_role:
        profile_roles: list[Any] = [_arn_resource_name(user_role)]
    else:
        resources["InstanceRole"] = _instance_role(config, tags)
        profile_roles = [{"Ref": "InstanceRole"}]

    resources["InstanceProfile"] = {
        "Type": "AWS::IAM::InstanceProfile",
        "Properties": {
            "InstanceProfileName": _stack_unique_name(RESOURCE_NAME_PREFIX),
            "Path": IAM_PATH,
            "Roles": profile_roles,
        },
    }
    return {"Ref": "InstanceProfile"}


def _instance_role(config: Mapping[str, Any], tags: Mapping[str, str]) -> dict[str, Any]:
    build = config["Build"]
    managed_policies: list[Any] = [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"},
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/EC2InstanceProfileForImageBuilder"},
    ]
    managed_policies += [item["Policy"] for item in _get(build, "Iam", "AdditionalIamPolicies", default=())]

    # The tag component tags the new AMI from the test instance. Script components and a custom
    # cookbook hosted on S3 are downloaded with the instance's credentials.
    statements: list[dict[str, Any]] = [
        {
            "Effect": "Allow",
            "Action": ["ec2:CreateTags", "ec2:ModifyImageAttribute"],
            "Resource": {"Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}::image/*"},
        }
    ]
    for component in build.get("Components") or ():
        if component["Type"] == "script" and _url_scheme(component["Value"]) == "s3":
            statements.append(_s3_get_object_statement(component["Value"]))
    cookbook = _get(config, "DevSettings", "Cookbook", "ChefCookbook") or ""
    if _url_scheme(cookbook) == "s3" and not _dev_setting(config, "DisablePclusterComponent", False):
        statements.append(_s3_get_object_statement(cookbook))

    properties: dict[str, Any] = {
        "RoleName": _stack_unique_name(RESOURCE_NAME_PREFIX),
        "Path": IAM_PATH,
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": {"Fn::Sub": "ec2.${AWS::URLSuffix}"}},
                    "Action": "sts:AssumeRole",
                }
            ],
        },
        "ManagedPolicyArns": managed_policies,
        "Policies": [
            {
                "PolicyName": "InstanceRoleInlinePolicy",
                "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
            }
        ],
        "Tags": _tag_list(tags),
    }
    boundary = _get(build, "Iam", "PermissionsBoundary")
    if boundary:
        properties["PermissionsBoundary"] = boundary
    return {"Type": "AWS::IAM::Role", "Properties": properties}


def _s3_get_object_statement(url: str) -> dict[str, Any]:
    parsed = urlparse(url)
    object_path = f"{parsed.netloc}/{parsed.path.lstrip('/')}"
    # Fn::Join rather than Fn::Sub, so a `${` in the object key stays literal.
    return {
        "Effect": "Allow",
        "Action": ["s3:GetObject"],
        "Resource": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::", object_path]]},
    }


def _infrastructure_configuration(
    config: Mapping[str, Any], tags: Mapping[str, str], instance_profile_name: Any
) -> dict[str, Any]:
    build = config["Build"]
    imds_support = _get(build, "Imds", "ImdsSupport", default="v2.0")
    properties: dict[str, Any] = {
        "Name": _stack_unique_name(RESOURCE_NAME_PREFIX),
        "InstanceProfileName": instance_profile_name,
        "InstanceTypes": [build["InstanceType"]],
        "TerminateInstanceOnFailure": _dev_setting(config, "TerminateInstanceOnFailure", True),
        "InstanceMetadataOptions": {"HttpTokens": "required" if imds_support == "v2.0" else "optional"},
        "Tags": tags,
        "ResourceTags": tags,
    }
    if build.get("SecurityGroupIds"):
        properties["SecurityGroupIds"] = list(build["SecurityGroupIds"])
    if build.get("SubnetId"):
        properties["SubnetId"] = build["SubnetId"]
    return {"Type": "AWS::ImageBuilder::InfrastructureConfiguration", "Properties": properties}


# -- Components and recipe ---------------------------------------------------------------------- #


def _add_components(
    resources: dict[str, Any], config: Mapping[str, Any], tags: Mapping[str, str], recipe_version: str
) -> list[dict[str, Any]]:
    """Add the component resources and return the recipe's component list, in build order.

    The order is ParallelCluster's: OS update, ParallelCluster install, AMI tagging, the user's
    components in config order, then the test component.
    """
    recipe_components: list[dict[str, Any]] = []

    def add(logical_id: str, name: str, description: str, data: Any) -> None:
        resources[logical_id] = {
            "Type": "AWS::ImageBuilder::Component",
            "Properties": {
                "Name": _stack_unique_name(name),
                "Version": recipe_version,
                "Description": description,
                "Platform": "Linux",
                "Data": data,
                "Tags": tags,
            },
        }
        recipe_components.append({"ComponentArn": {"Ref": logical_id}})

    build = config["Build"]
    pcluster_component = not _dev_setting(config, "DisablePclusterComponent", False)

    if _get(build, "UpdateOsPackages", "Enabled", default=False):
        disable_kernel_update = _dev_setting(config, "DisableKernelUpdate", False)
        add(
            "UpdateOSComponent",
            f"{RESOURCE_NAME_PREFIX}-UpdateOS",
            "Update OS and Reboot",
            update_os_document(disable_kernel_update),
        )
    if pcluster_component:
        cookbook = _get(config, "DevSettings", "Cookbook", "ChefCookbook") or ""
        add(
            "ParallelClusterComponent",
            RESOURCE_NAME_PREFIX,
            "Install ParallelCluster software stack",
            {"Fn::Sub": parallelcluster_document(_url_scheme(cookbook) == "s3")},
        )
    add(
        "ParallelClusterTagComponent",
        f"{RESOURCE_NAME_PREFIX}-Tag",
        "Tag ParallelCluster AMI",
        tag_document(),
    )

    # ParallelCluster leaves script components untagged, but pcimage tags them like every other
    # Image Builder resource.
    script_index = 0
    for position, component in enumerate(build.get("Components") or ()):
        value = component["Value"]
        if component["Type"] == "arn":
            if not COMPONENT_ARN_PATTERN.match(value):
                raise BadRequestError(
                    f"Build.Components[{position}].Value {value!r} is not an Image Builder component ARN: "
                    "expected arn:<partition>:imagebuilder:<region>:<owner>:component/<name>/<version>"
                )
            recipe_components.append({"ComponentArn": value})
            continue
        script_name = urlparse(value).path.rsplit("/", 1)[-1]
        add(
            f"ScriptComponent{script_index}",
            f"{RESOURCE_NAME_PREFIX}-Script-{script_index}",
            f"Run the script {script_name} from {value}"[:1024],
            script_document(value, script_index),
        )
        script_index += 1

    if pcluster_component and not _dev_setting(config, "DisableValidateAndTest", True):
        add(
            "ParallelClusterTestComponent",
            f"{RESOURCE_NAME_PREFIX}-Test",
            "Test ParallelCluster AMI",
            install_check_document(),
        )
    return recipe_components


def _image_recipe(
    image_id: str,
    config: Mapping[str, Any],
    tags: Mapping[str, str],
    recipe_version: str,
    components: list[dict[str, Any]],
    parent_image: ParentImageInfo,
) -> dict[str, Any]:
    return {
        "Type": "AWS::ImageBuilder::ImageRecipe",
        "Properties": {
            "Name": recipe_name(image_id),
            "Version": recipe_version,
            "ParentImage": config["Build"]["ParentImage"],
            "WorkingDirectory": WORKING_DIRECTORY,
            "Components": components,
            "BlockDeviceMappings": [
                {"DeviceName": parent_image.root_device_name, "Ebs": _root_volume(config, parent_image)},
            ],
            "Tags": tags,
        },
    }


def _root_volume(config: Mapping[str, Any], parent_image: ParentImageInfo) -> dict[str, Any]:
    root_volume = _get(config, "Image", "RootVolume", default={})
    size = root_volume.get("Size")
    if size is None:
        size = parent_image.root_volume_size + RESERVED_VOLUME_SIZE
    elif not MIN_VOLUME_SIZE <= size <= MAX_VOLUME_SIZE:
        raise BadRequestError(
            f"Image.RootVolume.Size {size} is invalid: Image Builder accepts "
            f"{MIN_VOLUME_SIZE} to {MAX_VOLUME_SIZE} GiB"
        )

    ebs: dict[str, Any] = {
        "VolumeSize": size,
        "VolumeType": ROOT_VOLUME_TYPE,
        "Encrypted": bool(root_volume.get("Encrypted", False)),
    }
    if root_volume.get("KmsKeyId"):
        ebs["KmsKeyId"] = root_volume["KmsKeyId"]
    return ebs


# -- Distribution ------------------------------------------------------------------------------- #


def _distribution_configuration(
    image_id: str, config: Mapping[str, Any], tags: Mapping[str, str], version: str
) -> dict[str, Any]:
    ami_distribution: dict[str, Any] = {
        "Name": _ami_name(image_id, config),
        "AmiTags": _ami_tags(image_id, config, version),
    }
    launch_permission = _launch_permission(config)
    if launch_permission is not None:
        ami_distribution["LaunchPermissionConfiguration"] = launch_permission

    distributions = [
        {"Region": region, "AmiDistributionConfiguration": ami_distribution} for region in _distribution_regions(config)
    ]
    return {
        "Type": "AWS::ImageBuilder::DistributionConfiguration",
        "Properties": {
            "Name": _stack_unique_name(RESOURCE_NAME_PREFIX),
            "Distributions": distributions,
            "Tags": tags,
        },
    }


def _ami_name(image_id: str, config: Mapping[str, Any]) -> str:
    name = image_name(image_id, config) + AMI_NAME_SUFFIX
    source = "Image.Name" if _get(config, "Image", "Name") else "the image id (Image.Name is not set)"
    if len(name) > MAX_AMI_NAME_LENGTH:
        limit = MAX_AMI_NAME_LENGTH - len(AMI_NAME_SUFFIX)
        raise BadRequestError(
            f"AMI name {name!r} is {len(name)} characters, more than the {MAX_AMI_NAME_LENGTH} Image Builder "
            f"accepts: it is built from {source}, so set Image.Name to at most {limit} characters"
        )
    if not AMI_NAME_PATTERN.match(name):
        raise BadRequestError(
            f"AMI name {name!r} is invalid: it is built from {source}, which may contain only letters, digits, "
            "spaces and the characters - _ . : { }, and must start and end with a letter, digit, - or _"
        )
    return name


def _distribution_regions(config: Mapping[str, Any]) -> list[Any]:
    """Return DistributionConfiguration.Regions without blanks and repeats, or the stack's region.

    ParallelCluster puts the regions in a set, so its order varies from run to run. pcimage keeps
    the order of the config.
    """
    text = _get(config, "DevSettings", "DistributionConfiguration", "Regions") or ""
    regions = list(dict.fromkeys(region.strip() for region in text.split(",") if region.strip()))
    return regions or [{"Ref": "AWS::Region"}]


def _launch_permission(config: Mapping[str, Any]) -> dict[str, list[str]] | None:
    text = _get(config, "DevSettings", "DistributionConfiguration", "LaunchPermission")
    if not text:
        return None

    where = "DevSettings.DistributionConfiguration.LaunchPermission"
    try:
        permission = json.loads(text)
    except json.JSONDecodeError as error:
        raise BadRequestError(f"{where} is not valid JSON: {error}") from None
    expected = "expected a JSON object whose keys are among " + ", ".join(LAUNCH_PERMISSION_KEYS)
    if not isinstance(permission, dict):
        raise BadRequestError(f"{where} {text!r} is invalid: {expected}")
    for key, value in permission.items():
        if key not in LAUNCH_PERMISSION_KEYS:
            raise BadRequestError(f"{where} has the unknown key {key!r}: {expected}")
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise BadRequestError(f"{where} key {key!r} must be a list of strings, not {json.dumps(value)}")
    return permission


# -- Parameters and Chef attributes ------------------------------------------------------------- #


def _parameters(config: Mapping[str, Any], version: str) -> dict[str, Any]:
    """Return the parameters the ParallelCluster component reads through Fn::Sub.

    They are ParallelCluster 3.16.1's parameters with its defaults, except that an s3:// cookbook
    stays an s3:// URL. User values reach the component document through parameters, so Fn::Sub
    never has to escape a `${` inside them. Raises BadRequestError for a value that is over the
    CloudFormation size limit or that the install script cannot quote.
    """
    overrides = _cli_attribute_overrides(config)
    attributes = chef_attributes(config)
    chef_attributes_text = json.dumps(attributes, sort_keys=True)
    size = len(chef_attributes_text.encode())
    if size > MAX_PARAMETER_VALUE_BYTES:
        raise BadRequestError(
            f"the Chef attributes built from DevSettings.Cookbook.ExtraChefAttributes are {size} bytes, more than "
            f"the {MAX_PARAMETER_VALUE_BYTES} bytes of a CloudFormation parameter value: shorten ExtraChefAttributes"
        )
    cookbook = _get(config, "DevSettings", "Cookbook", "ChefCookbook") or ""
    update_os = _get(config, "Build", "UpdateOsPackages", "Enabled", default=False)
    official_build = _official_build_text(attributes["cluster"]["is_official_ami_build"])

    # The install document puts these values inside double-quoted bash strings, or, for an s3://
    # cookbook, a double-quoted YAML string.
    shell_values = {
        "DevSettings.Cookbook.ChefCookbook": cookbook,
        f"{CLI_ATTRIBUTE_OVERRIDES} key 'cinc_installer_url'": overrides["cinc_installer_url"],
        f"{CLI_ATTRIBUTE_OVERRIDES} key 'cinc_version'": overrides["cinc_version"],
        "DevSettings.Cookbook.ExtraChefAttributes key 'cluster.is_official_ami_build'": official_build,
    }
    for where, value in shell_values.items():
        _check_parameter_value(where, value)

    return {
        "CfnParamCookbookVersion": {"Type": "String", "Default": version, "Description": "Cookbook version"},
        "CfnParamChefCookbook": {
            "Type": "String",
            "Default": cookbook,
            "Description": "Cookbook archive URL (https or s3), or empty for the released cookbook",
        },
        "CfnParamCincInstaller": {
            "Type": "String",
            "Default": overrides["cinc_installer_url"],
            "Description": "Cinc installer URL, or empty for the installer ParallelCluster hosts",
        },
        "CfnParamCincVersion": {
            "Type": "String",
            "Default": overrides["cinc_version"],
            "Description": f"Cinc client version, or empty for {CINC_VERSION}",
        },
        "CfnParamChefDnaJson": {"Type": "String", "Default": chef_attributes_text, "Description": "Chef attributes"},
        "CfnParamUpdateOsAndReboot": {
            "Type": "String",
            "Default": "true" if update_os else "false",
            "Description": "Whether the OS update component runs before the ParallelCluster component (true or false)",
        },
        "CfnParamIsOfficialAmiBuild": {
            "Type": "String",
            "Default": official_build,
            "Description": "Argument of the cookbook's ami_cleanup.sh: true for an official ParallelCluster AMI",
        },
    }


def _cli_attribute_overrides(config: Mapping[str, Any]) -> dict[str, str]:
    """Return the Cinc installer URL and version from DevSettings.CliAttributeOverrides, "" where unset.

    ParallelCluster 3.16.1 reads only `cinc_installer_url` and `cinc_version` from this JSON object
    and ignores other keys. A null or empty value counts as unset.
    """
    overrides = {"cinc_installer_url": "", "cinc_version": ""}
    text = _dev_setting(config, "CliAttributeOverrides", "")
    if not text:
        return overrides

    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as error:
        raise BadRequestError(f"{CLI_ATTRIBUTE_OVERRIDES} is not valid JSON: {error}") from None
    if not isinstance(parsed, dict):
        raise BadRequestError(f"{CLI_ATTRIBUTE_OVERRIDES} {text!r} is invalid: expected a JSON object")
    for key in overrides:
        value = parsed.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise BadRequestError(
                f"{CLI_ATTRIBUTE_OVERRIDES} key {key!r} must be a string, not {json.dumps(value)}, "
                'so write it in quotes, such as {"cinc_version": "18.4.12"}'
            )
        overrides[key] = value
    return overrides


def _official_build_text(value: Any) -> str:
    """Return the CfnParamIsOfficialAmiBuild value for the `cluster.is_official_ami_build` attribute.

    ParallelCluster 3.16.1 passes a false, empty or null value as "false", and a string as it is.
    pcimage writes other JSON values as JSON text, so true becomes "true".
    """
    if not value:
        return "false"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _check_parameter_value(where: str, value: str) -> None:
    size = len(value.encode())
    if size > MAX_PARAMETER_VALUE_BYTES:
        raise BadRequestError(
            f"{where} is {size} bytes, more than the {MAX_PARAMETER_VALUE_BYTES} bytes of a CloudFormation "
            "parameter value: shorten it"
        )
    bad = sorted({char for char in value if char in SHELL_UNSAFE_CHARACTERS})
    if bad:
        raise BadRequestError(
            f"{where} {value!r} is invalid: it contains {' '.join(map(repr, bad))}, which the install script "
            "cannot quote, so remove them, or percent-encode them in a URL"
        )


def chef_attributes_json(config: Mapping[str, Any]) -> str:
    """Return the Chef attributes JSON the install component passes to cinc-client, keys sorted."""
    return json.dumps(chef_attributes(config), sort_keys=True)


def chef_attributes(config: Mapping[str, Any]) -> dict[str, Any]:
    """Return the Chef attributes the install component passes to cinc-client.

    The `cluster` object contains the keys ParallelCluster 3.16.1 sets, with its defaults, and
    takes `nvidia` and `lustre` from Build.Installation. pcimage reads `region` on the build
    instance. ParallelCluster writes the region it renders the template in, which is the same
    region, because the stack builds there.
    DevSettings.Cookbook.ExtraChefAttributes may add keys at any level, and a key it sets under
    `cluster` replaces the default. As in ParallelCluster, a null `cluster` counts as empty.
    """
    extra_text = _get(config, "DevSettings", "Cookbook", "ExtraChefAttributes") or ""
    extra: dict[str, Any] = {}
    if extra_text:
        where = "DevSettings.Cookbook.ExtraChefAttributes"
        try:
            extra = json.loads(extra_text)
        except json.JSONDecodeError as error:
            raise BadRequestError(f"{where} is not valid JSON: {error}") from None
        if not isinstance(extra, dict) or not isinstance(extra.get("cluster") or {}, dict):
            raise BadRequestError(f"{where} {extra_text!r} is invalid: expected a JSON object whose 'cluster' is an object")

    nvidia = _get(config, "Build", "Installation", "NvidiaSoftware", "Enabled", default=False)
    lustre = _get(config, "Build", "Installation", "LustreClient", "Enabled", default=True)
    cluster = {
        "base_os": "{{ build.OperatingSystemName.outputs.stdout }}",
        "region": "{{ build.AWSRegion.outputs.stdout }}",
        "custom_node_package": _dev_setting(config, "NodePackage", "") or "",
        "disable_kernel_update": "true" if _dev_setting(config, "DisableKernelUpdate", False) else "false",
        "is_official_ami_build": "false",
        "lustre": {"enabled": "yes" if lustre else "no"},
        "nvidia": {"enabled": "yes" if nvidia else "no"},
        "slurm_patches_s3_archive": "",
    }
    cluster.update(extra.get("cluster") or {})
    return {**extra, "cluster": cluster}


# -- Helpers ------------------------------------------------------------------------------------ #


def _get(mapping: Mapping[str, Any] | None, *keys: str, default: Any = None) -> Any:
    """Return the value under `keys` in nested mappings, or `default` where a key is absent or null."""
    value: Any = mapping
    for key in keys:
        if not isinstance(value, Mapping) or value.get(key) is None:
            return default
        value = value[key]
    return value


def _dev_setting(config: Mapping[str, Any], key: str, default: Any) -> Any:
    return _get(config, "DevSettings", key, default=default)


def _stack_unique_name(name: str) -> dict[str, Any]:
    """Return `<name>-<stack UUID>`, the name ParallelCluster gives resources that need one per stack."""
    return {"Fn::Join": ["-", [name, _STACK_UUID]]}


def _arn_resource_name(arn: str) -> str:
    """Return the last `/` segment of an IAM ARN: the role or instance profile name without its path."""
    return arn.rsplit("/", 1)[-1]


def _url_scheme(url: str) -> str:
    return urlparse(url).scheme
