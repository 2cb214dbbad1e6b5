"""Record ParallelCluster's schema verdict on each config under configs/ as NAME.reference.json.

Usage: python tests/schemas/record_reference_verdicts.py REFERENCE_WRAPPER [NAME ...]

REFERENCE_WRAPPER is the script that runs the `pcluster` CLI of AWS ParallelCluster 3.16.1
against a local moto server, as `REFERENCE_WRAPPER pcluster build-image ...`. Every validator is
suppressed, so the verdict is that of the schema alone (plus the crashes ParallelCluster has
where its schema lets a config through that its model cannot build).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CONFIG_DIR = Path(__file__).parent / "configs"
REFERENCE_VERSION = "aws-parallelcluster 3.16.1"
IMAGE_ID = "schema-check"
# The message of a dryrun that would have succeeded.
DRYRUN_SUCCESS = "Request would have succeeded, but DryRun flag is set."


def build_image_arguments(config: Path) -> list[str]:
    """Return the pcluster arguments that validate `config` with every validator suppressed."""
    return [
        "pcluster",
        "build-image",
        "--dryrun",
        "true",
        "-c",
        str(config),
        "-i",
        IMAGE_ID,
        "--suppress-validators",
        "ALL",
    ]


def classify(response: dict) -> str:
    """Return valid, invalid (schema or validator errors) or internal-error (an unhandled exception)."""
    if response.get("message") == DRYRUN_SUCCESS:
        return "valid"
    if "configurationValidationErrors" in response:
        return "invalid"
    return "internal-error"


def record(reference: str, config: Path) -> dict:
    """Run the reference on `config`, write NAME.reference.json next to it and return the record."""
    arguments = build_image_arguments(config)
    completed = subprocess.run(
        [reference, *arguments], capture_output=True, text=True, check=False, timeout=300
    )
    try:
        response = json.loads(completed.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(
            f"the reference printed no JSON for {config.name} (exit status {completed.returncode}): "
            f"{completed.stderr.strip()[-2000:]}. Check that its local AWS server is running."
        ) from None

    verdict = {
        "reference": REFERENCE_VERSION,
        "command": " ".join(arguments[:5] + [config.name] + arguments[6:]),
        "verdict": classify(response),
        "response": response,
    }
    target = config.with_suffix(".reference.json")
    target.write_text(json.dumps(verdict, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return verdict


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    reference, names = argv[0], argv[1:]
    configs = [CONFIG_DIR / f"{name}.yaml" for name in names] or sorted(CONFIG_DIR.glob("*.yaml"))
    for config in configs:
        verdict = record(reference, config)
        print(f"{config.stem}: {verdict['verdict']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
