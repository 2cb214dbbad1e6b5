"""The plugin manager that collects validators from the built-ins and from installed plugins."""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import re
from collections.abc import Iterable

import pluggy

from . import hookspecs
from .hookspecs import Validator

logger = logging.getLogger(__name__)


class PluginError(Exception):
    """A validator plugin cannot be used: it fails to load, its hook fails, or a validator is malformed."""


# Suppression entries name validators as `type:<Name>` with this pattern, so a type outside it
# could never be suppressed.
_TYPE_NAME = re.compile(r"^[A-Za-z0-9]+$")


def create_plugin_manager(load_entry_points: bool = True) -> pluggy.PluginManager:
    """Create a plugin manager with the hook specs added and, by default, installed plugins loaded.

    Raises PluginError naming the entry point when an installed plugin fails to import.
    """
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    if load_entry_points:
        for entry_point in importlib.metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP):
            if manager.get_plugin(entry_point.name) is not None or manager.is_blocked(entry_point.name):
                continue
            try:
                plugin = entry_point.load()
                manager.register(plugin, name=entry_point.name)
            except Exception as error:  # noqa: BLE001 (any failure in third-party code is reported)
                raise PluginError(
                    f"validator plugin {entry_point.name!r} ({entry_point.value}) failed to load: "
                    f"{type(error).__name__}: {error}"
                ) from error
        logger.debug("loaded %d validator plugin(s) from entry points", len(manager.get_plugins()))
    return manager


@functools.cache
def default_plugin_manager() -> pluggy.PluginManager:
    """Return the process-wide plugin manager with every installed plugin, created once."""
    return create_plugin_manager()


def collect_validators(manager: pluggy.PluginManager) -> list[Validator]:
    """Return every plugin's validators in run order, checking that each is well formed.

    The order is pluggy's call order: implementations marked `tryfirst` (the built-ins are), then
    the most recently registered plugin first. Each implementation is called on its own, so an
    error names the plugin at fault.
    """
    validators: list[Validator] = []
    owners: dict[str, str] = {}

    # pluggy calls hook implementations in the reverse of the order get_hookimpls() lists them.
    for implementation in reversed(manager.hook.pcimage_validators.get_hookimpls()):
        plugin_name = implementation.plugin_name
        try:
            contributed = implementation.function()
        except Exception as error:  # noqa: BLE001 (any failure in third-party code is reported)
            raise PluginError(
                f"validator plugin {plugin_name!r}: pcimage_validators() raised {type(error).__name__}: {error}"
            ) from error
        if contributed is None:
            continue
        if isinstance(contributed, (str, bytes)) or not isinstance(contributed, Iterable):
            raise PluginError(
                f"validator plugin {plugin_name!r}: pcimage_validators() must return a list of validators, "
                f"not {type(contributed).__name__}"
            )

        for validator in contributed:
            name = _checked_type_name(plugin_name, validator)
            if name in owners:
                raise PluginError(
                    f"validator plugin {plugin_name!r} registers the type {name}, "
                    f"which plugin {owners[name]!r} already registers"
                )
            owners[name] = plugin_name
            validators.append(validator)

    return validators


def _checked_type_name(plugin_name: str, validator: object) -> str:
    name = getattr(validator, "type", None)
    if not isinstance(name, str) or not _TYPE_NAME.match(name):
        raise PluginError(
            f"validator plugin {plugin_name!r}: {validator!r} needs a `type` of letters and digits only "
            f"(what type:<Name> suppression matches), not {name!r}"
        )
    if not callable(getattr(validator, "validate", None)):
        raise PluginError(f"validator plugin {plugin_name!r}: {name} has no validate(config, context) method")
    if not isinstance(getattr(validator, "needs_aws", None), bool):
        raise PluginError(f"validator plugin {plugin_name!r}: {name} needs a boolean `needs_aws` attribute")
    return name
