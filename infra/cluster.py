"""The DOKS cluster with its fixed system pool, the autoscaling Spark pool, and a Kubernetes
provider whose kubeconfig never expires and never changes while the cluster stays the same."""

from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as digitalocean
import pulumi_kubernetes as kubernetes
import yaml

# Upgrades and surge replacements happen in a quiet hour (UTC).
MAINTENANCE_DAY = "sunday"
MAINTENANCE_START_TIME = "04:00"

# The Spark pool's nodes carry this label and a NoSchedule taint of the same key and value, so
# only pods that select the label and tolerate the taint (the driver and executors) run there.
POOL_LABEL = "spark-doks/pool"
SPARK_POOL = "spark"
SYSTEM_POOL = "system"
TAINT_EFFECT = "NoSchedule"
SPARK_NODE_SELECTOR = {POOL_LABEL: SPARK_POOL}
SPARK_TOLERATIONS = (
    {"key": POOL_LABEL, "operator": "Equal", "value": SPARK_POOL, "effect": TAINT_EFFECT},
)


@dataclass(frozen=True)
class ClusterArgs:
    name: str
    region: str
    version_prefix: str
    system_node_size: str
    system_node_count: int
    node_size: str
    min_nodes: int
    max_nodes: int
    ha_control_plane: bool
    protect: bool
    tags: list[str]


def exec_kubeconfig(cluster_id: str, name: str, endpoint: str, ca_certificate: str) -> str:
    """A kubeconfig that asks doctl for a short-lived token on every use.

    It holds no credential, so it is the same on every run (previews show no provider change)
    and still works for `pulumi destroy` or `refresh` long after the last `up`. It is what
    `doctl kubernetes cluster kubeconfig save` writes.
    """
    context = f"do-{name}"
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": context,
                    "cluster": {"server": endpoint, "certificate-authority-data": ca_certificate},
                }
            ],
            "users": [
                {
                    "name": f"{context}-admin",
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "doctl",
                            "args": [
                                "kubernetes",
                                "cluster",
                                "kubeconfig",
                                "exec-credential",
                                "--version=v1beta1",
                                cluster_id,
                            ],
                            "interactiveMode": "Never",
                        }
                    },
                }
            ],
            "contexts": [
                {"name": context, "context": {"cluster": context, "user": f"{context}-admin"}}
            ],
            "current-context": context,
        },
        sort_keys=False,
    )


class Cluster(pulumi.ComponentResource):
    """A DOKS cluster, its Spark pool and a Kubernetes provider for in-cluster resources."""

    def __init__(
        self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("spark-doks:infra:Cluster", name, None, opts)

        # Never the string "latest": the lookup pins a real version slug of the pinned minor.
        versions = digitalocean.get_kubernetes_versions_output(
            version_prefix=args.version_prefix, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        self.cluster = digitalocean.KubernetesCluster(
            name,
            name=args.name,
            region=args.region,
            version=versions.latest_version,
            ha=args.ha_control_plane,
            auto_upgrade=True,
            surge_upgrade=True,
            maintenance_policy=digitalocean.KubernetesClusterMaintenancePolicyArgs(
                day=MAINTENANCE_DAY, start_time=MAINTENANCE_START_TIME
            ),
            # The inline default pool's size forces a new cluster, so it holds only the platform
            # and stays fixed; Spark capacity is the separate pool below.
            node_pool=digitalocean.KubernetesClusterNodePoolArgs(
                name=f"{args.name}-{SYSTEM_POOL}",
                size=args.system_node_size,
                node_count=args.system_node_count,
                tags=args.tags,
                labels={POOL_LABEL: SYSTEM_POOL},
            ),
            # PVC volumes (Prometheus, Alertmanager) and load balancers go with the cluster.
            destroy_all_associated_resources=True,
            tags=args.tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.protect,
                # The name is fixed, so a replacement cannot exist beside the old cluster.
                delete_before_replace=True,
            ),
        )
        self.spark_pool = digitalocean.KubernetesNodePool(
            f"{name}-{SPARK_POOL}",
            cluster_id=self.cluster.id,
            name=f"{args.name}-{SPARK_POOL}",
            size=args.node_size,
            # No node_count: a fixed count fights the autoscaler on every update.
            auto_scale=True,
            min_nodes=args.min_nodes,
            max_nodes=args.max_nodes,
            labels=SPARK_NODE_SELECTOR,
            taints=[
                digitalocean.KubernetesNodePoolTaintArgs(
                    key=POOL_LABEL, value=SPARK_POOL, effect=TAINT_EFFECT
                )
            ],
            tags=args.tags,
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.protect, delete_before_replace=True
            ),
        )

        kubeconfig = pulumi.Output.all(
            self.cluster.id,
            self.cluster.name,
            self.cluster.endpoint,
            self.cluster.kube_configs.apply(lambda configs: configs[0].cluster_ca_certificate),
        ).apply(lambda values: exec_kubeconfig(*values))
        # cluster_identifier: only a new cluster replaces the provider (and what it manages).
        self.provider = kubernetes.Provider(
            name,
            kubeconfig=kubeconfig,
            cluster_identifier=self.cluster.id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name: pulumi.Output[str] = self.cluster.name
        self.id: pulumi.Output[str] = self.cluster.id
        self.register_outputs({"clusterName": self.name, "clusterId": self.id})

    def in_cluster(self) -> pulumi.ResourceOptions:
        """Options for components whose resources live in this cluster.

        Each Kubernetes resource below them is deleted with the cluster: destroying the stack
        never calls the Kubernetes API, however old the last `up` is.
        """
        return pulumi.ResourceOptions(
            providers=[self.provider], transformations=[self._deleted_with_cluster]
        )

    def _deleted_with_cluster(
        self, args: pulumi.ResourceTransformationArgs
    ) -> pulumi.ResourceTransformationResult | None:
        if not args.type_.startswith("kubernetes:"):
            return None
        return pulumi.ResourceTransformationResult(
            args.props,
            pulumi.ResourceOptions.merge(
                args.opts, pulumi.ResourceOptions(deleted_with=self.cluster)
            ),
        )
