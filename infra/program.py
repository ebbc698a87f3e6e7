"""The whole Pulumi program: stack config in, declared platform and its outputs out."""

from typing import Any

import pulumi

from infra.platform import build_platform
from infra.settings import CONFIG_KEYS, PROJECT, load_settings


def run() -> dict[str, pulumi.Input[Any]]:
    """Validate the stack config (before any resource exists), then declare the platform."""
    config = pulumi.Config(PROJECT)
    settings = load_settings(
        {key: value for key in CONFIG_KEYS if (value := config.get(key)) is not None}
    )
    return build_platform(settings, pulumi.get_stack())
