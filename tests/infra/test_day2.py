"""Day 2 on a real account (issue 11), under mocks: a second stack, an update an hour later, a
destroy a week later, and nothing billable left. One test (or group) per defect of the issue."""

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pulumi
import pytest
import yaml

from infra.offline import OfflineRun, PlatformMocks, run_offline
from infra.registry import pull_rotation, push_rotation
from infra.render import stack_config
from infra.settings import SettingsError, load_settings
from spark_runs.image import CACHE_TAG

Program = Callable[..., OfflineRun]

CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"
NODE_POOL = "digitalocean:index/kubernetesNodePool:KubernetesNodePool"
REGISTRY = "digitalocean:index/containerRegistry:ContainerRegistry"
CREDENTIALS = (
    "digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials"
)
K8S_PROVIDER = "pulumi:providers:kubernetes"
APPLICATION = "kubernetes:sparkoperator.k8s.io/v1beta2:SparkApplication"
ACCOUNT_STACKS = ("account", "dev", "prod")
IMAGE = "docker:index/image:Image"


def credentials(run: OfflineRun, *, write: bool) -> Any:
    (found,) = [c for c in run.of_type(CREDENTIALS) if bool(c.inputs.get("write")) is write]
    return found


def trainer(run: OfflineRun) -> Any:
    (image,) = [r for r in run.of_type(IMAGE) if r.name == "trainer"]
    return image


def trainer_tag(run: OfflineRun) -> str:
    return str(trainer(run).inputs["imageName"]).rsplit(":", 1)[1]


def spark_pool(run: OfflineRun) -> dict[str, Any]:
    inputs: dict[str, Any] = run.one(NODE_POOL).inputs
    return inputs


def kubeconfig(run: OfflineRun) -> dict[str, Any]:
    raw = run.one(K8S_PROVIDER).inputs["kubeconfig"]
    # The CA certificate comes from a secret output, so the whole input is a secret.
    text = raw["value"] if isinstance(raw, dict) else raw
    document: dict[str, Any] = yaml.safe_load(text)
    return document


# 1. One registry per account.


def test_dev_and_prod_in_one_account_declare_at_most_one_registry_between_them() -> None:
    runs = {stack: run_offline(stack_config(stack), stack) for stack in ACCOUNT_STACKS}
    registries = [r for run in runs.values() for r in run.of_type(REGISTRY)]
    assert len(registries) == 1
    (registry,) = runs["account"].of_type(REGISTRY)
    # Both environment stacks push and pull with credentials for the account's registry.
    for stack in ("dev", "prod"):
        names = {c.inputs["registryName"] for c in runs[stack].of_type(CREDENTIALS)}
        assert names == {runs["account"].outputs["registryName"]}
    assert registry.inputs["name"] == runs["account"].outputs["registryName"]


def test_the_registry_tier_and_region_are_set_on_the_account_stack_only() -> None:
    account = load_settings(stack_config("account"))
    assert account.registry_region and account.registry_tier
    for stack in ("dev", "prod"):
        with pytest.raises(SettingsError, match="account stack only"):
            load_settings({**stack_config(stack), "registryTier": account.registry_tier.value})


def test_each_stack_pushes_only_tags_of_its_own() -> None:
    # The build is not reproducible, so a tag pushed by two stacks would end up on the digest
    # of the last push, and the registry clean-up would delete the other stack's image.
    runs = {stack: run_offline(stack_config(stack), stack) for stack in ("dev", "prod")}
    names = {
        stack: {str(image.inputs["imageName"]) for image in run.of_type(IMAGE)}
        for stack, run in runs.items()
    }
    run_tags = {stack: trainer_tag(run) for stack, run in runs.items()}
    assert run_tags["dev"].startswith("dev-") and run_tags["prod"].startswith("prod-")
    # The one tag both push is the layer cache, which no run or history server uses.
    (shared,) = names["dev"] & names["prod"]
    assert shared.endswith(f":{CACHE_TAG}")
    for stack, run in runs.items():
        repository = str(trainer(run).inputs["imageName"]).rsplit(":", 1)[0]
        assert run.outputs["image"].startswith(f"{repository}@sha256:")
        assert f"{repository}:{run_tags[stack]}" in names[stack]


# 2. Expired push credentials.


def test_push_credentials_are_valid_for_a_day_after_any_up_that_pushes(program: Program) -> None:
    # A retry of a failed push on a later day, with the same trainer tag, needs new credentials
    # too: the provider renews expired ones only on refresh.
    push = credentials(program(), write=True)
    assert push.replacement_trigger == push_rotation(datetime.now(UTC))
    periods = [datetime(2026, 12, day, hour, 0, tzinfo=UTC) for day, hour in ((6, 0), (6, 12))]
    periods.append(datetime(2026, 12, 7, 0, 0, tzinfo=UTC))
    assert len({push_rotation(start) for start in periods}) == 3
    for start in periods[:2]:
        last_up = start + timedelta(hours=12, seconds=-1)
        assert push_rotation(last_up) == push_rotation(start)
        # Created when its period starts at the earliest, the last `up` of the period still
        # has half a day to build and push.
        assert push.inputs["expirySeconds"] - (last_up - start).total_seconds() > 12 * 3600 - 1


