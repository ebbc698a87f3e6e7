"""The generated scrape configuration and alert rules pass promtool, and the rules fire as meant.

promtool is the one the pinned prometheus chart runs (tests/prometheus_tools.py), built with
Kubernetes discovery, so the cluster's whole configuration gets the full check.
"""

import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.observability import NAMESPACE, PROMETHEUS_RELEASE, prometheus_values
from monitoring.alerts import alert_rules
from monitoring.queries import ALERTS, Alert, by_name, pull_credentials_alert, render
from monitoring.scrape import (
    SCRAPE_INTERVAL,
    SPARK_ENDPOINTS,
    kubernetes_scrape_configs,
    local_prometheus_config,
)
from monitoring.spark_metrics import DRIVER_PATH, EXECUTORS_PATH
from tests.prometheus_chart import CONFIG_KEY, server_files
from tests.prometheus_tools import require_chart_version
from tests.support import schema_file

# Where the chart mounts its ConfigMap and Kubernetes the service account's token.
CONFIG_DIR = "/etc/config/"
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount/"


def promtool(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_chart_version("promtool"), *args], cwd=tmp_path, capture_output=True, text=True
    )


def write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@pytest.mark.parametrize("alerting", [False, True])
def test_the_cluster_prometheus_config_passes_the_full_promtool_check(
    tmp_path: Path, alerting: bool
) -> None:
    # The ConfigMap the chart renders from the program's values, written where its paths point
    # once moved below tmp_path; the service account's token file is a stand-in (promtool checks
    # that it exists, cmd/promtool/main.go:714 at v0.314.0).
    values = prometheus_values("spark-jobs", "spark-operator", alerting)
    defaults = yaml.safe_load(schema_file("charts/prometheus/values.yaml").read_text())
    files = server_files(values, defaults, NAMESPACE, PROMETHEUS_RELEASE)
    config_dir, account_dir = tmp_path / "etc-config", tmp_path / "serviceaccount"
    config_dir.mkdir()
    account_dir.mkdir()
    (account_dir / "token").write_text("stand-in token\n")
    for name, content in files.items():
        text = yaml.safe_dump(content, sort_keys=False)
        text = text.replace(CONFIG_DIR, f"{config_dir}/")
        (config_dir / name).write_text(text.replace(SERVICE_ACCOUNT_DIR, f"{account_dir}/"))
    config = files[CONFIG_KEY]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert {*SPARK_ENDPOINTS, "kubernetes-cadvisor", "spark-operator"} <= set(jobs)
    assert "kubernetes-nodes-cadvisor" not in jobs  # replaced by the job with `node` labels
    assert ("alerting" in config) is alerting
    result = promtool(tmp_path, "check", "config", str(config_dir / CONFIG_KEY))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in result.stdout


def test_spark_jobs_fall_back_to_the_text_format() -> None:
    jobs = {job["job_name"]: job for job in kubernetes_scrape_configs("jobs", "operators")}
    for name in SPARK_ENDPOINTS:
        assert jobs[name]["fallback_scrape_protocol"] == "PrometheusText0.0.4"
    local = local_prometheus_config(["127.0.0.1:4040"], None, "2s", prometheus_major_version=3)
    assert all(job["fallback_scrape_protocol"] for job in local["scrape_configs"])
    # Prometheus 2.x rejects the key.
    old = local_prometheus_config(["127.0.0.1:4040"], None, "2s", prometheus_major_version=2)
    assert all("fallback_scrape_protocol" not in job for job in old["scrape_configs"])


def test_local_scrape_config_passes_promtool(tmp_path: Path) -> None:
    config = local_prometheus_config(["127.0.0.1:4040"], "127.0.0.1:9091", "15s")
    result = promtool(tmp_path, "check", "config", str(write(tmp_path / "p.yml", config)))
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_pass_promtool(tmp_path: Path) -> None:
    rules = write(tmp_path / "rules.yml", alert_rules())
    result = promtool(tmp_path, "check", "rules", str(rules))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(ALERTS)} rules found" in result.stdout


def test_the_pull_credentials_alert_fires_two_weeks_before_they_expire(tmp_path: Path) -> None:
    # promtool evaluates from the Unix epoch: these credentials expire 14 days and 1 hour in.
    expires_at = datetime.fromtimestamp(14 * 86400 + 3600, UTC)
    alert = pull_credentials_alert(expires_at)
    cases = [("30m", []), ("2h", fired({}, alert.summary))]
    series = [{"series": "up", "values": "1x600"}]
    assert rule_test(tmp_path, series, alert.name, cases, [alert]) == ""


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


