"""Shared fixtures: a moto server on 127.0.0.1 for the whole run, reset and seeded per test."""

from __future__ import annotations

import hashlib
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


def _seed(local_aws):
    local_aws.reset()
    local_aws.world = seed_account()
    return local_aws.world


@pytest.fixture
def world(local_aws):
    """A fresh seeded account for one test; returns the ids of what it holds."""
    return _seed(local_aws)


@pytest.fixture
def shared_world(local_aws):
    """The seeded account as the previous test left it, seeded once if it never was.

    Resetting and seeding takes seconds, so tests that only read the account, or that create
    resources under names no other test uses (see `image_id`), share one.
    """
    return getattr(local_aws, "world", None) or _seed(local_aws)


@pytest.fixture
def image_id(request):
    """An image id that no other test uses, so tests on the shared account do not collide."""
    digest = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:12]
    return f"img-{digest}"


@pytest.fixture
def render_config(world):
    """Fill `${NAME}` placeholders in a config text with the fresh account's ids."""
    return lambda text: render(text, world)


@pytest.fixture
def render_shared(shared_world):
    """Fill `${NAME}` placeholders in a config text with the shared account's ids."""
    return lambda text: render(text, shared_world)
