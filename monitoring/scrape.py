"""Prometheus scrape configuration for Spark's two endpoints, generated as data.

On a cluster, Prometheus finds driver pods by their `spark-role=driver` label (never a static
per-application target); locally it scrapes the driver UI on loopback.
"""

from collections.abc import Sequence
from typing import Any

from monitoring.spark_metrics import DRIVER_PATH, EXECUTORS_PATH

SCRAPE_INTERVAL = "15s"
SPARK_ENDPOINTS = {"spark-executors": EXECUTORS_PATH, "spark-driver": DRIVER_PATH}
PUSHGATEWAY_JOB = "pushgateway"
CADVISOR_JOB = "kubernetes-cadvisor"
OPERATOR_JOB = "spark-operator"
# The port name the spark-operator chart gives its controller's metrics (prometheus.metrics).
OPERATOR_METRICS_PORT_NAME = "metrics"
SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
# The container port Spark declares for its UI on the driver pod.
SPARK_UI_PORT_NAME = "spark-ui"
# Prometheus 3.x refuses a scrape whose Content-Type it cannot parse unless a fallback is set
# (config/config.go:788 at v0.314.0). Spark 4.0.4's endpoints answer text/plain, and the executors
# endpoint echoes the client's Accept parameters back: the text format is what they serve.
# Prometheus 2.x rejects the key (added in 3.0), so local configs set it for 3.x only.
FALLBACK_SCRAPE_PROTOCOL = {"fallback_scrape_protocol": "PrometheusText0.0.4"}


def _driver_pod_relabeling() -> list[dict[str, Any]]:
    return [
        {
            "source_labels": ["__meta_kubernetes_pod_label_spark_role"],
            "regex": "driver",
            "action": "keep",
        },
        # A finished driver's IP can be reused by another pod.
        {
            "source_labels": ["__meta_kubernetes_pod_phase"],
            "regex": "Running",
            "action": "keep",
        },
        {
            "source_labels": ["__meta_kubernetes_pod_container_port_name"],
            "regex": SPARK_UI_PORT_NAME,
            "action": "keep",
        },
        {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
        {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
    ]


def kubernetes_scrape_configs(job_namespace: str, operator_namespace: str) -> list[dict[str, Any]]:
    """Jobs for an in-cluster Prometheus: both Spark endpoints of every driver pod, cAdvisor with
    a `node` label, and the spark-operator's controller (SparkApplication outcomes)."""
    spark_jobs = [
        {
            "job_name": job,
            "scrape_interval": SCRAPE_INTERVAL,
            "metrics_path": path,
            **FALLBACK_SCRAPE_PROTOCOL,
            "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [job_namespace]}}],
            "relabel_configs": _driver_pod_relabeling(),
        }
        for job, path in SPARK_ENDPOINTS.items()
    ]
    cadvisor = {
        "job_name": CADVISOR_JOB,
        "scrape_interval": SCRAPE_INTERVAL,
        "scheme": "https",
        "metrics_path": "/metrics/cadvisor",
        "authorization": {"credentials_file": f"{SERVICE_ACCOUNT}/token"},
        # Kubelet serving certificates are self-signed on DOKS.
        "tls_config": {"ca_file": f"{SERVICE_ACCOUNT}/ca.crt", "insecure_skip_verify": True},
        "kubernetes_sd_configs": [{"role": "node"}],
        "relabel_configs": [
            {"source_labels": ["__meta_kubernetes_node_name"], "target_label": "node"}
        ],
    }
    operator = {
        "job_name": OPERATOR_JOB,
        "scrape_interval": SCRAPE_INTERVAL,
        "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [operator_namespace]}}],
        "relabel_configs": [
            {
                "source_labels": ["__meta_kubernetes_pod_container_port_name"],
                "regex": OPERATOR_METRICS_PORT_NAME,
                "action": "keep",
            },
            {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
        ],
    }
    return [*spark_jobs, cadvisor, operator]


def local_prometheus_config(
    spark_uis: Sequence[str],
    pushgateway: str | None,
    scrape_interval: str,
    prometheus_major_version: int = 3,
) -> dict[str, Any]:
    """A whole prometheus.yml for one machine: driver UIs (host:port) and the Pushgateway."""
    fallback = FALLBACK_SCRAPE_PROTOCOL if prometheus_major_version >= 3 else {}
    jobs: list[dict[str, Any]] = [
        {
            "job_name": job,
            "metrics_path": path,
            **fallback,
            "static_configs": [{"targets": list(spark_uis)}],
        }
        for job, path in SPARK_ENDPOINTS.items()
    ]
    if pushgateway is not None:
        # honor_labels keeps the pushed job and application_id labels.
        jobs.append(
            {
                "job_name": PUSHGATEWAY_JOB,
                "honor_labels": True,
                "static_configs": [{"targets": [pushgateway]}],
            }
        )
    return {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "scrape_configs": jobs,
    }