Case = tuple[str, list[dict[str, Any]]]  # (eval_time, expected alerts)


def rule_test(
    tmp_path: Path,
    series: list[dict[str, str]],
    alert: str,
    cases: list[Case],
    stack_alerts: Sequence[Alert] = (),
) -> str:
    """promtool's verdict on `alert` at each evaluation time; empty when every case holds."""
    write(tmp_path / "rules.yml", alert_rules(stack_alerts))
    test = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "15s",
        "tests": [
            {
                "interval": "15s",
                "input_series": series,
                "alert_rule_test": [
                    {"eval_time": at, "alertname": alert, "exp_alerts": fired}
                    for at, fired in cases
                ],
            }
        ],
    }
    result = promtool(tmp_path, "test", "rules", str(write(tmp_path / "test.yml", test)))
    return result.stdout + result.stderr if result.returncode else ""


def fired(labels: dict[str, str], summary: str) -> list[dict[str, Any]]:
    return [
        {"exp_labels": {**labels, "severity": "warning"}, "exp_annotations": {"summary": summary}}
    ]


def executor_series(
    app: str, executor_id: str, gc: str, duration: str, slots: str = "1x40"
) -> list[dict[str, str]]:
    labels = f'application_id="{app}", executor_id="{executor_id}"'
    return [
        {"series": f"metrics_executor_totalGCTime_seconds_total{{{labels}}}", "values": gc},
        {"series": f"metrics_executor_totalDuration_seconds_total{{{labels}}}", "values": duration},
        {"series": f"metrics_executor_maxTasks{{{labels}}}", "values": slots},
    ]


def test_gc_share_alert_fires_above_ten_percent_only(tmp_path: Path) -> None:
    series = executor_series("busy-gc", "1", "0+2x40", "0+10x40") + executor_series(
        "healthy", "1", "0+0.5x40", "0+10x40"
    )
    summary = "Application busy-gc spends 20% of task time in GC"
    cases: list[Case] = [("5m", fired({"application_id": "busy-gc"}, summary))]
    assert rule_test(tmp_path, series, "SparkHighGcShare", cases) == ""


def test_gc_share_alert_fires_for_a_high_gc_part_of_a_short_run(tmp_path: Path) -> None:
    # A 3.5-minute run: 2 % GC for two minutes, then 40 % for the last 75 s. Over its lifetime
    # the share passes 10 % only in the last 30 s.
    gc = "0+0.2x8 5.6+4x4 stale"
    series = executor_series("short", "1", gc, "0+10x13 stale", "1x13 stale")
    summary = "Application short spends 40% of task time in GC"
    cases: list[Case] = [
        ("1m45s", []),
        ("3m15s", fired({"application_id": "short"}, summary)),
    ]
    assert rule_test(tmp_path, series, "SparkHighGcShare", cases) == ""


def test_gc_share_alert_ignores_the_local_mode_driver_uptime(tmp_path: Path) -> None:
    # Local mode: the driver row's totalDuration is uptime and its totalGCTime the whole JVM's;
    # the driver's ExecutorSource counters (ms) are the task figures.
    driver = 'application_id="local-1", executor_id="driver"'
    sink = "metrics_spark_doks_driver_executor_"
    series = [
        {
            "series": f"metrics_executor_totalDuration_seconds_total{{{driver}}}",
            "values": "0+15x40",
        },
        {"series": f"metrics_executor_totalGCTime_seconds_total{{{driver}}}", "values": "0+0.1x40"},
        {"series": f"metrics_executor_maxTasks{{{driver}}}", "values": "2x40"},
        {"series": f'metrics_executor_totalCores{{instance="ui", {driver}}}', "values": "2x40"},
        {"series": f'{sink}runTime_Count{{instance="ui"}}', "values": "0+1000x40"},
        {"series": f'{sink}jvmGCTime_Count{{instance="ui"}}', "values": "0+300x40"},
    ]
    summary = "Application local-1 spends 30% of task time in GC"
    cases: list[Case] = [("5m", fired({"application_id": "local-1"}, summary))]
    assert rule_test(tmp_path, series, "SparkHighGcShare", cases) == ""


def max_tasks(executor_id: str, values: str, app: str = "app") -> dict[str, str]:
    labels = f'application_id="{app}", executor_id="{executor_id}"'
    return {"series": f"metrics_executor_maxTasks{{{labels}}}", "values": values}


