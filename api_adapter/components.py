"""The AWSTOE component documents of the image build: OS update, ParallelCluster install, AMI
tagging, script wrapper and install check.

They are pcimage's own, shorter versions of ParallelCluster 3.16.1's documents, and
`template.render_template` puts them into the AWS::ImageBuilder::Component resources.
"""

from __future__ import annotations

import io
import textwrap
from typing import Any
from urllib.parse import urlparse

from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString

# Cinc (the open-source build of Chef) as ParallelCluster 3.16.1 installs it.
CINC_VERSION = "19.3.14"
DEFAULT_CINC_INSTALLER = (
    "https://${AWS::Region}-aws-parallelcluster.s3.${AWS::Region}.${AWS::URLSuffix}/archives/cinc/cinc-install-1.4.0.sh"
)
DEFAULT_COOKBOOK_URL = (
    "https://${AWS::Region}-aws-parallelcluster.s3.${AWS::Region}.${AWS::URLSuffix}"
    "/parallelcluster/${CfnParamCookbookVersion}/cookbooks/aws-parallelcluster-cookbook-${CfnParamCookbookVersion}.tgz"
)

# AWSTOE documents (schemaVersion 1.0) built as data and written out as YAML. A document given to
# Fn::Sub may use `${...}` only for template parameters and pseudo parameters, so its shell code
# writes variables as `$NAME`. The other documents avoid `${` too, because cfn-lint reports it
# in a string that is not under Fn::Sub.
#
# NOTE: these documents are checked for structure and shell syntax only, and none has run on a
# build instance yet.

# Prints the ParallelCluster name of the operating system, for example alinux2023 or ubuntu2204.
_OS_NAME_SCRIPT = """\
. /etc/os-release
case "$ID" in
  amzn) echo "alinux$VERSION_ID" ;;
  ubuntu) echo "ubuntu$(echo "$VERSION_ID" | tr -d .)" ;;
  rhel|rocky) echo "$ID$(echo "$VERSION_ID" | cut -d. -f1)" ;;
  *) echo "unsupported operating system: $ID $VERSION_ID" >&2; exit 1 ;;
esac
"""

# Stops the apt timers, whose runs would hold the dpkg lock during the build, and turns off
# unattended upgrades in the AMI, as ParallelCluster 3.16.1 does on Ubuntu.
_DISABLE_APT_UPDATES = (
    "flock /var/lib/apt/daily_lock systemctl disable --now "
    "apt-daily.timer apt-daily.service apt-daily-upgrade.timer apt-daily-upgrade.service "
    '|| echo "WARNING: could not disable the apt timers"\n'
    "printf 'APT::Periodic::Update-Package-Lists \"0\";\\nAPT::Periodic::Unattended-Upgrade \"0\";\\n' "
    "> /etc/apt/apt.conf.d/51pcluster-unattended-upgrades\n"
)

_IMDS_TOKEN = 'TOKEN=$(curl -sf -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 300" http://169.254.169.254/latest/api/token)\n'


def _bash_step(name: str, script: str) -> dict[str, Any]:
    return {"name": name, "action": "ExecuteBash", "inputs": {"commands": [LiteralScalarString(script)]}}


def _document(name: str, description: str, phases: list[dict[str, Any]]) -> str:
    yaml = YAML()
    yaml.width = 4096  # never fold a long URL or command line
    yaml.indent(mapping=2, sequence=4, offset=2)
    stream = io.StringIO()
    yaml.dump({"name": name, "description": description, "schemaVersion": 1.0, "phases": phases}, stream)
    return stream.getvalue()


