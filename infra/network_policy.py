"""Ingress rules for the job and operator namespaces: only the traffic the platform needs.

Job namespace: Spark pods talk to each other (driver RPC, block managers), Prometheus scrapes the
driver's UI port; every other ingress is denied. Operator namespace: the API server calls the
admission webhook, Prometheus scrapes the operator's metrics; every other ingress is denied.
Egress stays open: drivers call the Kubernetes API and push results to the Pushgateway.
"""

import pulumi
import pulumi_kubernetes as kubernetes

from infra.observability import NAMESPACE as MONITORING_NAMESPACE

# Labels Spark itself puts on the pods it creates (spark-role=driver|executor).
SPARK_ROLE_LABEL = "spark-role"
# The container port name Spark gives the driver UI, which serves both metrics endpoints.
SPARK_UI_PORT = "spark-ui"
# Prometheus server pods carry this label in the prometheus-community charts.
PROMETHEUS_POD_LABELS = {"app.kubernetes.io/name": "prometheus"}
# spark-operator chart 2.5.2 defaults (webhook.port, prometheus.metrics.port).
OPERATOR_WEBHOOK_PORT = 9443
OPERATOR_METRICS_PORT = 8080

networking = kubernetes.networking.v1
meta = kubernetes.meta.v1


def _from_prometheus() -> networking.NetworkPolicyPeerArgs:
    # Any namespace's owner can label a pod like Prometheus: only the monitoring namespace counts
    # (the API server sets kubernetes.io/metadata.name on every namespace).
    return networking.NetworkPolicyPeerArgs(
        namespace_selector=meta.LabelSelectorArgs(
            match_labels={"kubernetes.io/metadata.name": MONITORING_NAMESPACE}
        ),
        pod_selector=meta.LabelSelectorArgs(match_labels=PROMETHEUS_POD_LABELS),
    )


def _deny_all_ingress(
    name: str, namespace: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> networking.NetworkPolicy:
    return networking.NetworkPolicy(
        name,
        metadata=meta.ObjectMetaArgs(name="default-deny-ingress", namespace=namespace),
        spec=networking.NetworkPolicySpecArgs(
            pod_selector=meta.LabelSelectorArgs(), policy_types=["Ingress"]
        ),
        opts=opts,
    )


def job_namespace_policies(
    name: str, namespace: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> list[networking.NetworkPolicy]:
    """Deny ingress by default; allow Spark pod to Spark pod, and Prometheus to the driver UI."""
    spark_pods = meta.LabelSelectorArgs(
        match_expressions=[
            meta.LabelSelectorRequirementArgs(key=SPARK_ROLE_LABEL, operator="Exists")
        ]
    )
    spark_traffic = networking.NetworkPolicy(
        f"{name}-spark-pods",
        metadata=meta.ObjectMetaArgs(name="spark-driver-executor", namespace=namespace),
        spec=networking.NetworkPolicySpecArgs(
            pod_selector=spark_pods,
            policy_types=["Ingress"],
            ingress=[
                networking.NetworkPolicyIngressRuleArgs(
                    from_=[networking.NetworkPolicyPeerArgs(pod_selector=spark_pods)]
                )
            ],
        ),
        opts=opts,
    )
    scraping = networking.NetworkPolicy(
        f"{name}-prometheus",
        metadata=meta.ObjectMetaArgs(name="prometheus-scrapes-driver", namespace=namespace),
        spec=networking.NetworkPolicySpecArgs(
            pod_selector=meta.LabelSelectorArgs(match_labels={SPARK_ROLE_LABEL: "driver"}),
            policy_types=["Ingress"],
            ingress=[
                networking.NetworkPolicyIngressRuleArgs(
                    from_=[_from_prometheus()],
                    ports=[networking.NetworkPolicyPortArgs(port=SPARK_UI_PORT, protocol="TCP")],
                )
            ],
        ),
        opts=opts,
    )
    return [_deny_all_ingress(f"{name}-deny", namespace, opts), spark_traffic, scraping]


def operator_namespace_policies(
    name: str, namespace: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> list[networking.NetworkPolicy]:
    """Deny ingress by default; allow the admission webhook and Prometheus to the metrics port."""
    allowed = networking.NetworkPolicy(
        f"{name}-allowed",
        metadata=meta.ObjectMetaArgs(name="operator-webhook-and-metrics", namespace=namespace),
        spec=networking.NetworkPolicySpecArgs(
            pod_selector=meta.LabelSelectorArgs(),
            policy_types=["Ingress"],
            # The caller is the API server, outside the pod network on DOKS: no peer to name.
            ingress=[
                networking.NetworkPolicyIngressRuleArgs(
                    ports=[
                        networking.NetworkPolicyPortArgs(port=OPERATOR_WEBHOOK_PORT, protocol="TCP")
                    ]
                ),
                networking.NetworkPolicyIngressRuleArgs(
                    from_=[_from_prometheus()],
                    ports=[
                        networking.NetworkPolicyPortArgs(port=OPERATOR_METRICS_PORT, protocol="TCP")
                    ],
                ),
            ],
        ),
        opts=opts,
    )
    return [_deny_all_ingress(f"{name}-deny", namespace, opts), allowed]
