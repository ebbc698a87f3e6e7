"""DOCR: the team's one registry (account stack) and each stack's credentials for it.

DigitalOcean allows one registry per team and bills its tier to the whole team, so the registry
lives in the account stack and every DigitalOcean stack reads it through a StackReference.
"""

import base64
import json
from dataclasses import dataclass
from datetime import datetime

import pulumi
import pulumi_digitalocean as digitalocean
import pulumi_random as random

from infra.preview_mirror import REDACTED

# Push credentials are renewed on the first `up` of each half day (UTC) and stay valid for a day
# (the policy pack's limit for write credentials), so every `up` that pushes, also a retry days
# later, starts with at least 12 hours left on them.
PUSH_CREDENTIALS_SECONDS = 24 * 3600
PUSH_ROTATION_HOURS = 12
# Pull credentials are rotated every calendar month and stay valid for the month after, so any
# `pulumi up` in a month renews them before the ones in the pull secret expire.
PULL_CREDENTIALS_SECONDS = 62 * 24 * 3600

# Outputs of the account stack that the DigitalOcean stacks read.
REGISTRY_NAME = "registryName"
REGISTRY_ENDPOINT = "registryEndpoint"
REGISTRY_SERVER = "registryServer"


@dataclass(frozen=True)
class RegistryLogin:
    server: str
    username: str
    password: str


def registry_login(docker_config_json: str, server: str) -> RegistryLogin:
    """User and password from a docker config (``auths[server].auth`` is base64 ``user:pass``).

    A preview of the mirror (infra/preview_mirror.py) holds the redacted config: its login is
    redacted in full, as every part of it is in the mirror's state.
    """
    if docker_config_json == REDACTED:
        return RegistryLogin(server=REDACTED, username=REDACTED, password=REDACTED)
    auth = json.loads(docker_config_json)["auths"][server]["auth"]
    username, _, password = base64.b64decode(auth).decode().partition(":")
    return RegistryLogin(server=server, username=username, password=password)


def push_rotation(now: datetime) -> str:
    """The rotation period push credentials belong to: the half day (UTC)."""
    return f"{now:%Y-%m-%d}T{now.hour // PUSH_ROTATION_HOURS * PUSH_ROTATION_HOURS:02d}"


def pull_rotation(now: datetime) -> str:
    """The rotation period pull credentials belong to: the calendar month (UTC)."""
    return f"{now:%Y-%m}"


@dataclass(frozen=True)
class AccountRegistryArgs:
    name_prefix: str
    """Registry names are unique across DigitalOcean, so a random suffix is appended."""
    subscription_tier: str
    region: str
    protect: bool


class AccountRegistry(pulumi.ComponentResource):
    """The team's DOCR registry: its tier and region are set here and nowhere else."""

    def __init__(
        self, name: str, args: AccountRegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("spark-doks:infra:AccountRegistry", name, None, opts)
        suffix = random.RandomString(
            name,
            length=6,
            special=False,
            upper=False,
            numeric=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.registry = digitalocean.ContainerRegistry(
            name,
            name=pulumi.Output.concat(args.name_prefix, "-", suffix.result),
            subscription_tier_slug=args.subscription_tier,
            region=args.region,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.outputs: dict[str, pulumi.Output[str]] = {
            REGISTRY_NAME: self.registry.name,
            REGISTRY_ENDPOINT: self.registry.endpoint,
            REGISTRY_SERVER: self.registry.server_url,
        }
        self.register_outputs(dict(self.outputs))


@dataclass(frozen=True)
class RegistryAccessArgs:
    account_stack: str
    """Fully qualified name of the account stack, e.g. ``organization/spark-doks/account``."""
    push_rotation: str
    """Rotation period of the push credentials (see ``push_rotation``)."""
    pull_rotation: str
    """Rotation period of the pull credentials (see ``pull_rotation``)."""


class RegistryAccess(pulumi.ComponentResource):
    """One stack's credentials for the team registry: push for the image, pull for pods."""

    def __init__(
        self, name: str, args: RegistryAccessArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("spark-doks:infra:RegistryAccess", name, None, opts)
        account = pulumi.StackReference(
            args.account_stack, opts=pulumi.ResourceOptions(parent=self)
        )
        registry_name = account.require_output(REGISTRY_NAME).apply(str)
        self.endpoint: pulumi.Output[str] = account.require_output(REGISTRY_ENDPOINT).apply(str)
        self.server: pulumi.Output[str] = account.require_output(REGISTRY_SERVER).apply(str)

        # The provider renews expired credentials only on refresh, so a plain `up` would push
        # with an expired password. Replacing them twice a day gives every push valid ones
        # (a changed password alone does not rebuild the image: pulumi-docker's Diff ignores
        # registry username and password, provider/provider.go:335-338), and deleting the old
        # resource revokes the old token.
        push = digitalocean.ContainerRegistryDockerCredentials(
            f"{name}-push",
            registry_name=registry_name,
            write=True,
            expiry_seconds=PUSH_CREDENTIALS_SECONDS,
            opts=pulumi.ResourceOptions(parent=self, replacement_trigger=args.push_rotation),
        )
        self.push_login: pulumi.Output[RegistryLogin] = pulumi.Output.all(
            push.docker_credentials, self.server
        ).apply(lambda values: registry_login(values[0], values[1]))

        # Read-only, expiring and rotated monthly (decision in docs/decisions.md).
        pull = digitalocean.ContainerRegistryDockerCredentials(
            f"{name}-pull",
            registry_name=registry_name,
            write=False,
            expiry_seconds=PULL_CREDENTIALS_SECONDS,
            opts=pulumi.ResourceOptions(parent=self, replacement_trigger=args.pull_rotation),
        )
        self.pull_docker_config: pulumi.Output[str] = pulumi.Output.secret(pull.docker_credentials)
        # A stack without an `up` for two months keeps them past this; the alert and the stack
        # output make that visible.
        self.pull_expire_at: pulumi.Output[str] = pull.credential_expiration_time
        self.register_outputs({"endpoint": self.endpoint})
