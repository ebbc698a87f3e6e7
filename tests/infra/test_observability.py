"""Prometheus and Grafana as declared by the program (under mocks) and their chart values."""

import json
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest
import yaml
from pulumi.runtime.rpc import is_rpc_secret, unwrap_rpc_secret

from infra.observability import (
    ALERT_SECRET,
    GRAFANA_CHART_VERSION,
    NAMESPACE,
    PROMETHEUS_CHART_VERSION,
    grafana_values,
    prometheus_url,
    prometheus_values,
    pushgateway_url,
)
from infra.offline import DeclaredResource, OfflineRun
from monitoring.grafana import DATASOURCE_UID, dashboard_files
from monitoring.queries import ALERTS, POD_APPLICATION_LABEL, SPARK_APPLICATION_LABEL
from monitoring.spark_metrics import DRIVER_PATH, EXECUTORS_PATH
from tests.prometheus_chart import helm_merge
from tests.support import schema_file, unknown_helm_values

Program = Callable[..., OfflineRun]
RELEASE = "kubernetes:helm.sh/v3:Release"
SECRET = "kubernetes:core/v1:Secret"
PASSWORD = "random:index/randomPassword:RandomPassword"
APPLICATION = "kubernetes:sparkoperator.k8s.io/v1beta2:SparkApplication"


def release(run: OfflineRun, chart: str) -> DeclaredResource:
    (found,) = [r for r in run.of_type(RELEASE) if r.inputs["chart"] == chart]
    return found


def admin_secret(run: OfflineRun) -> DeclaredResource:
    (secret,) = [r for r in run.of_type(SECRET) if r.inputs["metadata"]["name"] == "grafana-admin"]
    return secret


def test_grafana_admin_password_is_generated_secret_and_read_from_the_secret(
    program: Program,
) -> None:
    run = program()
    password = run.one(PASSWORD)
    assert password.inputs["length"] >= 24
    string_data = admin_secret(run).inputs["stringData"]
    assert is_rpc_secret(string_data) or is_rpc_secret(string_data["admin-password"])
    plain = unwrap_rpc_secret(string_data)
    assert unwrap_rpc_secret(plain["admin-password"]) == password.state["result"]
    assert password.urn in admin_secret(run).dependencies
    values = release(run, "grafana").inputs["values"]
    assert values["admin"]["existingSecret"] == "grafana-admin"
    # Only secret values: the user name is a chart value, so a preview of the redacted mirror
    # (infra/preview_mirror.py) computes the same Secret as the mirror holds.
    assert set(plain) == {values["admin"]["passwordKey"]}
    assert values["env"]["GF_SECURITY_ADMIN_USER"] == "admin"
    assert "userKey" not in values["admin"]
    assert "adminPassword" not in values
    assert admin_secret(run).urn in release(run, "grafana").dependencies
    assert run.secret_outputs == set()


def test_releases_are_pinned_in_the_monitoring_namespace(program: Program) -> None:
    run = program()
    for chart, version, repository in (
        ("prometheus", "29.27.0", "https://prometheus-community.github.io/helm-charts"),
        ("grafana", "12.11.1", "https://grafana-community.github.io/helm-charts"),
    ):
        inputs = release(run, chart).inputs
        assert inputs["version"] == version
        assert inputs["repositoryOpts"]["repo"] == repository
        assert inputs["namespace"] == NAMESPACE
    assert (PROMETHEUS_CHART_VERSION, GRAFANA_CHART_VERSION) == ("29.27.0", "12.11.1")


