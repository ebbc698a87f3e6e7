"""The whole Pulumi program: stack config in, declared platform and its outputs out."""

from typing import Any

import pulumi

from infra.cli_version import require_cli
from infra.platform import build_platform
from infra.settings import PROJECT, SettingsError, load_settings
from infra.stack_config import project_config, unknown_namespace_problems


def run() -> dict[str, pulumi.Input[Any]]:
    """Validate every stack config key (before any resource exists), then declare the platform."""
    unknown = unknown_namespace_problems(PROJECT)
    if unknown:
        raise SettingsError(unknown)
    settings = load_settings(project_config(PROJECT))
    require_cli()
    return build_platform(settings, pulumi.get_stack())
