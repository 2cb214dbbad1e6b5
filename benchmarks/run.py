"""Benchmarks: pcimage's dryrun against the reference's, and the bounds on large or hostile input.

Run with `make bench`. Each case is timed as the median of several runs of the whole command,
process start included, as a user meets it. Results print as a Markdown table; with
`--record FILE` they are also written there.

The comparison with ParallelCluster needs the reference harness next to this repository
(../shared/reference, after `reference setup`); without it only pcimage's own numbers are taken.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from localaws import LocalAws, render, seed_account  # noqa: E402

PCIMAGE = str(Path(sys.executable).with_name("pcimage"))
REFERENCE = ROOT.parent / "shared" / "reference" / "reference"
MINIMAL = "Build:\n  InstanceType: c5.xlarge\n  ParentImage: ${PARENT_AMI_X86}\n"
INVALID = (
    "Image:\n  RootVolume:\n    Size: 5\n    KmsKeyId: abc\n"
    "Build:\n  InstanceType: m6g.xlarge\n  ParentImage: ${PARENT_AMI_X86}\n"
)


def large_config(target_bytes: int) -> str:
    """Return a valid config of about `target_bytes`, made large by build tags."""
    lines = [MINIMAL.rstrip("\n"), "  Tags:"]
    size = sum(len(line) + 1 for line in lines)
    index = 0
    while size < target_bytes:
        entry = f"    - Key: tag-{index:07d}\n      Value: value-{index:07d}-of-a-large-configuration"
        lines.append(entry)
        size += len(entry) + 1
        index += 1
    return "\n".join(lines) + "\n"


def billion_laughs() -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 10):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 10)}]")
    return "\n".join(lines) + "\n"


def median_seconds(command: list[str], env: dict[str, str], runs: int) -> tuple[float, int]:
    timings = []
    status = 0
    for _ in range(runs):
        started = time.perf_counter()
        status = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        timings.append(time.perf_counter() - started)
    return statistics.median(timings), status


def reference_available() -> bool:
    home = Path(os.environ.get("PCIMAGE_REFERENCE_HOME", Path.home() / ".cache" / "pcimage-reference"))
    return REFERENCE.exists() and (home / "pcluster" / "bin" / "pcluster").exists()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per case; the median is reported (default: 5)")
    parser.add_argument("--record", type=Path, help="also write the results table to this Markdown file")
    arguments = parser.parse_args()

    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory() as scratch:
        server = LocalAws()
        server.start()
        try:
            env = dict(os.environ, **server.env)
            os.environ.update(server.env)
            world = seed_account()

            def config_file(name: str, text: str) -> str:
                path = Path(scratch, name)
                path.write_text(render(text, world))
                return str(path)

            minimal = config_file("minimal.yaml", MINIMAL)
            invalid = config_file("invalid.yaml", INVALID)
            large = config_file("large.yaml", large_config(1024 * 1024))
            laughs = config_file("laughs.yaml", billion_laughs())

            def pcimage(config: str, *extra: str) -> list[str]:
                return [PCIMAGE, "build-image", "-c", config, "-i", "bench-image", "--dryrun", "true", *extra]

            cases = [
                ("dryrun, minimal config, local AWS", pcimage(minimal), "minimal"),
                ("dryrun, failing config, local AWS", pcimage(invalid, "--validation-failure-level", "INFO"), "invalid"),
                ("dryrun, 1 MiB config, local AWS", pcimage(large), None),
                ("dryrun, 1 MiB config, offline", pcimage(large, "--offline"), None),
                ("dryrun, billion-laughs file, offline", pcimage(laughs, "--offline"), None),
            ]
            measured: dict[str, float] = {}
            for title, command, key in cases:
                seconds, status = median_seconds(command, env, arguments.runs)
                if key:
                    measured[key] = seconds
                rows.append((title, f"{seconds:.3f}", f"exit {status}", ""))
        finally:
            server.stop()

        if reference_available():
            rows.extend(reference_rows(scratch, measured, arguments.runs))
        else:
            rows.append(("reference comparison", "-", "skipped", "run ../shared/reference/reference setup"))

    table = render_table(rows, arguments.runs)
    print(table)
    if arguments.record:
        arguments.record.write_text(table)
    return 0


def reference_rows(scratch: str, measured: dict[str, float], runs: int) -> list[tuple[str, str, str, str]]:
    """Time the reference CLI on the same configs, each on its own seeded moto server."""
    rows = []
    for key, text in (("minimal", MINIMAL), ("invalid", INVALID)):
        path = Path(scratch, f"reference-{key}.yaml")
        path.write_text(text)
        command = [
            str(REFERENCE), "pcluster", "build-image", "-c", str(path), "-i", "bench-image", "--dryrun", "true",
            "--validation-failure-level", "INFO",
        ]
        started_here = subprocess.run([str(REFERENCE), "start", "5139"], capture_output=True).returncode == 0
        try:
            seconds, status = median_seconds(command, dict(os.environ), runs)
        finally:
            if started_here:
                subprocess.run([str(REFERENCE), "stop"], capture_output=True)
        ratio = seconds / measured[key] if measured.get(key) else float("nan")
        rows.append((f"reference dryrun, {key} config", f"{seconds:.3f}", f"exit {status}", f"pcimage {ratio:.1f}x faster"))
    return rows


def render_table(rows: list[tuple[str, str, str, str]], runs: int) -> str:
    header = (
        "# Benchmark results\n\n"
        "Written by `make bench` (benchmarks/run.py). Each time is the median of "
        f"{runs} runs of the whole command, process start included, on {platform.machine()} with "
        f"{os.cpu_count()} cores and Python {platform.python_version()}, against a local moto server. "
        "The 1 MiB config is a minimal config made large by Build.Tags. It passes validation but "
        "its build template exceeds CloudFormation's inline limit, so the dryrun on the local AWS, "
        "which renders the template, refuses it (exit 1), while the offline dryrun, which does not, "
        "passes. The reference is ParallelCluster 3.16.1's CLI on the same configs, each against "
        "its own seeded moto server.\n\n"
        "| case | seconds | outcome | note |\n|---|---|---|---|\n"
    )
    return header + "".join(f"| {a} | {b} | {c} | {d} |\n" for a, b, c, d in rows)


if __name__ == "__main__":
    sys.exit(main())
