"""Run the Pulumi program without a cloud: Pulumi's mocks stand in for every provider.

Used by `make render` and the tests. Each declared resource is recorded with its inputs, parent,
provider and dependencies, so wiring can be checked and Kubernetes objects written out.
"""

import asyncio
import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import version as installed_version
from typing import Any

import grpc  # type: ignore[import-untyped]  # grpcio ships no type information
import pulumi
from pulumi.runtime.mocks import MockEngine, MockMonitor
from pulumi.runtime.settings import SETTINGS

from infra.cli_config import StackConfig, stack_config_from
from infra.cluster import CLUSTER_NOT_FOUND
from infra.settings import PROJECT

DOCKER_CREDENTIALS = (
    "digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials"
)
MOCK_REGISTRY_ENDPOINT = "registry.digitalocean.com"
MOCK_CREDENTIALS_CREATED = datetime(2026, 12, 1, tzinfo=UTC)
# What the account stack exports, as its own run under these mocks declares it.
MOCK_REGISTRY_NAME = f"{PROJECT}-a1b2c3"
MOCK_ACCOUNT_OUTPUTS = {
    "registryName": MOCK_REGISTRY_NAME,
    "registryEndpoint": f"{MOCK_REGISTRY_ENDPOINT}/{MOCK_REGISTRY_NAME}",
    "registryServer": MOCK_REGISTRY_ENDPOINT,
}


@dataclass
class DeclaredResource:
    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    state: dict[str, Any]
    parent: str
    provider: str
    dependencies: list[str]
    delete_before_replace: bool
    replace_on_changes: list[str]
    protect: bool = False
    deleted_with: str = ""
    # The serialized replacement_trigger option (None when unset).
    replacement_trigger: Any = None
    ignore_changes: list[str] = field(default_factory=list)
    # Input property -> URNs of the resources its value was computed from (the policy pack's
    # secret-data rule reads these, as the engine passes them to stack policies).
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class OfflineRun:
    stack: str
    resources: list[DeclaredResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)

    def of_type(self, type_: str) -> list[DeclaredResource]:
        return [resource for resource in self.resources if resource.type == type_]

    def one(self, type_: str) -> DeclaredResource:
        (resource,) = self.of_type(type_)
        return resource

    def by_urn(self, urn: str) -> DeclaredResource:
        return next(resource for resource in self.resources if resource.urn == urn)


def _docker_config(server: str, user: str) -> str:
    auth = base64.b64encode(f"{user}:mock-password".encode()).decode()
    return json.dumps({"auths": {server: {"auth": auth}}})


class PlatformMocks(pulumi.runtime.Mocks):
    """Provider stand-ins returning state in the providers' camelCase keys."""

    def __init__(self) -> None:
        self.cluster_reads = 0

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)
        state: dict[str, Any] = dict(inputs)
        if args.typ == "digitalocean:index/kubernetesCluster:KubernetesCluster":
            endpoint = f"https://{args.name}.k8s.ondigitalocean.com"
            # Like the provider, a token that differs on every read; the CA stays the same.
            self.cluster_reads += 1
            state.update(
                urn=f"do:kubernetes:{args.name}",
                endpoint=endpoint,
                status="running",
                kubeConfigs=[
                    {
                        "rawConfig": f"kind: Config\n# token {self.cluster_reads}\n",
                        "token": f"mock-token-{self.cluster_reads}",
                        "host": endpoint,
                        "clusterCaCertificate": base64.b64encode(b"mock CA").decode(),
                    }
                ],
            )
            return f"{args.name}-cluster-id", state
        if args.typ == "pulumi:pulumi:StackReference":
            state.update(outputs=dict(MOCK_ACCOUNT_OUTPUTS), secretOutputNames=[])
            return str(inputs["name"]), state
        if args.typ == "digitalocean:index/containerRegistry:ContainerRegistry":
            state.update(
                endpoint=f"{MOCK_REGISTRY_ENDPOINT}/{inputs['name']}",
                serverUrl=MOCK_REGISTRY_ENDPOINT,
            )
            return inputs["name"], state
        if args.typ == DOCKER_CREDENTIALS:
            user = "push-user" if inputs.get("write") else "pull-user"
            state["dockerCredentials"] = _docker_config(MOCK_REGISTRY_ENDPOINT, user)
            # As the provider sets it on create (creation time plus expirySeconds, RFC 3339),
            # from a fixed creation time so that renders do not change from run to run.
            expires = MOCK_CREDENTIALS_CREATED + timedelta(seconds=int(inputs["expirySeconds"]))
            state["credentialExpirationTime"] = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
            return f"{args.name}-id", state
        if args.typ == "digitalocean:index/spacesKey:SpacesKey":
            state.update(
                accessKey=f"mock-access-key-{args.name}", secretKey="mock-secret-key-material"
            )
            return state["accessKey"], state
        if args.typ == "random:index/randomString:RandomString":
            state["result"] = "a1b2c3"[: int(inputs["length"])]
            return state["result"], state
        if args.typ == "random:index/randomPassword:RandomPassword":
            state["result"] = "p" * int(inputs["length"])
            return f"{args.name}-id", state
        if args.typ == "docker:index/image:Image":
            name = str(inputs["imageName"])
            repository = name.rsplit(":", 1)[0]
            digest = hashlib.sha256(name.encode()).hexdigest()
            state["repoDigest"] = "" if inputs.get("skipPush") else f"{repository}@sha256:{digest}"
            return name, state
        if args.typ == "kubernetes:helm.sh/v3:Release":
            state["status"] = {"name": inputs.get("name"), "status": "deployed"}
            return f"{inputs.get('namespace')}/{inputs.get('name')}", state
        return f"{args.name}-id", state

    def call(  # type: ignore[override]
        self, args: pulumi.runtime.MockCallArgs
    ) -> dict[str, Any] | tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "digitalocean:index/getKubernetesVersions:getKubernetesVersions":
            prefix = str(args.args["versionPrefix"])
            latest = f"{prefix.rstrip('.')}.9-do.0"
            return {"latestVersion": latest, "validVersions": [latest]}
        if args.token == "digitalocean:index/getKubernetesCluster:getKubernetesCluster":
            # No cluster yet, as on a stack's first `up`; the provider's own failure text.
            return {}, [("name", f"{CLUSTER_NOT_FOUND}: {args.args['name']}")]
        raise NotImplementedError(f"no mock for invoke {args.token}")


