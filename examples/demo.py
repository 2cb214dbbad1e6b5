"""End-to-end demo on a local AWS: a dryrun verdict, then a real build of the minimal config.

Starts a moto server on 127.0.0.1, seeds it with a parent AMI and a small account, runs the
`pcimage` CLI twice, shows the stack that the build created, and stops the server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from localaws import LocalAws, render, seed_account  # noqa: E402

PCIMAGE = str(Path(sys.executable).with_name("pcimage"))


def run(title: str, *arguments: str, env: dict[str, str]) -> int:
    print(f"\n$ pcimage {' '.join(arguments)}    # {title}", flush=True)
    return subprocess.run([PCIMAGE, *arguments], env=env, check=False).returncode


def main() -> int:
    server = LocalAws()
    server.start()
    try:
        os.environ.update(server.env)
        world = seed_account()
        env = dict(os.environ)
        print(f"local AWS (moto) on {server.endpoint}; parent AMI {world['HPC_PARENT_AMI']} (hpc-parent-x86_64)")

        with tempfile.TemporaryDirectory() as scratch:
            config = Path(scratch, "image-config.yaml")
            config.write_text(render((HERE / "minimal.yaml").read_text(), world))
            print(f"\nimage configuration ({config.name}):\n{config.read_text()}", end="")

            dryrun = run("validate only", "build-image", "-c", str(config), "-i", "demo-image", "--dryrun", "true", env=env)
            build = run("create the build stack", "build-image", "-c", str(config), "-i", "demo-image", env=env)

        import boto3

        cloudformation = boto3.client("cloudformation")
        stack = cloudformation.describe_stacks(StackName="demo-image")["Stacks"][0]
        template = cloudformation.get_template(StackName="demo-image")["TemplateBody"]
        print(f"\nCloudFormation stack {stack['StackName']}: {stack['StackStatus']}, resources:")
        for logical_id, resource in template["Resources"].items():
            print(f"  {logical_id}: {resource['Type']}")
        return 0 if dryrun == 0 and build == 0 else 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
