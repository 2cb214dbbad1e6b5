"""Record ParallelCluster's verdict on each reference config, for the comparison tests.

Usage:
    python tests/validators/record_reference.py REFERENCE [CONFIG.yaml ...]

REFERENCE is the command of the reference harness (the `reference` script that runs
ParallelCluster 3.16.1's `pcluster` against its local moto server). For each config, by default
every `reference/*.yaml` next to this file, it runs a dryrun build-image at failure level INFO
and writes the JSON it printed to CONFIG.json. The seeded ids in messages are written back as
`${NAME}` placeholders, so a test can fill them in from its own seeded account.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REFERENCE_DIR = Path(__file__).parent / "reference"
IMAGE_ID = "reference-image"


def placeholders_for(world: dict[str, str]) -> list[tuple[str, str]]:
    """Return (value, placeholder) pairs, longest value first so an ARN wins over the id inside it."""
    pairs = [(value, "${" + name + "}") for name, value in world.items() if value]
    return sorted(pairs, key=lambda pair: len(pair[0]), reverse=True)


def with_placeholders(text: str, pairs: list[tuple[str, str]]) -> str:
    for value, placeholder in pairs:
        text = text.replace(value, placeholder)
    return text


def record(reference: str, config: Path, pairs: list[tuple[str, str]]) -> dict:
    """Run the reference on one config and return the record written next to it."""
    completed = subprocess.run(
        [
            reference, "pcluster", "build-image", "--dryrun", "true",
            "-c", str(config), "-i", IMAGE_ID, "--validation-failure-level", "INFO",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    try:
        response = json.loads(with_placeholders(completed.stdout, pairs))
    except json.JSONDecodeError as error:
        raise RuntimeError(f"{config.name}: the reference printed no JSON ({error}):\n{completed.stdout}\n{completed.stderr}") from error

    calls = [line for line in completed.stderr.splitlines() if line.startswith("AWS API calls:")]
    messages = response.get("configurationValidationErrors", [])
    return {
        "config": config.name,
        "command": f"pcluster build-image --dryrun true -c {config.name} -i {IMAGE_ID} --validation-failure-level INFO",
        "exitStatus": completed.returncode,
        "response": response,
        "typesAndLevels": [[message["type"], message["level"]] for message in messages],
        "awsCalls": calls[-1] if calls else None,
    }


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    reference, names = argv[0], argv[1:]
    configs = [Path(name) for name in names] or sorted(REFERENCE_DIR.glob("*.yaml"))

    world = json.loads(subprocess.run([reference, "world"], capture_output=True, text=True, check=True).stdout)
    pairs = placeholders_for(world)

    for config in configs:
        result = record(reference, config, pairs)
        config.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
        print(f"{config.name}: {result['typesAndLevels']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
