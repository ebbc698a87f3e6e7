"""The account stack (target `account`): what every DigitalOcean stack of the team shares."""

from typing import Any

import pulumi

from infra.registry import AccountRegistry, AccountRegistryArgs
from infra.settings import PROJECT, Settings


def build_account(settings: Settings) -> dict[str, pulumi.Input[Any]]:
    """Declare the team's one registry; its outputs are what the other stacks reference."""
    # Settings require both on the account target.
    assert settings.registry_tier is not None and settings.registry_region is not None
    registry = AccountRegistry(
        PROJECT,
        AccountRegistryArgs(
            name_prefix=PROJECT,
            subscription_tier=settings.registry_tier.value,
            region=settings.registry_region,
            protect=settings.protect,
        ),
    )
    return dict(registry.outputs)
