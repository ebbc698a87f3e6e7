"""The names and tags the leftover check and the sweeper look for are the ones the program
declares for a live stack (run under Pulumi's mocks)."""

import pytest
from pulumi.runtime.rpc import unwrap_rpc_secret

from infra.offline import OfflineRun, run_offline
from infra.settings import CONFIG_KEYS, PROJECT
from spark_runs.live import contract, plan
from spark_runs.live.naming import live_stack_in

STACK = "live-3f9c01ab"
CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"
REGISTRY = "digitalocean:index/containerRegistry:ContainerRegistry"
DIGITALOCEAN = "digitalocean:"


@pytest.fixture(scope="module")
def live_run() -> OfflineRun:
    config = plan.stack_config(plan.FIRST_EXECUTORS)
    return run_offline({k: v for k, v in config.items() if k in CONFIG_KEYS}, STACK)


def test_the_project_name_is_the_programs() -> None:
    assert contract.PROJECT == PROJECT


def test_the_cluster_and_its_pool_carry_the_stack_tag_and_name(live_run: OfflineRun) -> None:
    cluster = live_run.one(CLUSTER).inputs
    assert contract.stack_tag(STACK) in cluster["tags"]
    assert contract.stack_tag(STACK) in cluster["nodePool"]["tags"]
    assert cluster["name"].startswith(contract.resource_prefix(STACK))


def test_every_named_digitalocean_resource_names_the_live_stack(live_run: OfflineRun) -> None:
    named = [
        resource.inputs["name"]
        for resource in live_run.resources
        if resource.type.startswith(DIGITALOCEAN) and isinstance(resource.inputs.get("name"), str)
    ]
    assert named, "the program declares no named DigitalOcean resource"
    # What the sweeper can find by name after the state is lost.
    assert all(live_stack_in(name) == STACK for name in named), named


def test_grafana_login_is_the_one_the_program_declares(live_run: OfflineRun) -> None:
    namespace, name, password_key = contract.GRAFANA_ADMIN_SECRET
    (secret,) = [
        r
        for r in live_run.of_type("kubernetes:core/v1:Secret")
        if r.inputs["metadata"]["name"] == name
    ]
    assert secret.inputs["metadata"]["namespace"] == namespace
    assert set(unwrap_rpc_secret(secret.inputs["stringData"])) == {password_key}
    (grafana,) = [
        r
        for r in live_run.of_type("kubernetes:helm.sh/v3:Release")
        if r.inputs["chart"] == "grafana"
    ]
    values = grafana.inputs["values"]
    assert values["env"]["GF_SECURITY_ADMIN_USER"] == contract.GRAFANA_ADMIN_USER
    assert values["admin"] == {"existingSecret": name, "passwordKey": password_key}