def test_lost_executor_alert_resolves_once_the_executor_is_replaced(tmp_path: Path) -> None:
    # Executor 2 is lost after 2.5 min; executor 3 replaces it a minute later.
    series = [
        max_tasks("driver", "0x60"),
        max_tasks("1", "1x60"),
        max_tasks("2", "1x10 stale"),
        max_tasks("3", "_x14 1x46"),
    ]
    lost = fired({"application_id": "app"}, "Application app lost executors")
    cases: list[Case] = [("2m", []), ("3m", lost), ("4m", []), ("9m", [])]
    assert rule_test(tmp_path, series, "SparkExecutorsLost", cases) == ""


def test_lost_executor_alert_fires_in_a_run_shorter_than_a_minute(tmp_path: Path) -> None:
    series = [
        max_tasks("driver", "0x3 stale"),
        max_tasks("1", "1x3 stale"),
        max_tasks("2", "1 stale"),
    ]
    lost = fired({"application_id": "app"}, "Application app lost executors")
    assert rule_test(tmp_path, series, "SparkExecutorsLost", [("45s", lost)]) == ""


def test_lost_executor_alert_stays_quiet_when_the_application_ends(tmp_path: Path) -> None:
    # Every executor gone together with the driver means the application ended.
    ended = [max_tasks("driver", "0x10 stale"), max_tasks("1", "1x10 stale")]
    ended.append(max_tasks("2", "1x10 stale"))
    cases: list[Case] = [("3m", []), ("6m", [])]
    assert rule_test(tmp_path, ended, "SparkExecutorsLost", cases) == ""


def test_application_failed_alert_fires_when_the_counter_appears_at_one(tmp_path: Path) -> None:
    # The operator creates its failure counter on first use: after a (re)start the next
    # failure's series starts at 1, with no 0 before it.
    series = [
        {"series": 'spark_application_failure_count{pod="operator-old"}', "values": "2x10 stale"},
        {"series": 'spark_application_failure_count{pod="operator-new"}', "values": "_x20 1x60"},
    ]
    summary = "The spark-operator marked a SparkApplication as failed in the last 10 minutes"
    cases: list[Case] = [("4m", []), ("6m", fired({}, summary)), ("20m", [])]
    assert rule_test(tmp_path, series, "SparkApplicationFailed", cases) == ""


def test_application_failed_alert_counts_failures_of_an_existing_counter(tmp_path: Path) -> None:
    # Prometheus has scraped the counter for 15 minutes when it goes from 1 to 2.
    series = [{"series": "spark_application_failure_count", "values": "1x60 2x40"}]
    summary = "The spark-operator marked a SparkApplication as failed in the last 10 minutes"
    cases: list[Case] = [("14m", []), ("16m", fired({}, summary)), ("26m", [])]
    assert rule_test(tmp_path, series, "SparkApplicationFailed", cases) == ""


def test_driver_failed_alert_fires_once_across_retried_attempts(tmp_path: Path) -> None:
    # Two attempts of SparkApplication "train": each a new driver pod (same name, new uid) that
    # fails; the operator deletes the failed pod before the retry.
    def attempt(uid: str, labels_values: str, failed_values: str) -> list[dict[str, str]]:
        pod = f'namespace="spark-jobs", pod="train-driver", uid="{uid}"'
        return [
            {
                "series": f'kube_pod_labels{{{pod}, label_sparkoperator_k8s_io_app_name="train"}}',
                "values": labels_values,
            },
            {
                "series": "kube_pod_container_status_terminated_reason"
                f'{{{pod}, container="spark-kubernetes-driver", reason="Error"}}',
                "values": failed_values,
            },
        ]

    series = attempt("a", "1x8 stale", "_x4 1x4 stale") + attempt("b", "_x10 1x8", "_x14 1x4")
    failed = fired(
        {"namespace": "spark-jobs", "spark_application": "train"},
        "SparkApplication spark-jobs/train: a driver terminated abnormally",
    )
    cases: list[Case] = [("30s", []), ("1m30s", failed), ("2m45s", failed), ("4m", failed)]
    assert rule_test(tmp_path, series, "SparkDriverFailed", cases) == ""


