"""The files the pinned prometheus chart puts in its server ConfigMap, rebuilt from values.

Helm cannot run here (no chart repository), so this follows the chart's template line by line:
prometheus-community/helm-charts, charts/prometheus/templates/cm.yaml at commit cf408a29 (chart
29.27.0), lines 18-124. What it does not follow (remote write/read, TSDB and OTLP settings,
scrape_config_files, alert relabelling) raises, so a value that starts using one is noticed.
"""

import copy
from typing import Any

import yaml

CONFIG_KEY = "prometheus.yml"


def helm_merge(defaults: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """`values` over the chart's `defaults` as Helm merges them: maps merge, the rest replaces."""
    merged = copy.deepcopy(defaults)
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = helm_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _scrape_configs(merged: dict[str, Any], config_file: dict[str, Any]) -> list[dict[str, Any]]:
    jobs = []
    # Go templates range over a map in key order (cm.yaml lines 56-65).
    for key in sorted(merged.get("scrapeConfigs") or {}):
        job = dict(merged["scrapeConfigs"][key])
        if not job.pop("enabled", True):
            continue
        name = job.pop("job_name", "") or key
        jobs.append({"job_name": name, **job})
    jobs += config_file.pop("scrape_configs", None) or []  # lines 66-69
    if merged.get("extraScrapeConfigs"):  # lines 70-72 (tpl: this project's text has no {{ }})
        jobs += yaml.safe_load(merged["extraScrapeConfigs"])
    return jobs


def _alertmanagers(merged: dict[str, Any], namespace: str, release: str) -> list[dict[str, Any]]:
    """The chart's default discovery of its own Alertmanager (cm.yaml lines 98-119)."""
    alertmanager = merged["alertmanager"]
    name = (alertmanager.get("nameOverride") or "alertmanager")[:63].rstrip("-")
    discovery: dict[str, Any] = {
        "kubernetes_sd_configs": [{"role": "pod"}],
        "tls_config": {"ca_file": "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"},
        "bearer_token_file": "/var/run/secrets/kubernetes.io/serviceaccount/token",
    }
    if alertmanager.get("prefixURL"):
        discovery["path_prefix"] = alertmanager["prefixURL"]
    discovery["relabel_configs"] = [
        {"source_labels": ["__meta_kubernetes_namespace"], "regex": namespace, "action": "keep"},
        {
            "source_labels": ["__meta_kubernetes_pod_label_app_kubernetes_io_instance"],
            "regex": release,
            "action": "keep",
        },
        {
            "source_labels": ["__meta_kubernetes_pod_label_app_kubernetes_io_name"],
            "regex": name,
            "action": "keep",
        },
        {
            "source_labels": ["__meta_kubernetes_pod_container_port_number"],
            "regex": "9093",
            "action": "keep",
        },
    ]
    return [discovery]


def server_files(
    values: dict[str, Any], defaults: dict[str, Any], namespace: str, release: str
) -> dict[str, Any]:
    """ConfigMap key -> parsed content: prometheus.yml and every rule file beside it."""
    merged = helm_merge(defaults, values)
    server = merged["server"]
    unsupported = [
        key
        for key in ("remoteWrite", "remoteRead", "tsdb", "exemplars", "otlp", "alertmanagers")
        if server.get(key)
    ] + [key for key in ("scrapeConfigFiles", "alertRelabelConfigs") if merged.get(key)]
    if unsupported:
        raise NotImplementedError(f"cm.yaml parts not followed here: {unsupported}")
    files: dict[str, Any] = {}
    for key, value in merged["serverFiles"].items():
        if key == "alerts" and value and not value.get("groups"):
            raise NotImplementedError("the deprecated `alerts` map form (cm.yaml lines 76-82)")
        if key != CONFIG_KEY:
            files[key] = value or {}
            continue
        config_file = copy.deepcopy(value)
        config: dict[str, Any] = {"global": server["global"]}
        scrape_configs = _scrape_configs(merged, config_file)
        if scrape_configs:
            config["scrape_configs"] = scrape_configs
        config.update(config_file)  # line 87: the rest of serverFiles."prometheus.yml"
        if merged["alertmanager"].get("enabled"):
            config["alerting"] = {"alertmanagers": _alertmanagers(merged, namespace, release)}
        files[key] = config
    return files
