"""The stack files CI previews and deploys: valid, declared, and run by the program under mocks.

Each DigitalOcean stack file is run through the real program (infra.offline, Pulumi's mocks), so a
prod value the program cannot use fails here, before a pull request preview does.
"""

from typing import Any

import pytest
import yaml

from infra.offline import OfflineRun, run_offline
from infra.render import stack_config
from infra.settings import CONFIG_KEYS, PROJECT, Settings, load_settings
from spark_runs import sizing
from tests.support import REPO_ROOT

CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"
NODE_POOL = "digitalocean:index/kubernetesNodePool:KubernetesNodePool"
REGISTRY = "digitalocean:index/containerRegistry:ContainerRegistry"
APPLICATION = "kubernetes:sparkoperator.k8s.io/v1beta2:SparkApplication"
DIGITALOCEAN_STACKS = ["dev", "prod"]


def stack_file(stack: str) -> dict[str, Any]:
    document = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())
    assert isinstance(document, dict)
    return document


def all_stacks() -> list[str]:
    return sorted(
        path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        for path in REPO_ROOT.glob("Pulumi.*.yaml")
    )


@pytest.fixture(scope="module", params=DIGITALOCEAN_STACKS)
def offline(request: pytest.FixtureRequest) -> tuple[Settings, OfflineRun]:
    stack: str = request.param
    config = stack_config(stack)
    return load_settings(config), run_offline(config, stack)


@pytest.mark.parametrize("stack", all_stacks())
def test_every_stack_file_passes_settings_validation(stack: str) -> None:
    load_settings(stack_config(stack))


@pytest.mark.parametrize("stack", all_stacks())
def test_stack_files_hold_only_declared_project_config(stack: str) -> None:
    document = stack_file(stack)
    # encryptionsalt is what `pulumi stack init --secrets-provider passphrase` adds (docs/ci-cd.md).
    assert set(document) <= {"config", "encryptionsalt"}
    project = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())["config"]
    ours = {
        key.removeprefix(f"{PROJECT}:") for key in document["config"] if key.startswith(PROJECT)
    }
    assert ours <= set(project) == set(CONFIG_KEYS)


def test_prod_sets_the_same_keys_as_dev_with_production_values() -> None:
    dev, prod = stack_file("dev"), stack_file("prod")
    assert set(prod) == set(dev) and set(prod["config"]) == set(dev["config"])
    dev_settings = load_settings(stack_config("dev"))
    prod_settings = load_settings(stack_config("prod"))
    assert (dev_settings.ha_control_plane, prod_settings.ha_control_plane) == (False, True)
    assert (dev_settings.alerting, prod_settings.alerting) == (False, True)
    assert (dev_settings.protect, prod_settings.protect) == (False, True)
    dev_node = sizing.NODE_SIZES[dev_settings.node_size]
    prod_node = sizing.NODE_SIZES[prod_settings.node_size]
    assert prod_node.allocatable_cpu_millis > dev_node.allocatable_cpu_millis
    assert prod_node.allocatable_memory_mib > dev_node.allocatable_memory_mib
    assert prod_settings.min_nodes > dev_settings.min_nodes
    assert prod_settings.max_nodes > dev_settings.max_nodes


def test_prod_run_fits_its_pool_with_room_to_spare() -> None:
    settings = load_settings(stack_config("prod"))
    needed = sizing.nodes_needed(
        sizing.NODE_SIZES[settings.node_size],
        settings.executor_instances,
        sizing.parse_cpu_millis(settings.executor_core_request),
        settings.executor_memory,
    )
    # The Spark pool holds only Spark pods; leave room for a second run or a sweep beside it.
    assert needed <= settings.max_nodes // 2


def test_program_builds_the_cluster_each_stack_file_asks_for(
    offline: tuple[Settings, OfflineRun],
) -> None:
    settings, run = offline
    cluster = run.one(CLUSTER).inputs
    assert cluster["ha"] is settings.ha_control_plane
    assert cluster["region"] == settings.region
    system = cluster["nodePool"]
    assert (system["size"], system["nodeCount"]) == (
        settings.system_node_size,
        settings.system_node_count,
    )
    spark = run.one(NODE_POOL).inputs
    assert (spark["size"], spark["minNodes"], spark["maxNodes"]) == (
        settings.node_size,
        settings.min_nodes,
        settings.max_nodes,
    )
    assert f"spark-doks-{run.stack}" in cluster["tags"]
    assert not run.of_type(REGISTRY)


@pytest.mark.parametrize("stack", DIGITALOCEAN_STACKS)
def test_each_digitalocean_stack_file_pins_the_kubernetes_minor(stack: str) -> None:
    pinned = stack_file(stack)["config"]["spark-doks:kubernetesVersion"]
    assert pinned.count(".") == 2 and pinned.endswith(".")
    assert load_settings(stack_config(stack)).kubernetes_version == pinned


def test_the_account_stack_holds_the_one_registry_with_its_tier_and_region() -> None:
    settings = load_settings(stack_config("account"))
    run = run_offline(stack_config("account"), "account")
    registry = run.one(REGISTRY)
    assert registry.inputs["subscriptionTierSlug"] == settings.registry_tier.value
    assert registry.inputs["region"] == settings.registry_region
    assert registry.protect is True
    assert run.outputs["registryName"] == registry.inputs["name"]


def test_program_sizes_the_training_run_from_each_stack_file(
    offline: tuple[Settings, OfflineRun],
) -> None:
    settings, run = offline
    spec = run.one(APPLICATION).inputs["spec"]
    executor = spec["executor"]
    assert (executor["instances"], executor["cores"], executor["memory"]) == (
        settings.executor_instances,
        settings.executor_cores,
        settings.executor_memory,
    )
    assert spec["driver"]["memory"] == settings.driver_memory
    assert run.one(APPLICATION).inputs["metadata"]["namespace"] == settings.job_namespace


def test_each_stack_exports_every_output_and_no_kubeconfig(
    offline: tuple[Settings, OfflineRun],
) -> None:
    _, run = offline
    assert {"clusterName", "clusterId", "image", "followCommands"} <= set(run.outputs)
    # An exported kubeconfig expires; `doctl kubernetes cluster kubeconfig save` renews its own.
    assert "kubeconfig" not in run.outputs and not run.secret_outputs
    assert (
        f"doctl kubernetes cluster kubeconfig save {run.outputs['clusterName']}"
        in (run.outputs["followCommands"])
    )


def test_the_stacks_listed_here_are_the_ones_ci_deploys() -> None:
    # Keeps this module's stack list in step with the workflows (tests/ci/test_workflows.py).
    assert set(DIGITALOCEAN_STACKS) == {
        stack for stack in all_stacks() if load_settings(stack_config(stack)).on_digitalocean
    }


@pytest.mark.parametrize("stack", all_stacks())
def test_stack_values_are_written_as_their_declared_type(stack: str) -> None:
    """Whole numbers and booleans unquoted, as `pulumi config set` writes them, in every file."""
    declared = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())["config"]
    python_type = {"integer": int, "boolean": bool, "string": str}
    for key, value in stack_file(stack)["config"].items():
        if key.startswith(f"{PROJECT}:"):
            name = key.removeprefix(f"{PROJECT}:")
            assert type(value) is python_type[declared[name]["type"]], (stack, name, value)
