"""pcimage's schema verdict, through the real loader and checker, against ParallelCluster's.

The configs and ParallelCluster 3.16.1's recorded responses live in tests/schemas/configs/ (see
record_reference_verdicts.py there). Each was run with every validator suppressed, so its verdict
is the schema's alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pcimage.engine import check_schema, load_yaml

CONFIG_DIR = Path(__file__).parent.parent / "schemas" / "configs"

# Deliberate differences, listed in the README: ParallelCluster crashes with HTTP 500 on a missing
# component Type or Value and on missing distribution Regions, and it never applies its own
# Image.Name pattern.
PCIMAGE_VERDICTS = {
    "component-type-missing": "invalid",
    "distribution-regions-missing": "invalid",
    "image-name-off-pattern": "invalid",
    "image-name-empty": "invalid",
}

CASES = sorted(path.stem for path in CONFIG_DIR.glob("*.yaml"))


def test_reference_configs_present():
    assert len(CASES) >= 30


@pytest.mark.parametrize("name", CASES)
def test_schema_verdict_matches_reference(name):
    recorded = json.loads((CONFIG_DIR / f"{name}.reference.json").read_text(encoding="utf-8"))
    expected = PCIMAGE_VERDICTS.get(name, recorded["verdict"])

    result = check_schema(load_yaml((CONFIG_DIR / f"{name}.yaml").read_bytes()))

    verdict = "invalid" if result.messages else "valid"
    assert verdict == expected, [message.message for message in result.messages]
    for message in result.messages:
        assert message.line is not None, message