def test_pull_credentials_expire_and_are_rotated_every_month(program: Program) -> None:
    pull = credentials(program(), write=False)
    assert 31 * 24 * 3600 < pull.inputs["expirySeconds"] <= 62 * 24 * 3600
    assert pull.replacement_trigger == pull_rotation(datetime.now(UTC))
    assert pull_rotation(datetime(2026, 12, 31, tzinfo=UTC)) != pull_rotation(
        datetime(2027, 1, 1, tzinfo=UTC)
    )


def test_pull_credentials_expiry_is_a_stack_output_and_alerts_two_weeks_ahead(
    program: Program,
) -> None:
    # Weekly node recycling re-pulls the trainer: an idle stack breaks when they expire.
    run = program()
    pull = credentials(run, write=False)
    assert run.outputs["pullCredentialsExpireAt"] == pull.state["credentialExpirationTime"]
    expire_at = datetime.fromisoformat(run.outputs["pullCredentialsExpireAt"])
    (prometheus,) = [
        r for r in run.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "prometheus"
    ]
    (group,) = prometheus.inputs["values"]["serverFiles"]["alerting_rules.yml"]["groups"]
    (rule,) = [r for r in group["rules"] if r["alert"] == "RegistryPullCredentialsExpiring"]
    assert rule["expr"] == f"vector(time()) > {(expire_at - timedelta(days=14)).timestamp():.0f}"
    assert "pulumi up" in rule["annotations"]["summary"]


# 3. Destroy after a week.


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_in_cluster_resource_goes_with_the_cluster(stack: str) -> None:
    run = run_offline(stack_config(stack), stack)
    cluster = run.one(CLUSTER)
    in_cluster = [r for r in run.resources if r.type.startswith("kubernetes:")]
    assert len(in_cluster) > 10
    assert {r.deleted_with for r in in_cluster} == {cluster.urn}


def test_the_provider_kubeconfig_holds_no_expiring_token(program: Program) -> None:
    document = kubeconfig(program())
    (user,) = document["users"]
    assert "token" not in user["user"]
    exec_ = user["user"]["exec"]
    assert exec_["command"] == "doctl"
    assert exec_["args"][-1] == program().outputs["clusterId"]


# 4. Billable leftovers.


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_deleting_the_cluster_deletes_its_volumes_and_load_balancers(stack: str) -> None:
    run = run_offline(stack_config(stack), stack)
    assert run.one(CLUSTER).inputs["destroyAllAssociatedResources"] is True


# 5. Cluster replacement.


def test_the_spark_pool_is_its_own_resource_and_its_size_leaves_the_cluster_unchanged(
    program: Program,
) -> None:
    small = program(nodeSize="s-4vcpu-8gb")
    large = program(nodeSize="s-8vcpu-16gb")
    assert small.one(CLUSTER).inputs == large.one(CLUSTER).inputs
    assert (spark_pool(small)["size"], spark_pool(large)["size"]) == (
        "s-4vcpu-8gb",
        "s-8vcpu-16gb",
    )
    assert spark_pool(small)["clusterId"] == small.outputs["clusterId"]


def test_the_cluster_keeps_a_fixed_system_pool_of_at_least_one_node(program: Program) -> None:
    system = program(systemNodeSize="s-4vcpu-8gb", systemNodeCount="1").one(CLUSTER).inputs
    assert system["nodePool"]["size"] == "s-4vcpu-8gb"
    assert system["nodePool"]["nodeCount"] == 1
    assert "autoScale" not in system["nodePool"] or system["nodePool"]["autoScale"] is False
    with pytest.raises(SettingsError, match="systemNodeCount"):
        load_settings({"systemNodeCount": "0"})


def test_the_spark_pool_may_scale_to_zero(program: Program) -> None:
    assert spark_pool(program(minNodes="0"))["minNodes"] == 0


def test_a_cluster_or_pool_that_must_be_replaced_is_deleted_first(program: Program) -> None:
    run = program()
    assert run.one(CLUSTER).delete_before_replace is True
    assert run.one(NODE_POOL).delete_before_replace is True


def test_spark_pods_run_on_the_spark_pool_and_nothing_else_does(program: Program) -> None:
    run = program()
    pool = spark_pool(run)
    (taint,) = pool["taints"]
    assert taint["effect"] == "NoSchedule"
    spec = run.one(APPLICATION).inputs["spec"]
    for role in ("driver", "executor"):
        assert spec[role]["nodeSelector"].items() <= pool["labels"].items()
        (toleration,) = spec[role]["tolerations"]
        assert (toleration["key"], toleration["value"], toleration["effect"]) == (
            taint["key"],
            taint["value"],
            taint["effect"],
        )
    # The system pool carries another value of the label, so nothing lands there by selector.
    system_labels = run.one(CLUSTER).inputs["nodePool"]["labels"]
    assert system_labels[taint["key"]] != taint["value"]