def update_os_document(disable_kernel_update: bool) -> str:
    if disable_kernel_update:
        apt_hold = "apt-mark hold $(dpkg -l 'linux-*' | awk '/^ii/ {print $2}' | grep -E '^linux-(aws|image|headers|modules)')\n"
        rpm_exclude = " --exclude='kernel*'"
    else:
        apt_hold = ""
        rpm_exclude = ""
    script = (
        "set -euxo pipefail\n"
        "if command -v apt-get >/dev/null; then\n"
        "  export DEBIAN_FRONTEND=noninteractive\n"
        f"{textwrap.indent(_DISABLE_APT_UPDATES, '  ')}"
        "  apt-get update\n"
        f"  {apt_hold}"
        "  apt-get -y upgrade\n"
        "elif command -v dnf >/dev/null; then\n"
        f"  dnf -y upgrade{rpm_exclude}\n"
        "else\n"
        f"  yum -y update{rpm_exclude}\n"
        "fi\n"
    )
    steps = [
        _bash_step("UpdateOS", script),
        {"name": "Reboot", "action": "Reboot", "onFailure": "Abort", "maxAttempts": 2, "inputs": {"delaySeconds": 10}},
    ]
    return _document(
        "ParallelClusterUpdateOS",
        "Update the operating system packages, then reboot",
        [{"name": "build", "steps": steps}],
    )


def parallelcluster_document(cookbook_from_s3: bool) -> str:
    """Return the install document: Cinc, the ParallelCluster cookbook, one Chef run, then the
    cookbook's AMI cleanup.

    `cookbook_from_s3` is whether DevSettings.Cookbook.ChefCookbook is an s3:// URL.
    """
    cookbook_archive = "/etc/chef/aws-parallelcluster-cookbook.tgz"
    if cookbook_from_s3:
        # The instance downloads from S3 with its own credentials, whereas ParallelCluster bakes in
        # a presigned URL that expires an hour after the template is rendered. A generated role
        # gets s3:GetObject on the archive, but a user's InstanceRole or InstanceProfile needs it.
        download_cookbook = {
            "name": "DownloadCookbook",
            "action": "S3Download",
            # Quoted, so the URL that Fn::Sub puts in stays one YAML string.
            "inputs": [{"source": DoubleQuotedScalarString("${CfnParamChefCookbook}"), "destination": cookbook_archive}],
        }
    else:
        download_cookbook = _bash_step(
            "DownloadCookbook",
            "set -euxo pipefail\n"
            f'COOKBOOK_URL="{DEFAULT_COOKBOOK_URL}"\n'
            '[ -n "${CfnParamChefCookbook}" ] && COOKBOOK_URL="${CfnParamChefCookbook}"\n'
            f'curl --retry 3 -fsSL -o {cookbook_archive} "$COOKBOOK_URL"\n',
        )

    steps = [
        _bash_step("OperatingSystemName", _OS_NAME_SCRIPT),
        _bash_step("AWSRegion", "echo ${AWS::Region}\n"),
        _bash_step(
            "DisableAptUpdates",
            "set -euxo pipefail\n"
            "# The OS update component has done this already when it ran.\n"
            'if [ "${CfnParamUpdateOsAndReboot}" = "false" ] && command -v apt-get >/dev/null; then\n'
            f"{textwrap.indent(_DISABLE_APT_UPDATES, '  ')}"
            "fi\n",
        ),
        _bash_step(
            "InstallCinc",
            "set -euxo pipefail\n"
            f'CINC_URL="{DEFAULT_CINC_INSTALLER}"\n'
            '[ -n "${CfnParamCincInstaller}" ] && CINC_URL="${CfnParamCincInstaller}"\n'
            f'CINC_VERSION="{CINC_VERSION}"\n'
            '[ -n "${CfnParamCincVersion}" ] && CINC_VERSION="${CfnParamCincVersion}"\n'
            'curl --retry 3 -fsSL "$CINC_URL" | bash -s -- -v "$CINC_VERSION"\n',
        ),
        download_cookbook,
        _bash_step(
            "InstallCookbook",
            "set -euxo pipefail\n"
            "mkdir -p /etc/chef /etc/parallelcluster\n"
            "# The archive's top folder contains cookbooks/, which lands in /etc/chef/cookbooks.\n"
            f"tar -xzf {cookbook_archive} -C /etc/chef --strip-components 1\n"
            "grep -Eq \"^version +['\\\"]${CfnParamCookbookVersion}['\\\"]\" "
            "/etc/chef/cookbooks/aws-parallelcluster-entrypoints/metadata.rb "
            '|| echo "WARNING: the cookbook is not version ${CfnParamCookbookVersion}"\n'
            "echo \"cookbook_path ['/etc/chef/cookbooks']\" > /etc/chef/client.rb\n"
            "cat > /etc/parallelcluster/image_dna.json <<'PCIMAGE_CHEF_ATTRIBUTES'\n"
            "${CfnParamChefDnaJson}\n"
            "PCIMAGE_CHEF_ATTRIBUTES\n",
        ),
        _bash_step(
            "RunChef",
            "set -euxo pipefail\n"
            "cd /etc/chef\n"
            "cinc-client --local-mode --config /etc/chef/client.rb --log_level info --no-color "
            "--json-attributes /etc/parallelcluster/image_dna.json "
            "--override-runlist aws-parallelcluster-entrypoints::install\n",
        ),
        # The cookbook installs ami_cleanup.sh, which removes cloud-init state, SSH host keys,
        # temporary files and logs from the build instance before the AMI is taken.
        _bash_step("CleanUpAmi", 'set -euxo pipefail\n/usr/local/sbin/ami_cleanup.sh "${CfnParamIsOfficialAmiBuild}"\n'),
    ]
    return _document(
        "ParallelClusterInstall",
        "Install the ParallelCluster software stack with Cinc",
        [{"name": "build", "steps": steps}],
    )


