"""Prometheus (with kube-state-metrics and the Pushgateway) and Grafana, as pinned Helm releases.

Scrape jobs, alert rules and dashboards come from monitoring/ (the same code the local demo and
the tests run); Helm values that are plain data live in the YAML files beside this module.
"""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes
import pulumi_random as random
import yaml

from monitoring.alerts import alert_rules
from monitoring.grafana import DATASOURCE_UID, dashboard_files
from monitoring.queries import pull_credentials_alert
from monitoring.scrape import SCRAPE_INTERVAL, kubernetes_scrape_configs

NAMESPACE = "monitoring"
PROMETHEUS_CHART = "prometheus"
PROMETHEUS_CHART_VERSION = "29.27.0"
PROMETHEUS_REPOSITORY = "https://prometheus-community.github.io/helm-charts"
GRAFANA_CHART = "grafana"
GRAFANA_CHART_VERSION = "12.11.1"
GRAFANA_REPOSITORY = "https://grafana-community.github.io/helm-charts"
PROMETHEUS_VALUES_FILE = Path(__file__).with_name("observability_prometheus_values.yaml")
GRAFANA_VALUES_FILE = Path(__file__).with_name("observability_grafana_values.yaml")
# Fixed release names give the services stable in-cluster names.
PROMETHEUS_RELEASE = "prometheus"
GRAFANA_RELEASE = "grafana"
ADMIN_SECRET = "grafana-admin"
ADMIN_PASSWORD_KEY = "admin-password"
DASHBOARD_PROVIDER = "spark-doks"
PUSHGATEWAY_PORT = 9091
# Alertmanager reads the Slack webhook from this Secret, mounted as a file: the URL never enters
# the Helm values, which the chart renders into a ConfigMap.
ALERT_SECRET = "alertmanager-slack"
ALERT_SECRET_KEY = "webhook-url"
ALERT_SECRET_DIR = "/etc/alertmanager/slack"
# Names the secret config key a Secret's data comes from (the policy pack accepts that source).
SECRET_CONFIG_ANNOTATION = "spark-doks.io/data-from-secret-config"


def prometheus_url(namespace: str) -> str:
    return f"http://{PROMETHEUS_RELEASE}-server.{namespace}.svc.cluster.local"


def pushgateway_url(namespace: str) -> str:
    service = f"{PROMETHEUS_RELEASE}-prometheus-pushgateway"
    return f"http://{service}.{namespace}.svc.cluster.local:{PUSHGATEWAY_PORT}"


def prometheus_values(
    job_namespace: str,
    operator_namespace: str,
    alerting: bool,
    pull_credentials_expire_at: str | None = None,
) -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load(PROMETHEUS_VALUES_FILE.read_text())
    scrape_configs = kubernetes_scrape_configs(job_namespace, operator_namespace)
    values["extraScrapeConfigs"] = yaml.safe_dump(scrape_configs, sort_keys=False)
    stack_alerts = (
        []
        if pull_credentials_expire_at is None
        else [pull_credentials_alert(datetime.fromisoformat(pull_credentials_expire_at))]
    )
    values["serverFiles"] = {"alerting_rules.yml": alert_rules(stack_alerts)}
    values["alertmanager"] = alertmanager_values() if alerting else {"enabled": False}
    return values


def alertmanager_values() -> dict[str, Any]:
    """Alertmanager posting every alert, and its resolution, to the Slack webhook."""
    receiver = "slack"
    return {
        "enabled": True,
        "extraSecretMounts": [
            {
                "name": ALERT_SECRET,
                "mountPath": ALERT_SECRET_DIR,
                "secretName": ALERT_SECRET,
                "readOnly": True,
            }
        ],
        "config": {
            "receivers": [
                {
                    "name": receiver,
                    "slack_configs": [
                        {
                            "api_url_file": f"{ALERT_SECRET_DIR}/{ALERT_SECRET_KEY}",
                            "send_resolved": True,
                            "title": "{{ .Status | toUpper }}: {{ .CommonLabels.alertname }}",
                            "text": "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ end }}",
                        }
                    ],
                }
            ],
            "route": {
                "receiver": receiver,
                "group_by": ["alertname", "namespace", "application_id"],
                "group_wait": "30s",
                "group_interval": "5m",
                "repeat_interval": "4h",
            },
        },
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
    }


