"""Shared fixtures: a moto server on 127.0.0.1 for the whole run, reset and seeded per test."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from localaws import LocalAws, render, seed_account  # noqa: E402


@pytest.fixture(scope="session")
def local_aws():
    """Start one moto server for the session and point boto3 at it through the environment."""
    server = LocalAws()
    server.start()
    saved = {name: os.environ.get(name) for name in server.env}
    os.environ.update(server.env)
    yield server
    server.stop()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def world(local_aws):
    """A fresh seeded account for one test; returns the ids of what it holds."""
    local_aws.reset()
    return seed_account()


@pytest.fixture
def render_config(world):
    """Fill `${NAME}` placeholders in a config text with the seeded account's ids."""
    return lambda text: render(text, world)
