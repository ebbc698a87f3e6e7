"""The Spark History Server: finished runs' Spark UIs, read from the bucket's event logs.

Runs from the trainer image (which carries the s3a jars) in the foreground, as the image's
non-root user with a read-only root file system, and holds only the bucket's read key. Nothing
reaches it over the pod network; users open it with ``kubectl port-forward`` (through the API
server and kubelet), and it talks only to DNS and HTTPS (Spaces).
"""

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as kubernetes

from infra.object_store import ObjectStore, credentials_secret
from spark_runs.application import SPARK_UID
from spark_runs.object_store import (
    HISTORY_UI_PORT,
    Bucket,
    history_server_conf,
    properties_text,
    spark_s3a_conf,
)

NAME = "spark-history-server"
CREDENTIALS_SECRET = "spaces-history"
CONF_DIR = "/etc/spark-history"
CONF_FILE = "spark-history.conf"
COMMAND = (
    "/opt/spark/bin/spark-class",
    "org.apache.spark.deploy.history.HistoryServer",
    "--properties-file",
    f"{CONF_DIR}/{CONF_FILE}",
)
PORT_NAME = "history-ui"
LABELS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "spark-doks"}
# The server keeps its application listing in memory; the heap is most of the container.
DAEMON_MEMORY = "768m"
MEMORY = "1Gi"
CPU_REQUEST = "100m"
CPU_LIMIT = "1"

core = kubernetes.core.v1
meta = kubernetes.meta.v1
networking = kubernetes.networking.v1


def history_properties(bucket: Bucket, endpoint_url: str | None = None) -> str:
    """The server's properties file; ``endpoint_url`` replaces Spaces' (tests on loopback)."""
    return properties_text(
        {**spark_s3a_conf(bucket, endpoint_url), **history_server_conf(bucket.events_uri)}
    )


def port_forward_command(namespace: str) -> str:
    return (
        f"kubectl -n {namespace} port-forward svc/{NAME} {HISTORY_UI_PORT}:{HISTORY_UI_PORT}  "
        f"# then open http://127.0.0.1:{HISTORY_UI_PORT}"
    )


@dataclass(frozen=True)
class HistoryServerArgs:
    namespace: pulumi.Input[str]
    image: pulumi.Input[str]
    image_pull_secret: str | None


class HistoryServer(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        args: HistoryServerArgs,
        store: ObjectStore,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("spark-doks:infra:HistoryServer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        metadata = meta.ObjectMetaArgs(name=NAME, namespace=args.namespace, labels=LABELS)
        secret = credentials_secret(
            f"{name}-credentials", CREDENTIALS_SECRET, args.namespace, store.history_key, child
        )
        account = core.ServiceAccount(
            name, metadata=metadata, automount_service_account_token=False, opts=child
        )
        conf = core.ConfigMap(
            name,
            metadata=metadata,
            data={
                CONF_FILE: store.name.apply(
                    lambda bucket: history_properties(Bucket(bucket, store.region))
                )
            },
            opts=child,
        )
        container = core.ContainerArgs(
            name=NAME,
            image=args.image,
            command=list(COMMAND),
            env=[core.EnvVarArgs(name="SPARK_DAEMON_MEMORY", value=DAEMON_MEMORY)],
            env_from=[
                core.EnvFromSourceArgs(
                    secret_ref=core.SecretEnvSourceArgs(name=secret.metadata.name)
                )
            ],
            ports=[core.ContainerPortArgs(name=PORT_NAME, container_port=HISTORY_UI_PORT)],
            readiness_probe=core.ProbeArgs(
                http_get=core.HTTPGetActionArgs(path="/api/v1/version", port=PORT_NAME),
                period_seconds=10,
            ),
            # Listing a large events/ folder at start takes a while; restart only a hung server.
            liveness_probe=core.ProbeArgs(
                http_get=core.HTTPGetActionArgs(path="/api/v1/version", port=PORT_NAME),
                initial_delay_seconds=60,
                period_seconds=30,
                failure_threshold=4,
            ),
            resources=core.ResourceRequirementsArgs(
                requests={"cpu": CPU_REQUEST, "memory": MEMORY},
                limits={"cpu": CPU_LIMIT, "memory": MEMORY},
            ),
            security_context=core.SecurityContextArgs(
                run_as_user=SPARK_UID,
                run_as_group=SPARK_UID,
                run_as_non_root=True,
                allow_privilege_escalation=False,
                read_only_root_filesystem=True,
                capabilities=core.CapabilitiesArgs(drop=["ALL"]),
                seccomp_profile=core.SeccompProfileArgs(type="RuntimeDefault"),
            ),
            volume_mounts=[
                core.VolumeMountArgs(name="conf", mount_path=CONF_DIR, read_only=True),
                core.VolumeMountArgs(name="tmp", mount_path="/tmp"),
            ],
        )
        self.deployment = kubernetes.apps.v1.Deployment(
            name,
            metadata=metadata,
            spec=kubernetes.apps.v1.DeploymentSpecArgs(
                replicas=1,
                selector=meta.LabelSelectorArgs(match_labels=LABELS),
                template=core.PodTemplateSpecArgs(
                    metadata=meta.ObjectMetaArgs(labels=LABELS),
                    spec=core.PodSpecArgs(
                        service_account_name=account.metadata.name,
                        automount_service_account_token=False,
                        image_pull_secrets=None
                        if args.image_pull_secret is None
                        else [core.LocalObjectReferenceArgs(name=args.image_pull_secret)],
                        security_context=core.PodSecurityContextArgs(
                            run_as_user=SPARK_UID,
                            run_as_non_root=True,
                            fs_group=SPARK_UID,
                            seccomp_profile=core.SeccompProfileArgs(type="RuntimeDefault"),
                        ),
                        containers=[container],
                        volumes=[
                            core.VolumeArgs(
                                name="conf",
                                config_map=core.ConfigMapVolumeSourceArgs(name=conf.metadata.name),
                            ),
                            core.VolumeArgs(name="tmp", empty_dir=core.EmptyDirVolumeSourceArgs()),
                        ],
                    ),
                ),
            ),
            opts=child,
        )
        self.service = core.Service(
            name,
            metadata=metadata,
            spec=core.ServiceSpecArgs(
                selector=LABELS,
                ports=[
                    core.ServicePortArgs(
                        name=PORT_NAME, port=HISTORY_UI_PORT, target_port=PORT_NAME
                    )
                ],
            ),
            opts=child,
        )
        self.network_policy = networking.NetworkPolicy(
            name,
            metadata=metadata,
            spec=networking.NetworkPolicySpecArgs(
                pod_selector=meta.LabelSelectorArgs(match_labels=LABELS),
                policy_types=["Ingress", "Egress"],
                ingress=[],
                egress=[
                    networking.NetworkPolicyEgressRuleArgs(
                        ports=[
                            networking.NetworkPolicyPortArgs(port=53, protocol="UDP"),
                            networking.NetworkPolicyPortArgs(port=53, protocol="TCP"),
                        ]
                    ),
                    networking.NetworkPolicyEgressRuleArgs(
                        ports=[networking.NetworkPolicyPortArgs(port=443, protocol="TCP")]
                    ),
                ],
            ),
            opts=child,
        )
        self.register_outputs({"deployment": self.deployment.metadata.name})
