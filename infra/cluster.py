"""The DOKS cluster with its autoscaling node pool, and a Kubernetes provider for it."""

from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as digitalocean
import pulumi_kubernetes as kubernetes

# Upgrades and surge replacements happen in a quiet hour (UTC).
MAINTENANCE_DAY = "sunday"
MAINTENANCE_START_TIME = "04:00"


@dataclass(frozen=True)
class ClusterArgs:
    name: str
    region: str
    version_prefix: str
    node_size: str
    min_nodes: int
    max_nodes: int
    ha_control_plane: bool
    tags: list[str]


class Cluster(pulumi.ComponentResource):
    """An autoscaling DOKS cluster and a Kubernetes provider that reads fresh credentials."""

    def __init__(
        self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("spark-doks:infra:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # Never the string "latest": the lookup pins a real version slug into the state.
        versions = digitalocean.get_kubernetes_versions_output(
            version_prefix=args.version_prefix or None, opts=pulumi.InvokeOutputOptions(parent=self)
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
            # No node_count: a fixed count fights the autoscaler on every update.
            node_pool=digitalocean.KubernetesClusterNodePoolArgs(
                name=f"{args.name}-pool",
                size=args.node_size,
                auto_scale=True,
                min_nodes=args.min_nodes,
                max_nodes=args.max_nodes,
                tags=args.tags,
                labels={"spark-doks/pool": "spark"},
            ),
            tags=args.tags,
            opts=child,
        )

        # The kubeconfig returned at creation expires after 7 days; look the cluster up on every
        # run instead so the provider always gets a valid token.
        # depends_on: on the first preview the cluster does not exist yet, so the lookup waits.
        current = digitalocean.get_kubernetes_cluster_output(
            name=self.cluster.name,
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[self.cluster]),
        )
        self.kubeconfig: pulumi.Output[str] = pulumi.Output.secret(
            current.kube_configs.apply(lambda configs: configs[0].raw_config)
        )
        # cluster_identifier: a refreshed kubeconfig updates the provider instead of replacing
        # it (which would replace every Kubernetes resource under it).
        self.provider = kubernetes.Provider(
            name,
            kubeconfig=self.kubeconfig,
            cluster_identifier=self.cluster.id,
            opts=child,
        )
        self.name: pulumi.Output[str] = self.cluster.name
        self.id: pulumi.Output[str] = self.cluster.id
        self.register_outputs(
            {"clusterName": self.name, "clusterId": self.id, "kubeconfig": self.kubeconfig}
        )