def grafana_values(namespace: str) -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load(GRAFANA_VALUES_FILE.read_text())
    values["admin"] = {"existingSecret": ADMIN_SECRET, "passwordKey": ADMIN_PASSWORD_KEY}
    values["datasources"] = {
        "datasources.yaml": {
            "apiVersion": 1,
            "datasources": [
                {
                    "name": "Prometheus",
                    "type": "prometheus",
                    "uid": DATASOURCE_UID,
                    "url": prometheus_url(namespace),
                    "access": "proxy",
                    "isDefault": True,
                    # Grafana's $__rate_interval is derived from the scrape interval.
                    "jsonData": {"timeInterval": SCRAPE_INTERVAL},
                }
            ],
        }
    }
    values["dashboards"] = {
        DASHBOARD_PROVIDER: {name: {"json": text} for name, text in dashboard_files().items()}
    }
    return values


@dataclass(frozen=True)
class ObservabilityArgs:
    job_namespace: str
    operator_namespace: str
    alerting: bool
    alert_slack_webhook_url: str  # required when alerting
    namespace: str = NAMESPACE
    pull_credentials_expire_at: pulumi.Output[str] | None = None
    """When the registry pull credentials expire (RFC 3339): an alert warns ahead of it."""


class Observability(pulumi.ComponentResource):
    """Monitoring namespace, Prometheus release, Grafana release and Grafana's admin Secret."""

    def __init__(
        self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("spark-doks:infra:Observability", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        meta = kubernetes.meta.v1.ObjectMetaArgs
        namespace = kubernetes.core.v1.Namespace(
            name, metadata=meta(name=args.namespace), opts=child
        )
        namespace_name = namespace.metadata.name

        password = random.RandomPassword(
            f"{name}-grafana-admin", length=32, special=False, opts=child
        )
        admin_secret = kubernetes.core.v1.Secret(
            f"{name}-grafana-admin",
            metadata=meta(name=ADMIN_SECRET, namespace=namespace_name),
            type="Opaque",
            string_data={ADMIN_PASSWORD_KEY: password.result},
            opts=child,
        )
        prometheus_dependencies: list[pulumi.Resource] = []
        if args.alerting:
            prometheus_dependencies.append(
                kubernetes.core.v1.Secret(
                    f"{name}-alert-slack",
                    metadata=meta(
                        name=ALERT_SECRET,
                        namespace=namespace_name,
                        annotations={SECRET_CONFIG_ANNOTATION: "alertSlackWebhookUrl"},
                    ),
                    type="Opaque",
                    string_data={
                        ALERT_SECRET_KEY: pulumi.Output.secret(args.alert_slack_webhook_url)
                    },
                    opts=child,
                )
            )
        self.prometheus = kubernetes.helm.v3.Release(
            f"{name}-prometheus",
            name=PROMETHEUS_RELEASE,
            chart=PROMETHEUS_CHART,
            version=PROMETHEUS_CHART_VERSION,
            repository_opts=kubernetes.helm.v3.RepositoryOptsArgs(repo=PROMETHEUS_REPOSITORY),
            namespace=namespace_name,
            values=pulumi.Output.from_input(args.pull_credentials_expire_at).apply(
                lambda expire_at: prometheus_values(
                    args.job_namespace, args.operator_namespace, args.alerting, expire_at
                )
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=prometheus_dependencies),
        )
        self.grafana = kubernetes.helm.v3.Release(
            f"{name}-grafana",
            name=GRAFANA_RELEASE,
            chart=GRAFANA_CHART,
            version=GRAFANA_CHART_VERSION,
            repository_opts=kubernetes.helm.v3.RepositoryOptsArgs(repo=GRAFANA_REPOSITORY),
            namespace=namespace_name,
            values=grafana_values(args.namespace),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[admin_secret, self.prometheus]),
        )
        self.pushgateway_url = pushgateway_url(args.namespace)
        self.namespace: pulumi.Output[str] = namespace_name
        self.register_outputs({"namespace": namespace_name, "pushgatewayUrl": self.pushgateway_url})
