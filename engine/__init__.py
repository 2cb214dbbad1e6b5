"""The pcimage engine: load an image configuration, check its schema, run validator plugins.

The engine imports no AWS SDK and contains no HTTP or command-line code. Validators reach
AWS through the opaque `ValidationContext.aws` object that the caller supplies.
"""

from .core import run_validators, validate_config
from .hookspecs import ValidationContext, Validator, hookimpl, hookspec
from .loader import ConfigLoadError, LoadedDocument, SourceMap, load_yaml
from .messages import Finding, KeyPath, Level, Message, format_path
from .plugins import PluginError, collect_validators, create_plugin_manager, default_plugin_manager
from .report import LoadProblem, Report
from .schema import SCHEMA_VALIDATOR_TYPE, check_schema, image_config_schema
from .suppression import InvalidSuppressorError, Suppression

__all__ = [
    "SCHEMA_VALIDATOR_TYPE",
    "ConfigLoadError",
    "Finding",
    "InvalidSuppressorError",
    "KeyPath",
    "Level",
    "LoadProblem",
    "LoadedDocument",
    "Message",
    "PluginError",
    "Report",
    "SourceMap",
    "Suppression",
    "ValidationContext",
    "Validator",
    "check_schema",
    "collect_validators",
    "create_plugin_manager",
    "default_plugin_manager",
    "format_path",
    "hookimpl",
    "hookspec",
    "image_config_schema",
    "load_yaml",
    "run_validators",
    "validate_config",
]