def test_scrape_failing_alert_fires_while_the_driver_pod_runs(tmp_path: Path) -> None:
    def driver_pod(pod: str, up: str | None) -> list[dict[str, str]]:
        labels = f'namespace="spark-jobs", pod="{pod}"'
        container = 'container="spark-kubernetes-driver"'
        series = [
            {"series": f"kube_pod_container_info{{{labels}, {container}}}", "values": "1x40"},
            {"series": f'kube_pod_status_phase{{{labels}, phase="Running"}}', "values": "1x40"},
            {"series": f'kube_pod_status_phase{{{labels}, phase="Pending"}}', "values": "0x40"},
        ]
        if up is not None:
            series += [
                {"series": f'up{{job="{job}", {labels}}}', "values": up} for job in SPARK_ENDPOINTS
            ]
        return series

    # blocked: scraped but refused (a NetworkPolicy); undiscovered: no target at all.
    series = driver_pod("blocked", "0x40") + driver_pod("undiscovered", None)
    series += driver_pod("healthy", "1x40")
    cases: list[Case] = [
        (
            "3m",
            [
                {
                    "exp_labels": {"namespace": "spark-jobs", "pod": pod, "severity": "warning"},
                    "exp_annotations": {
                        "summary": f"Prometheus cannot scrape Spark driver spark-jobs/{pod}"
                    },
                }
                for pod in ("blocked", "undiscovered")
            ],
        )
    ]
    assert rule_test(tmp_path, series, "SparkMetricsScrapeFailing", cases) == ""


def test_every_rule_has_a_promtool_test() -> None:
    alerts = {
        "gc_share": "SparkHighGcShare",
        "lost_executor": "SparkExecutorsLost",
        "application_failed": "SparkApplicationFailed",
        "driver_failed": "SparkDriverFailed",
        "scrape_failing": "SparkMetricsScrapeFailing",
    }
    tested = {
        alert
        for prefix, alert in alerts.items()
        if any(name.startswith(f"test_{prefix}_alert_") for name in globals())
    }
    assert tested == {alert.name for alert in ALERTS}


def test_operator_controller_is_scraped_in_its_namespace() -> None:
    jobs = {job["job_name"]: job for job in kubernetes_scrape_configs("jobs", "operators")}
    assert jobs["spark-operator"]["kubernetes_sd_configs"] == [
        {"role": "pod", "namespaces": {"names": ["operators"]}}
    ]


def kubernetes_pod_series() -> list[dict[str, str]]:
    """Two Spark applications' pods as kube-state-metrics and cAdvisor report them."""
    pods = [
        # pod, application, container, node, created, scheduled, started, working set
        ("train-driver", "spark-1", "spark-kubernetes-driver", "node-a", 1000, 1002, 1010, 256),
        ("train-exec-1", "spark-1", "spark-kubernetes-executor", "node-b", 1030, 1090, 1095, 512),
        ("other-exec-1", "spark-2", "spark-kubernetes-executor", "node-a", 1000, 1001, 1005, 100),
    ]
    series = []
    for pod, app, container, node, created, scheduled, started, working_set in pods:
        labels = f'namespace="spark-jobs", pod="{pod}", uid="uid-{pod}"'
        with_container = f'{labels}, container="{container}"'
        mib = 2**20
        series += [
            {
                "series": f'kube_pod_labels{{{labels}, label_spark_app_selector="{app}"}}',
                "values": "1x8",
            },
            {"series": f'kube_pod_info{{{labels}, node="{node}"}}', "values": "1x8"},
            {"series": f"kube_pod_created{{{labels}}}", "values": f"{created}x8"},
            {"series": f"kube_pod_status_scheduled_time{{{labels}}}", "values": f"{scheduled}x8"},
            {
                "series": f"kube_pod_container_state_started{{{with_container}}}",
                "values": f"{started}x8",
            },
            {"series": f"kube_pod_container_info{{{with_container}}}", "values": "1x8"},
            {
                "series": f"container_memory_working_set_bytes{{{with_container}}}",
                "values": f"{working_set * mib}x8",
            },
            {
                "series": f"container_spec_memory_limit_bytes{{{with_container}}}",
                "values": f"{1024 * mib}x8",
            },
        ]
    series.append(
        {
            "series": "kube_pod_container_status_terminated_reason"
            '{namespace="spark-jobs", pod="train-exec-1", uid="uid-train-exec-1", '
            'container="spark-kubernetes-executor", reason="OOMKilled"}',
            "values": "1x8",
        }
    )
    return series


def pod(name: str, **extra: str) -> str:
    labels = {"application_id": "spark-1", "namespace": "spark-jobs", "pod": name, **extra}
    return "{" + ", ".join(f'{key}="{value}"' for key, value in sorted(labels.items())) + "}"


