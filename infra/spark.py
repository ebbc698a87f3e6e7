"""Spark on Kubernetes: the job namespace and its RBAC, the spark-operator, the training run."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes
import yaml

from infra.network_policy import job_namespace_policies, operator_namespace_policies
from infra.run_wait import SparkApplication, run_outcome, wait_annotations

OPERATOR_CHART = "spark-operator"
OPERATOR_CHART_VERSION = "2.5.2"
OPERATOR_CHART_REPOSITORY = "https://kubeflow.github.io/spark-operator"
OPERATOR_NAMESPACE = "spark-operator"
OPERATOR_VALUES_FILE = Path(__file__).with_name("spark_operator_values.yaml")

SERVICE_ACCOUNT = "spark"
# Pod Security Admission: the API server rejects job pods that break the restricted profile.
POD_SECURITY_LABELS = {
    f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")
}
PULL_SECRET = "registry-pull"

# What a Spark driver does in its own namespace: create and watch executor pods, a headless
# service, the configmap with its conf, and volume claims when executors ask for them.
DRIVER_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("pods", ("create", "get", "list", "watch", "delete", "deletecollection", "patch")),
    ("services", ("create", "get", "list", "watch", "delete", "deletecollection")),
    ("configmaps", ("create", "get", "list", "watch", "delete", "deletecollection", "patch")),
    ("persistentvolumeclaims", ("create", "get", "list", "watch", "delete", "deletecollection")),
)


def operator_values(job_namespace: str) -> dict[str, Any]:
    """The chart values: the data file plus the namespace the operator watches."""
    values: dict[str, Any] = yaml.safe_load(OPERATOR_VALUES_FILE.read_text())
    values["spark"]["jobNamespaces"] = [job_namespace]
    return values


@dataclass(frozen=True)
class JobNamespaceArgs:
    namespace: str
    pull_docker_config: pulumi.Output[str] | None
    """Docker config JSON to pull the trainer image with; None when the cluster needs none."""


class JobNamespace(pulumi.ComponentResource):
    """The namespace Spark jobs run in, its service account, pull secret and namespaced RBAC."""

    def __init__(
        self, name: str, args: JobNamespaceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("spark-doks:infra:JobNamespace", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        meta = kubernetes.meta.v1.ObjectMetaArgs
        self.namespace = kubernetes.core.v1.Namespace(
            name, metadata=meta(name=args.namespace, labels=POD_SECURITY_LABELS), opts=child
        )
        namespace = self.namespace.metadata.name
        job_namespace_policies(name, namespace, child)

        self.pull_secret: kubernetes.core.v1.Secret | None = None
        if args.pull_docker_config is not None:
            self.pull_secret = kubernetes.core.v1.Secret(
                f"{name}-pull",
                metadata=meta(name=PULL_SECRET, namespace=namespace),
                type="kubernetes.io/dockerconfigjson",
                string_data={".dockerconfigjson": args.pull_docker_config},
                opts=child,
            )
        self.pull_secret_name: str | None = None if self.pull_secret is None else PULL_SECRET

        self.service_account = kubernetes.core.v1.ServiceAccount(
            f"{name}-spark",
            metadata=meta(name=SERVICE_ACCOUNT, namespace=namespace),
            image_pull_secrets=None
            if self.pull_secret is None
            else [kubernetes.core.v1.LocalObjectReferenceArgs(name=self.pull_secret.metadata.name)],
            opts=child,
        )
        self.role = kubernetes.rbac.v1.Role(
            f"{name}-spark-driver",
            metadata=meta(name="spark-driver", namespace=namespace),
            rules=[
                kubernetes.rbac.v1.PolicyRuleArgs(
                    api_groups=[""], resources=[resource], verbs=list(verbs)
                )
                for resource, verbs in DRIVER_RULES
            ],
            opts=child,
        )
        self.role_binding = kubernetes.rbac.v1.RoleBinding(
            f"{name}-spark-driver",
            metadata=meta(name="spark-driver", namespace=namespace),
            role_ref=kubernetes.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io", kind="Role", name=self.role.metadata.name
            ),
            subjects=[
                kubernetes.rbac.v1.SubjectArgs(
                    kind="ServiceAccount",
                    name=self.service_account.metadata.name,
                    namespace=namespace,
                )
            ],
            opts=child,
        )
        self.name: pulumi.Output[str] = namespace
        self.service_account_name: pulumi.Output[str] = self.service_account.metadata.name
        self.register_outputs({"namespace": namespace})


class SparkOperator(pulumi.ComponentResource):
    """The kubeflow spark-operator in its own namespace, watching the job namespace."""

    def __init__(
        self, name: str, job_namespace: JobNamespace, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("spark-doks:infra:SparkOperator", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        namespace = kubernetes.core.v1.Namespace(
            name,
            metadata=kubernetes.meta.v1.ObjectMetaArgs(name=OPERATOR_NAMESPACE),
            opts=child,
        )
        operator_namespace_policies(name, namespace.metadata.name, child)
        # helm.v3.Release keeps the chart's hooks (the CRD upgrade Job of hook.upgradeCrd among
        # them); the job namespace must exist before install. A failed install or upgrade rolls
        # back and deletes what it created.
        self.release = kubernetes.helm.v3.Release(
            name,
            name=OPERATOR_CHART,
            atomic=True,
            cleanup_on_fail=True,
            chart=OPERATOR_CHART,
            version=OPERATOR_CHART_VERSION,
            repository_opts=kubernetes.helm.v3.RepositoryOptsArgs(repo=OPERATOR_CHART_REPOSITORY),
            namespace=namespace.metadata.name,
            values=job_namespace.name.apply(operator_values),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[job_namespace.namespace]),
        )
        self.register_outputs({"release": self.release.name})


class TrainingJob(pulumi.ComponentResource):
    """The SparkApplication of one training run; a new definition replaces it (one clean run).

    With ``wait_timeout_seconds`` set, `pulumi up` waits up to that long for the run to end and
    fails when it FAILED after ``up_started`` (``outcome``); without it, `up` returns once the
    object exists.
    """

    def __init__(
        self,
        name: str,
        manifest: pulumi.Output[dict[str, Any]],
        depends_on: Sequence[pulumi.Resource],
        wait_timeout_seconds: int | None,
        up_started: datetime,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("spark-doks:infra:TrainingJob", name, None, opts)
        annotations = {} if wait_timeout_seconds is None else wait_annotations(wait_timeout_seconds)
        self.application = SparkApplication(
            name,
            metadata=manifest.apply(
                lambda value: (
                    {**value["metadata"], "annotations": annotations}
                    if annotations
                    else value["metadata"]
                )
            ),
            spec=manifest.apply(lambda value: value["spec"]),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=list(depends_on),
                # A finished SparkApplication is never resubmitted on a spec change: replace it,
                # deleting the old run first so its pods free the nodes.
                replace_on_changes=["spec"],
                delete_before_replace=True,
            ),
        )
        self.name: pulumi.Output[str] = manifest.apply(lambda value: str(value["metadata"]["name"]))
        namespace = manifest.apply(lambda value: str(value["metadata"]["namespace"]))
        self.outcome: pulumi.Output[str] | None = (
            None
            if wait_timeout_seconds is None
            else pulumi.Output.all(self.application.status, namespace, self.name).apply(
                lambda values: run_outcome(values[0], values[1], values[2], up_started)
            )
        )
        self.register_outputs({"name": self.name})
