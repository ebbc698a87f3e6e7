"""The generated scrape configuration and alert rules pass promtool, and the rules fire as meant."""

import subprocess
from pathlib import Path
from typing import Any

import yaml

from monitoring.alerts import alert_rules
from monitoring.scrape import (
    SCRAPE_INTERVAL,
    SPARK_ENDPOINTS,
    kubernetes_scrape_configs,
    local_prometheus_config,
)
from monitoring.spark_metrics import DRIVER_PATH, EXECUTORS_PATH
from tests.support import require_tool


def promtool(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_tool("promtool"), *args], cwd=tmp_path, capture_output=True, text=True
    )


def write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_cluster_scrape_config_passes_promtool(tmp_path: Path) -> None:
    # Debian's Prometheus is built without Kubernetes discovery, so promtool checks everything
    # else (relabel rules, TLS, auth, paths) with an empty file discovery in its place; the
    # discovery blocks themselves are checked field by field below.
    jobs = kubernetes_scrape_configs("spark-jobs", "spark-operator")
    for job in jobs:
        discovery = job.pop("kubernetes_sd_configs")
        assert [entry["role"] for entry in discovery] in (["pod"], ["node"])
        assert all(set(entry) <= {"role", "namespaces"} for entry in discovery)
        job["file_sd_configs"] = [{"files": ["targets.json"]}]
    config = write(tmp_path / "prometheus.yml", {"scrape_configs": jobs})
    result = promtool(tmp_path, "check", "config", "--syntax-only", str(config))
    assert result.returncode == 0, result.stdout + result.stderr


def test_local_scrape_config_passes_promtool(tmp_path: Path) -> None:
    config = local_prometheus_config("127.0.0.1:4040", "127.0.0.1:9091", "15s")
    result = promtool(tmp_path, "check", "config", str(write(tmp_path / "p.yml", config)))
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_pass_promtool(tmp_path: Path) -> None:
    rules = write(tmp_path / "rules.yml", alert_rules())
    result = promtool(tmp_path, "check", "rules", str(rules))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 rules found" in result.stdout


def test_both_spark_endpoints_are_scraped_from_driver_pods_by_label() -> None:
    jobs = {
        job["job_name"]: job for job in kubernetes_scrape_configs("spark-jobs", "spark-operator")
    }
    assert {jobs[name]["metrics_path"] for name in SPARK_ENDPOINTS} == {
        EXECUTORS_PATH,
        DRIVER_PATH,
    }
    for name in SPARK_ENDPOINTS:
        job = jobs[name]
        assert job["scrape_interval"] == SCRAPE_INTERVAL == "15s"
        assert job["kubernetes_sd_configs"] == [
            {"role": "pod", "namespaces": {"names": ["spark-jobs"]}}
        ]
        keep = [rule for rule in job["relabel_configs"] if rule.get("action") == "keep"]
        assert {
            "source_labels": ["__meta_kubernetes_pod_label_spark_role"],
            "regex": "driver",
            "action": "keep",
        } in keep
        assert "static_configs" not in job


def test_cadvisor_is_scraped_with_node_names() -> None:
    jobs = {
        job["job_name"]: job for job in kubernetes_scrape_configs("spark-jobs", "spark-operator")
    }
    cadvisor = jobs["kubernetes-cadvisor"]
    assert cadvisor["metrics_path"] == "/metrics/cadvisor"
    assert {"source_labels": ["__meta_kubernetes_node_name"], "target_label": "node"} in cadvisor[
        "relabel_configs"
    ]


def rule_test(tmp_path: Path, series: list[dict[str, str]], alert: str, fired: list[Any]) -> str:
    write(tmp_path / "rules.yml", alert_rules())
    test = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "15s",
        "tests": [
            {
                "interval": "15s",
                "input_series": series,
                "alert_rule_test": [{"eval_time": "5m", "alertname": alert, "exp_alerts": fired}],
            }
        ],
    }
    result = promtool(tmp_path, "test", "rules", str(write(tmp_path / "test.yml", test)))
    return result.stdout + result.stderr if result.returncode else ""


def test_gc_share_alert_fires_above_ten_percent_only(tmp_path: Path) -> None:
    def series(app: str, gc_per_step: str) -> list[dict[str, str]]:
        labels = f'application_id="{app}", executor_id="1"'
        return [
            {
                "series": f"metrics_executor_totalGCTime_seconds_total{{{labels}}}",
                "values": f"0+{gc_per_step}x40",
            },
            {
                "series": f"metrics_executor_totalDuration_seconds_total{{{labels}}}",
                "values": "0+10x40",
            },
            {"series": f"metrics_executor_maxTasks{{{labels}}}", "values": "1x40"},
        ]

    fired = [
        {
            "exp_labels": {"application_id": "busy-gc", "severity": "warning"},
            "exp_annotations": {
                "summary": "Application busy-gc spends 20% of task time in GC",
            },
        }
    ]
    failure = rule_test(
        tmp_path, series("busy-gc", "2") + series("healthy", "0.5"), "SparkHighGcShare", fired
    )
    assert failure == ""


def test_lost_executor_alert_fires_while_the_application_runs(tmp_path: Path) -> None:
    def executor(executor_id: str, values: str) -> dict[str, str]:
        labels = f'application_id="app", executor_id="{executor_id}"'
        return {"series": f"metrics_executor_maxTasks{{{labels}}}", "values": values}

    series = [executor("1", "1x40"), executor("2", "1x10 stale"), executor("3", "_x12 1x28")]
    fired = [
        {
            "exp_labels": {"application_id": "app", "severity": "warning"},
            "exp_annotations": {"summary": "Application app lost executors"},
        }
    ]
    assert rule_test(tmp_path, series, "SparkExecutorsLost", fired) == ""
    # Every executor gone together means the application ended: no alert.
    ended = [executor("1", "1x10 stale"), executor("2", "1x10 stale")]
    assert rule_test(tmp_path, ended, "SparkExecutorsLost", []) == ""


def test_operator_controller_is_scraped_in_its_namespace() -> None:
    jobs = {job["job_name"]: job for job in kubernetes_scrape_configs("jobs", "operators")}
    assert jobs["spark-operator"]["kubernetes_sd_configs"] == [
        {"role": "pod", "namespaces": {"names": ["operators"]}}
    ]