def test_spark_pods_of_the_local_stack_are_not_pinned_to_a_pool(program: Program) -> None:
    spec = program("local", target="local").one(APPLICATION).inputs["spec"]
    assert "nodeSelector" not in spec["driver"] and "tolerations" not in spec["executor"]


def test_the_spark_run_waits_for_its_pool(program: Program) -> None:
    run = program()
    assert run.one(NODE_POOL).urn in run.one(APPLICATION).dependencies


# 6. Unplanned upgrades.


@pytest.mark.parametrize("prefix", ["1.33.", "1.35."])
def test_the_version_prefix_comes_from_the_stack_config(prefix: str) -> None:
    run = run_offline({**stack_config("dev"), "kubernetesVersion": prefix}, "dev")
    assert run.one(CLUSTER).inputs["version"].startswith(prefix)


def test_an_empty_version_that_follows_every_minor_is_rejected() -> None:
    with pytest.raises(SettingsError, match="kubernetesVersion must pin"):
        load_settings({"kubernetesVersion": ""})


class RunningClusterMocks(PlatformMocks):
    """A stack whose cluster already exists and runs ``version`` (the kubernetes_cluster lookup)."""

    def __init__(self, version: str) -> None:
        super().__init__()
        self.version = version

    def call(  # type: ignore[override]
        self, args: pulumi.runtime.MockCallArgs
    ) -> dict[str, Any] | tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "digitalocean:index/getKubernetesCluster:getKubernetesCluster":
            return {"name": args.args["name"], "version": self.version}
        return super().call(args)


def cluster_on(running: str, prefix: str = "1.34.") -> Any:
    config = {**stack_config("dev"), "kubernetesVersion": prefix}
    return run_offline(config, "dev", RunningClusterMocks(running)).one(CLUSTER)


def test_a_new_cluster_gets_the_newest_patch_of_its_minor(program: Program) -> None:
    cluster = program()
    assert cluster.one(CLUSTER).inputs["version"] == "1.34.9-do.0"  # the lookup's latestVersion
    assert "version" not in cluster.one(CLUSTER).ignore_changes


def test_a_newer_patch_release_is_left_to_the_maintenance_window() -> None:
    # The lookup now offers 1.34.9; the cluster runs 1.34.2 (or DigitalOcean's auto-upgrade
    # already moved it past what state says). Sending either would call the upgrade API now.
    assert "version" in cluster_on("1.34.2-do.0").ignore_changes


def test_a_higher_minor_in_the_stack_config_upgrades_on_purpose() -> None:
    cluster = cluster_on("1.33.5-do.0", prefix="1.34.")
    assert "version" not in cluster.ignore_changes
    assert cluster.inputs["version"] == "1.34.9-do.0"


@pytest.mark.parametrize("running", ["1.35.1-do.0", "2.0.0-do.0"])
def test_a_version_below_the_running_one_is_never_sent(running: str) -> None:
    # The provider answers a lower version by replacing the cluster, deleted first.
    with pytest.raises(SettingsError) as caught:
        cluster_on(running, prefix="1.34.")
    (problem,) = caught.value.problems
    assert problem.startswith("spark-doks:kubernetesVersion 1.34. is below")
    assert running in problem and "cannot downgrade" in problem


# 7. Noisy previews.


def test_an_unchanged_run_gives_a_provider_with_the_same_kubeconfig(program: Program) -> None:
    # Each run reads the cluster again, and the mocks return a new token every time, as DO does.
    first = run_offline({}, "dev").one(K8S_PROVIDER).inputs["kubeconfig"]
    second = run_offline({}, "dev").one(K8S_PROVIDER).inputs["kubeconfig"]
    assert first == second


# 8. `registryTier: starter`.


def test_the_starter_tier_is_rejected_with_the_reason() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"target": "account", "registryTier": "starter", "registryRegion": "sfo3"})
    (problem,) = caught.value.problems
    assert problem.startswith("spark-doks:registryTier cannot be starter")
    assert "500 MiB" in problem and "basic or professional" in problem


# 10. No protection (9, the tokens, is in tests/ci/test_workflows.py).


@pytest.mark.parametrize(("stack", "protected"), [("prod", True), ("dev", False)])
def test_the_cluster_and_pool_are_protected_from_the_stack_config(
    stack: str, protected: bool
) -> None:
    run = run_offline(stack_config(stack), stack)
    assert run.one(CLUSTER).protect is protected
    assert run.one(NODE_POOL).protect is protected
    # The provider is not protected: a new cluster must be able to replace it.
    assert run.one(K8S_PROVIDER).protect is False


def test_the_account_registry_is_protected_from_the_stack_config() -> None:
    assert run_offline(stack_config("account"), "account").one(REGISTRY).protect is True
    unprotected = {**stack_config("account"), "protect": "false"}
    assert run_offline(unprotected, "account").one(REGISTRY).protect is False


def test_the_kubeconfig_trusts_the_cluster_ca(program: Program) -> None:
    (cluster,) = kubeconfig(program())["clusters"]
    assert base64.b64decode(cluster["cluster"]["certificate-authority-data"]) == b"mock CA"
