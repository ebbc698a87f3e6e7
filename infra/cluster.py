"""The DOKS cluster with its fixed system pool, the autoscaling Spark pool, and a Kubernetes
provider whose kubeconfig never expires and never changes while the cluster stays the same."""

from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as digitalocean
import pulumi_kubernetes as kubernetes
import yaml

from infra.settings import SettingsError

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


# terraform-provider-digitalocean's kubernetes_cluster data source when no cluster has the name
# (digitalocean/kubernetes/datasource_kubernetes_cluster.go:381, v2.99.1).
CLUSTER_NOT_FOUND = "Unable to find cluster with name"


def minor(version: str) -> tuple[int, int]:
    """(1, 34) from a DOKS version slug (1.34.2-do.0) or a minor prefix (1.34.)."""
    major, minor_number = version.split(".")[:2]
    return int(major), int(minor_number)


def running_version(name: str, opts: pulumi.InvokeOptions) -> str | None:
    """The version the cluster called ``name`` runs now; None before it exists."""
    try:
        return digitalocean.get_kubernetes_cluster(name=name, opts=opts).version
    except Exception as error:
        if CLUSTER_NOT_FOUND in str(error):
            return None
        raise


def follows_running_patch(version_prefix: str, running: str | None) -> bool:
    """Whether the program leaves the version as it is: the cluster runs the configured minor.

    Patch releases are then DigitalOcean's auto-upgrade's, in the maintenance window. Sending the
    lookup's newest patch instead would make the provider call the upgrade API at `up` time
    (resource_kubernetes_cluster.go:874-882), draining nodes under the run the same `up` starts,
    and after an auto-upgrade it would "upgrade" to the version already running. A higher
    configured minor is a deliberate upgrade; a lower one would be sent as a lower version, which
    the provider answers by replacing the cluster (ForceNewIfChange, :461-477), so it is refused.
    """
    if running is None:
        return False
    if minor(version_prefix) < minor(running):
        raise SettingsError(
            [
                f"spark-doks:kubernetesVersion {version_prefix} is below the {running} the "
                f"cluster runs; DOKS cannot downgrade and the provider would delete and recreate "
                f"the cluster: set {'.'.join(map(str, minor(running)))}. or higher"
            ]
        )
    return minor(version_prefix) == minor(running)


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
        running = running_version(args.name, pulumi.InvokeOptions(parent=self))
        # Same minor: keep the version in state, whatever the lookup's newest patch is.
        ignore_version = ["version"] if follows_running_patch(args.version_prefix, running) else []
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
                ignore_changes=ignore_version,
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
            # kubeConfigs is secret (it holds an admin token); its CA certificate is public (the
            # API server presents it), so the kubeconfig stays out of the previews' redaction.
            pulumi.Output.unsecret(
                self.cluster.kube_configs.apply(lambda configs: configs[0].cluster_ca_certificate)
            ),
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
