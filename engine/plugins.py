"""The plugin manager that collects validators from the built-ins and from installed plugins."""

from __future__ import annotations

import functools
import logging

import pluggy

from . import hookspecs
from .hookspecs import Validator

logger = logging.getLogger(__name__)


class PluginError(Exception):
    """A plugin returned something that is not a validator, or two validators share a type name."""


def create_plugin_manager(load_entry_points: bool = True) -> pluggy.PluginManager:
    """Create a plugin manager with the hook specs added and, by default, installed plugins loaded."""
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    if load_entry_points:
        count = manager.load_setuptools_entrypoints(hookspecs.ENTRY_POINT_GROUP)
        logger.debug("loaded %d validator plugin(s) from entry points", count)
    return manager


@functools.cache
def default_plugin_manager() -> pluggy.PluginManager:
    """Return the process-wide plugin manager with every installed plugin, created once."""
    return create_plugin_manager()


def collect_validators(manager: pluggy.PluginManager) -> list[Validator]:
    """Return every plugin's validators in run order, checking that each is well formed.

    The order is pluggy's call order: implementations marked `tryfirst` (the built-ins are), then
    the most recently registered plugin first.
    """
    validators: list[Validator] = []
    seen: dict[str, object] = {}

    for contributed in manager.hook.pcimage_validators():
        for validator in contributed or ():
            name = getattr(validator, "type", None)
            if not isinstance(name, str) or not name.isidentifier():
                raise PluginError(f"plugin validator {validator!r} has no valid `type` name")
            if not callable(getattr(validator, "validate", None)):
                raise PluginError(f"plugin validator {name} has no validate(config, context) method")
            if name in seen and seen[name] is not validator:
                raise PluginError(f"two plugins register a validator of type {name}")
            seen[name] = validator
            validators.append(validator)

    return validators