@pytest.mark.parametrize(
    ("query", "target", "samples"),
    [
        ("submission_to_executors_running", 0, [('{application_id="spark-1"}', 95)]),
        (
            "pod_startup",
            0,
            [(pod("train-driver", node="node-a"), 2), (pod("train-exec-1", node="node-b"), 60)],
        ),
        (
            "pod_startup",
            1,
            [(pod("train-driver", node="node-a"), 10), (pod("train-exec-1", node="node-b"), 65)],
        ),
        ("oom_killed", 0, [('{application_id="spark-1"}', 1)]),
        ("memory_share_of_limit", 0, [(pod("train-driver"), 0.25), (pod("train-exec-1"), 0.5)]),
        ("memory_by_pod", 0, [(pod("train-driver"), 256 * 2**20), (pod("train-exec-1"), 2**29)]),
    ],
)
def test_cluster_queries_select_the_application_and_compute_on_real_labels(
    tmp_path: Path, query: str, target: int, samples: list[tuple[str, float]]
) -> None:
    # Only the selected application's pods (spark-1), with the figures the series imply.
    expr = render(
        by_name(query).targets[target].expr, application_id="spark-1", namespace="spark-jobs"
    )
    test = {
        "evaluation_interval": "15s",
        "tests": [
            {
                "interval": "15s",
                "input_series": kubernetes_pod_series(),
                "promql_expr_test": [
                    {
                        "expr": expr,
                        "eval_time": "1m",
                        "exp_samples": [
                            {"labels": labels, "value": value} for labels, value in samples
                        ],
                    }
                ],
            }
        ],
    }
    result = promtool(tmp_path, "test", "rules", str(write(tmp_path / "test.yml", test)))
    assert result.returncode == 0, result.stdout + result.stderr


def test_tasks_finished_runs_on_the_driver_counter_then_on_the_pushed_count(
    tmp_path: Path,
) -> None:
    # The UI's last scrape saw 180 tasks; the trainer pushed the run's 201 after the UI stopped.
    driver = 'instance="ui", executor_id="driver", application_id="local-1"'
    sink = 'metrics_spark_doks_driver_appStatus_tasks_completedTasks_Count{instance="ui"}'
    series = [
        {"series": f"metrics_executor_totalCores{{{driver}}}", "values": "2x9 stale"},
        {"series": sink, "values": "0+20x9 stale"},
        {
            "series": 'spark_doks_run_completed_tasks{application_id="local-1", job="train"}',
            "values": "_x11 201x10",
        },
    ]
    (completed, *_) = by_name("total_tasks").targets
    expr = render(completed.expr, application_id="local-1")
    cases = [("1m", 80), ("2m15s", 180), ("3m", 201), ("5m", 201)]
    assert_expr_values(tmp_path, series, expr, cases)


def test_active_tasks_never_exceed_the_slots_of_their_executor(tmp_path: Path) -> None:
    # A local[2] demo's driver row: Spark's activeTasks read 3 and 4 on 2 slots (a finished
    # task still counted while its slot runs the next one). Executor 1 of another run stays below.
    def executor(executor_id: str, active: str, slots: str) -> list[dict[str, str]]:
        labels = f'application_id="local-1", executor_id="{executor_id}"'
        return [
            {"series": f"metrics_executor_activeTasks{{{labels}}}", "values": active},
            {"series": f"metrics_executor_maxTasks{{{labels}}}", "values": slots},
        ]

    series = executor("driver", "0 1 3 4 2 0", "2x5") + executor("1", "0 1 1 0 0 0", "4x5")
    (active, _) = by_name("active_tasks_vs_slots").targets
    expr = render(active.expr, application_id="local-1")
    expected = [("0s", 0), ("15s", 2), ("30s", 3), ("45s", 2), ("1m", 2), ("75s", 0)]
    assert_expr_values(tmp_path, series, expr, expected)


def assert_expr_values(
    tmp_path: Path, series: list[dict[str, str]], expr: str, cases: list[tuple[str, float]]
) -> None:
    """promtool's unit test: ``expr`` over ``series`` gives each value at its time, for the
    application local-1 (every sample 15 s apart)."""
    test = {
        "evaluation_interval": "15s",
        "tests": [
            {
                "interval": "15s",
                "input_series": series,
                "promql_expr_test": [
                    {
                        "expr": expr,
                        "eval_time": at,
                        "exp_samples": [{"labels": '{application_id="local-1"}', "value": value}],
                    }
                    for at, value in cases
                ],
            }
        ],
    }
    result = promtool(tmp_path, "test", "rules", str(write(tmp_path / "test.yml", test)))
    assert result.returncode == 0, result.stdout + result.stderr