def tag_document() -> str:
    """Return the document whose test phase tags the new AMI with its OS and kernel version.

    The test instance runs from the new AMI, so the instance metadata names that AMI. A failed
    tagging only prints a warning, as in ParallelCluster.
    """
    steps = [
        _bash_step("AmiId", _IMDS_TOKEN + 'curl -sf -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/ami-id\n'),
        _bash_step(
            "AWSRegion",
            _IMDS_TOKEN + 'curl -sf -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/placement/region\n',
        ),
        _bash_step("OperatingSystemName", _OS_NAME_SCRIPT),
        _bash_step(
            "TagAmi",
            "aws ec2 create-tags --region {{ test.AWSRegion.outputs.stdout }} "
            "--resources {{ test.AmiId.outputs.stdout }} "
            '--tags "Key=parallelcluster:os,Value={{ test.OperatingSystemName.outputs.stdout }}" '
            '"Key=parallelcluster:kernel_version,Value=$(uname -r)" '
            '|| echo "WARNING: could not tag AMI {{ test.AmiId.outputs.stdout }}"\n',
        ),
    ]
    return _document(
        "ParallelClusterTag",
        "Tag the ParallelCluster AMI with its OS and kernel version",
        [{"name": "test", "steps": steps}],
    )


def script_document(url: str, index: int) -> str:
    """Return the document that downloads the script at `url` (https or s3) and runs it as root."""
    path = f"/var/tmp/pcimage-script-{index}"
    download_action = "S3Download" if urlparse(url).scheme == "s3" else "WebDownload"
    steps = [
        {"name": "DownloadScript", "action": download_action, "inputs": [{"source": url, "destination": path}]},
        _bash_step("RunScript", f"set -ex\nchmod +x {path}\n{path}\n"),
    ]
    return _document(f"ParallelClusterScript{index}", "Download a script and run it", [{"name": "build", "steps": steps}])


def install_check_document() -> str:
    script = (
        "set -ex\n"
        "cinc-client --version\n"
        "test -s /etc/parallelcluster/image_dna.json\n"
    )
    return _document(
        "ParallelClusterTest",
        "Check that the ParallelCluster install left Cinc and its attributes",
        [{"name": "test", "steps": [_bash_step("CheckInstall", script)]}],
    )