def scrape_jobs(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {job["job_name"]: job for job in yaml.safe_load(values["extraScrapeConfigs"])}


def test_both_spark_endpoints_are_scraped_from_driver_pods_of_the_job_namespace(
    program: Program,
) -> None:
    values = release(program(jobNamespace="training"), "prometheus").inputs["values"]
    jobs = scrape_jobs(values)
    spark_jobs = [
        job for job in jobs.values() if job.get("metrics_path") in (EXECUTORS_PATH, DRIVER_PATH)
    ]
    assert {job["metrics_path"] for job in spark_jobs} == {EXECUTORS_PATH, DRIVER_PATH}
    for job in spark_jobs:
        assert job["scrape_interval"] == "15s"
        assert job["kubernetes_sd_configs"] == [
            {"role": "pod", "namespaces": {"names": ["training"]}}
        ]
        assert any(
            rule.get("source_labels") == ["__meta_kubernetes_pod_label_spark_role"]
            and rule["regex"] == "driver"
            and rule["action"] == "keep"
            for rule in job["relabel_configs"]
        )
    assert jobs["kubernetes-cadvisor"]["metrics_path"] == "/metrics/cadvisor"
    assert values["scrapeConfigs"]["kubernetes-nodes-cadvisor"]["enabled"] is False
    assert values["prometheus-pushgateway"]["enabled"] is True
    assert values["kube-state-metrics"]["enabled"] is True


WEBHOOK = "https://hooks.slack.com/services/T000/B000/not-a-real-token"


def test_alert_rules_are_installed_and_alertmanager_follows_the_alerting_key(
    program: Program,
) -> None:
    values = release(program(), "prometheus").inputs["values"]
    (group,) = values["serverFiles"]["alerting_rules.yml"]["groups"]
    names = [alert.name for alert in ALERTS]
    # A DigitalOcean stack also warns before its registry pull credentials expire.
    assert [rule["alert"] for rule in group["rules"]] == [*names, "RegistryPullCredentialsExpiring"]
    local = release(program("local", target="local"), "prometheus").inputs["values"]
    (group,) = local["serverFiles"]["alerting_rules.yml"]["groups"]
    assert [rule["alert"] for rule in group["rules"]] == names
    assert values["alertmanager"] == {"enabled": False}
    alerting = program(alerting="true", alertSlackWebhookUrl=WEBHOOK)
    assert release(alerting, "prometheus").inputs["values"]["alertmanager"]["enabled"] is True


def test_alerts_reach_slack_through_a_mounted_secret_never_the_values(program: Program) -> None:
    run = program(alerting="true", alertSlackWebhookUrl=WEBHOOK)
    prometheus = release(run, "prometheus")
    alertmanager = prometheus.inputs["values"]["alertmanager"]
    (receiver,) = alertmanager["config"]["receivers"]
    assert alertmanager["config"]["route"]["receiver"] == receiver["name"]
    (slack,) = receiver["slack_configs"]
    (mount,) = alertmanager["extraSecretMounts"]
    assert mount["secretName"] == ALERT_SECRET and mount["readOnly"] is True
    (secret,) = [r for r in run.of_type(SECRET) if r.inputs["metadata"]["name"] == ALERT_SECRET]
    string_data = secret.inputs["stringData"]
    assert is_rpc_secret(string_data) or any(map(is_rpc_secret, string_data.values()))
    plain = {key: unwrap_rpc_secret(value) for key, value in unwrap_rpc_secret(string_data).items()}
    (key,) = plain
    assert plain[key] == WEBHOOK
    assert slack["api_url_file"] == f"{mount['mountPath']}/{key}"
    assert WEBHOOK not in yaml.safe_dump(prometheus.inputs["values"])
    assert secret.urn in prometheus.dependencies
    assert WEBHOOK not in str(run.outputs)


def test_no_alert_secret_without_alerting(program: Program) -> None:
    names = [r.inputs["metadata"]["name"] for r in program().of_type(SECRET)]
    assert ALERT_SECRET not in names


def test_pushgateway_keeps_pushed_runs_on_a_persistent_volume(program: Program) -> None:
    values = release(program(), "prometheus").inputs["values"]["prometheus-pushgateway"]
    volume = values["persistentVolume"]
    assert volume["enabled"] is True
    (persistence,) = [arg for arg in values["extraArgs"] if arg.startswith("--persistence.file=")]
    assert persistence.removeprefix("--persistence.file=").startswith(volume["mountPath"] + "/")


def test_prometheus_grafana_and_pushgateway_request_resources(program: Program) -> None:
    # Without requests they run BestEffort: first evicted on a small node.
    run = program()
    prometheus = release(run, "prometheus").inputs["values"]
    for resources in (
        prometheus["server"]["resources"],
        prometheus["prometheus-pushgateway"]["resources"],
        prometheus["kube-state-metrics"]["resources"],
        release(run, "grafana").inputs["values"]["resources"],
    ):
        assert set(resources["requests"]) == {"cpu", "memory"}
        assert "memory" in resources["limits"]


def ksm_label_name(label: str) -> str:
    """kube-state-metrics' metric label for a Kubernetes label (non-alphanumerics become _)."""
    return "label_" + "".join(char if char.isalnum() else "_" for char in label)


def test_kube_state_metrics_exports_the_pod_labels_the_queries_join_on(program: Program) -> None:
    values = release(program(), "prometheus").inputs["values"]["kube-state-metrics"]
    (pods,) = [entry for entry in values["metricLabelsAllowlist"] if entry.startswith("pods=")]
    allowed = pods.removeprefix("pods=[").removesuffix("]").split(",")
    exported = {ksm_label_name(label) for label in allowed}
    assert {POD_APPLICATION_LABEL, SPARK_APPLICATION_LABEL} <= exported


def test_grafana_provisions_the_prometheus_datasource_and_every_dashboard(
    program: Program,
) -> None:
    values = release(program(), "grafana").inputs["values"]
    (datasource,) = values["datasources"]["datasources.yaml"]["datasources"]
    assert datasource["uid"] == DATASOURCE_UID and datasource["type"] == "prometheus"
    assert (
        datasource["url"]
        == prometheus_url(NAMESPACE)
        == ("http://prometheus-server.monitoring.svc.cluster.local")
    )
    (provider,) = values["dashboardProviders"]["dashboardproviders.yaml"]["providers"]
    assert provider["options"]["path"].endswith("/" + provider["name"])
    provisioned = values["dashboards"][provider["name"]]
    files = dashboard_files()
    assert set(files) == {"spark-application", "spark-runs"}
    assert {name: item["json"] for name, item in provisioned.items()} == files


def test_the_run_pushes_results_and_starts_after_prometheus(program: Program) -> None:
    run = program()
    application = run.one(APPLICATION)
    arguments = application.inputs["spec"]["arguments"]
    assert arguments[arguments.index("--pushgateway") + 1] == pushgateway_url(NAMESPACE)
    assert pushgateway_url(NAMESPACE).startswith(
        "http://prometheus-prometheus-pushgateway.monitoring.svc"
    )
    assert release(run, "prometheus").urn in application.dependencies


def chart_defaults(chart: str) -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load(schema_file(f"charts/{chart}/values.yaml").read_text())
    return values


# The prometheus chart's subcharts the program sets values of (`make schemas` fetches each one's
# defaults from the chart's archive); `enabled` is the parent chart's switch for each.
SUBCHARTS = ("prometheus-pushgateway", "alertmanager", "kube-state-metrics")


@pytest.mark.parametrize("alerting", [False, True])
def test_every_prometheus_value_exists_in_the_chart(alerting: bool) -> None:
    values = prometheus_values("spark-jobs", "spark-operator", alerting)
    subcharts = {name: values.pop(name) for name in SUBCHARTS}
    assert unknown_helm_values(values, chart_defaults("prometheus")) == []
    for name, subchart_values in subcharts.items():
        defaults = {"enabled": True, **chart_defaults(name)}
        if name == "alertmanager":
            # `config` is Alertmanager's own configuration file, below its top-level keys.
            defaults["config"] = {key: {} for key in defaults["config"]}
        assert unknown_helm_values(subchart_values, defaults) == [], name
    if alerting:
        # Helm validates a subchart's merged values against its own schema.
        schema = json.loads(schema_file("charts/alertmanager/values.schema.json").read_text())
        merged = helm_merge(chart_defaults("alertmanager"), subcharts["alertmanager"])
        jsonschema.Draft7Validator(schema).validate(merged)
    schema = yaml.safe_load(schema_file("charts/prometheus/values.schema.json").read_text())
    # The file names the unversioned "json-schema.org/schema#"; Helm validates with draft 7.
    jsonschema.Draft7Validator(schema).validate(
        prometheus_values("spark-jobs", "spark-operator", alerting)
    )


def test_every_grafana_value_exists_in_the_chart() -> None:
    assert unknown_helm_values(grafana_values(NAMESPACE), chart_defaults("grafana")) == []


def test_a_misspelt_value_is_reported() -> None:
    defaults = chart_defaults("grafana")
    assert unknown_helm_values({"admin": {"existingSecrett": "x"}}, defaults) == [
        "admin.existingSecrett"
    ]
    assert unknown_helm_values({"datasources": {"any.yaml": {}}}, defaults) == []
