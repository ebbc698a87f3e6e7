"""The DOCR registry, short-lived push credentials and read-only pull credentials."""

import base64
import json
from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as digitalocean
import pulumi_random as random

# Push credentials only need to outlive one `pulumi up`; each run gets fresh ones when expired.
PUSH_CREDENTIALS_SECONDS = 3600


@dataclass(frozen=True)
class RegistryLogin:
    server: str
    username: str
    password: str


def registry_login(docker_config_json: str, server: str) -> RegistryLogin:
    """User and password from a docker config (``auths[server].auth`` is base64 ``user:pass``)."""
    auth = json.loads(docker_config_json)["auths"][server]["auth"]
    username, _, password = base64.b64decode(auth).decode().partition(":")
    return RegistryLogin(server=server, username=username, password=password)


@dataclass(frozen=True)
class RegistryArgs:
    name_prefix: str
    """Registry names are unique across DigitalOcean, so a random suffix is appended."""
    subscription_tier: str


class Registry(pulumi.ComponentResource):
    """A DOCR registry with push credentials for the image build and pull credentials for pods."""

    def __init__(
        self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("spark-doks:infra:Registry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        suffix = random.RandomString(
            name, length=6, special=False, upper=False, numeric=True, opts=child
        )
        self.registry = digitalocean.ContainerRegistry(
            name,
            name=pulumi.Output.concat(args.name_prefix, "-", suffix.result),
            subscription_tier_slug=args.subscription_tier,
            opts=child,
        )
        self.endpoint: pulumi.Output[str] = self.registry.endpoint
        self.server: pulumi.Output[str] = self.registry.server_url

        push = digitalocean.ContainerRegistryDockerCredentials(
            f"{name}-push",
            registry_name=self.registry.name,
            write=True,
            expiry_seconds=PUSH_CREDENTIALS_SECONDS,
            opts=child,
        )
        self.push_login: pulumi.Output[RegistryLogin] = pulumi.Output.all(
            push.docker_credentials, self.server
        ).apply(lambda values: registry_login(values[0], values[1]))

        # Read-only and scoped to this registry; pods pull with it for as long as the run lasts.
        pull = digitalocean.ContainerRegistryDockerCredentials(
            f"{name}-pull", registry_name=self.registry.name, write=False, opts=child
        )
        self.pull_docker_config: pulumi.Output[str] = pulumi.Output.secret(pull.docker_credentials)
        self.register_outputs({"endpoint": self.endpoint})
