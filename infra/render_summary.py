"""The billed DigitalOcean resources of an offline run, for `make render`'s digitalocean.yaml.

Kubernetes objects show what runs in the cluster; this shows what DigitalOcean bills for it: the
cluster and its region, each node pool's size and bounds, the registry (its tier on the account
stack), the Spaces bucket with its subscription price, and the platform's monthly cost range (the
program's monthlyCostFloor and monthlyCostCeiling outputs: the pools plus Spaces).
"""

from typing import Any

from infra.offline import DeclaredResource, OfflineRun
from spark_runs.cost import SPACES_MONTHLY_USD, SPACES_PRICE_AS_OF

CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"
NODE_POOL = "digitalocean:index/kubernetesNodePool:KubernetesNodePool"
REGISTRY = "digitalocean:index/containerRegistry:ContainerRegistry"
BUCKET = "digitalocean:index/spacesBucket:SpacesBucket"
NOT_IN_COST = (
    "the node pools and the Spaces subscription: the HA control plane, load balancers, volumes, "
    "the registry (account stack), Spaces storage beyond 250 GiB and transfer are billed on top"
)


def _whole(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _pool(inputs: dict[str, Any]) -> dict[str, Any]:
    bounds = ("minNodes", "maxNodes") if inputs.get("autoScale") else ("nodeCount",)
    return {
        "name": inputs.get("name"),
        "size": inputs.get("size"),
        "autoScale": bool(inputs.get("autoScale")),
        **{key: _whole(inputs.get(key)) for key in bounds},
    }


def _cluster(cluster: DeclaredResource, pools: list[DeclaredResource]) -> dict[str, Any]:
    return {
        "cluster": {
            "name": cluster.inputs.get("name", cluster.name),
            "region": cluster.inputs.get("region"),
            "kubernetesVersion": cluster.inputs.get("version"),
            "haControlPlane": bool(cluster.inputs.get("ha")),
        },
        "nodePools": [_pool(cluster.inputs["nodePool"]), *[_pool(pool.inputs) for pool in pools]],
    }


def digitalocean_summary(run: OfflineRun) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for cluster in run.of_type(CLUSTER):
        summary.update(_cluster(cluster, run.of_type(NODE_POOL)))
    registries = [
        {
            "name": registry.inputs.get("name"),
            "tier": registry.inputs.get("subscriptionTierSlug"),
            "region": registry.inputs.get("region"),
        }
        for registry in run.of_type(REGISTRY)
    ]
    if registries:
        summary["registry"] = registries
    elif summary and "registryEndpoint" in run.outputs:
        summary["registry"] = (
            f"{run.outputs['registryEndpoint']}: the account stack's, billed there"
        )
    buckets = [
        {"name": bucket.inputs.get("name"), "region": bucket.inputs.get("region")}
        for bucket in run.of_type(BUCKET)
    ]
    if buckets:
        summary["spaces"] = {
            "buckets": buckets,
            "subscriptionMonthlyUsd": SPACES_MONTHLY_USD,
            "priceAsOf": SPACES_PRICE_AS_OF,
            "billed": "once per team, whatever the number of buckets; 250 GiB and 1 TiB included",
        }
    if "monthlyCostFloor" in run.outputs:
        summary["monthlyCostUsd"] = {
            "floor": run.outputs["monthlyCostFloor"],
            "ceiling": run.outputs["monthlyCostCeiling"],
            "covers": NOT_IN_COST,
        }
    return summary or {"digitalocean": "none: this stack targets an existing kube context"}