class RecordingMonitor(MockMonitor):
    """The mock monitor, also keeping what the mocks are not told: parents and dependencies."""

    def __init__(self, mocks: pulumi.runtime.Mocks, run: OfflineRun) -> None:
        super().__init__(mocks)
        self.run = run

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            registration = self.resources.get(response.urn)
            self.run.resources.append(
                DeclaredResource(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    inputs=pulumi.runtime.rpc.deserialize_properties(request.object),
                    state=dict(registration.state) if registration is not None else {},
                    parent=request.parent,
                    provider=request.provider,
                    dependencies=list(request.dependencies),
                    delete_before_replace=request.deleteBeforeReplace,
                    replace_on_changes=list(request.replaceOnChanges),
                    protect=request.protect,
                    deleted_with=request.deletedWith,
                    replacement_trigger=_replacement_trigger(request),
                    ignore_changes=list(request.ignoreChanges),
                    property_dependencies={
                        key: list(value.urns) for key, value in request.propertyDependencies.items()
                    },
                )
            )
        return response


# The CLI CI installs: the one the pulumi SDK pin names (.github/actions/pulumi-python).
PINNED_CLI = installed_version("pulumi")


class _RpcError(grpc.RpcError):  # type: ignore[misc]
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("-")[0].split("."))


class VersionedEngine(MockEngine):
    """The mock engine answering ``RequirePulumiVersion`` as a CLI of ``version`` would (None: a
    CLI older than 3.217, which lacks the RPC). Only ``>=X.Y.Z`` ranges are understood."""

    def __init__(self, version: str | None) -> None:
        super().__init__(None)
        self.version = version

    def RequirePulumiVersion(self, request: Any) -> Any:
        if self.version is None:
            raise _RpcError(grpc.StatusCode.UNIMPLEMENTED, "unknown method RequirePulumiVersion")
        wanted = str(request.pulumi_version_range)
        if not wanted.startswith(">="):
            raise NotImplementedError(f"the mock engine checks only >= ranges, not {wanted}")
        if _release(self.version) < _release(wanted[2:]):
            raise _RpcError(
                grpc.StatusCode.UNKNOWN,
                f'Pulumi CLI version {self.version} does not satisfy the version range "{wanted}"',
            )
        return None


def _replacement_trigger(request: Any) -> Any:
    """The replacement_trigger option as sent to the engine: a protobuf Value (None if unset)."""
    if not request.HasField("replacement_trigger"):
        return None
    value = request.replacement_trigger
    kind = value.WhichOneof("kind")
    return None if kind == "null_value" else getattr(value, kind)


def run_offline(
    config: Mapping[str, str] | StackConfig,
    stack: str,
    mocks: PlatformMocks | None = None,
    cli_version: str | None = PINNED_CLI,
    preview: bool = False,
) -> OfflineRun:
    """Run the program for ``stack`` under mocks, on the config the Pulumi CLI would hand it.

    ``config`` is either what a stack file sets (keys without a namespace are ``spark-doks:``
    ones, values as ``pulumi config set`` writes them), which gets the ``Pulumi.yaml`` defaults
    and type checks of the CLI (infra.cli_config), or an already loaded StackConfig.
    ``mocks`` replaces the default provider stand-ins (e.g. to script how a run ends);
    ``cli_version`` is the Pulumi CLI the engine answers for (None: one without version checks);
    ``preview`` runs it as `pulumi preview` does (``pulumi.runtime.is_dry_run()``).
    Raises StackConfigError where the CLI would refuse the config, and SettingsError (before any
    resource is declared) where the program does.
    """
    loaded = config if isinstance(config, StackConfig) else stack_config_from(config, stack)
    from infra import program  # after set_mocks, as Pulumi requires

    run = OfflineRun(stack=stack)
    mocks = mocks or PlatformMocks()
    pulumi.runtime.set_mocks(
        mocks, project=PROJECT, stack=stack, preview=preview, monitor=RecordingMonitor(mocks, run)
    )
    SETTINGS.engine = VersionedEngine(cli_version)
    pulumi.runtime.set_all_config(dict(loaded.values), sorted(loaded.secret_keys))

    async def resolve(outputs: dict[str, pulumi.Input[Any]]) -> None:
        for name, value in outputs.items():
            output = pulumi.Output.from_input(value)
            run.outputs[name] = await output.future()
            if await output.is_secret():
                run.secret_outputs.add(name)

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def declare() -> pulumi.Output[None]:
        return pulumi.Output.from_input(asyncio.ensure_future(resolve(program.run())))

    declare()
    SETTINGS.outputs.clear()
    return run
