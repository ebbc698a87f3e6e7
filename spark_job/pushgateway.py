"""Pushing a run's results to a Prometheus Pushgateway (plain HTTP, text exposition format)."""

import base64
import urllib.parse
import urllib.request
from collections.abc import Mapping

JOB = "spark_doks_train"
# metrics.json field -> gauge name; every series also carries the application_name label.
GAUGES = {
    "accuracy": "spark_doks_run_accuracy",
    "f1": "spark_doks_run_f1",
    "weighted_precision": "spark_doks_run_weighted_precision",
    "weighted_recall": "spark_doks_run_weighted_recall",
    "train_seconds": "spark_doks_run_train_seconds",
    "total_seconds": "spark_doks_run_total_seconds",
    "executors": "spark_doks_run_executors",
    "executor_wait_seconds": "spark_doks_run_executor_wait_seconds",
    "executors_lost": "spark_doks_run_executors_lost",
    "rows": "spark_doks_run_rows",
    "completed_tasks": "spark_doks_run_completed_tasks",
    "failed_tasks": "spark_doks_run_failed_tasks",
    "finished_timestamp_seconds": "spark_doks_run_finished_timestamp_seconds",
}
TIMEOUT_SECONDS = 10


def _label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def exposition(results: Mapping[str, object], application_name: str) -> str:
    """The run's gauges in Prometheus' text format."""
    lines = []
    for field, gauge in GAUGES.items():
        value = results[field]
        if not isinstance(value, int | float):
            raise TypeError(f"{field} is {value!r}, not a number")
        lines.append(f"# TYPE {gauge} gauge")
        lines.append(
            f'{gauge}{{application_name="{_label_value(application_name)}"}} {float(value)!r}'
        )
    return "\n".join(lines) + "\n"


def grouping_path(application_id: str) -> str:
    """The Pushgateway group of one run; values with a slash (or empty) need base64 there."""
    if application_id and "/" not in application_id:
        return f"/metrics/job/{JOB}/application_id/{urllib.parse.quote(application_id, safe='')}"
    encoded = base64.urlsafe_b64encode(application_id.encode()).decode() or "="
    return f"/metrics/job/{JOB}/application_id@base64/{encoded}"


def push_results(
    gateway_url: str, application_id: str, application_name: str, results: Mapping[str, object]
) -> None:
    """PUT replaces the whole group, so a re-pushed run never mixes old and new values."""
    request = urllib.request.Request(
        gateway_url.rstrip("/") + grouping_path(application_id),
        data=exposition(results, application_name).encode(),
        method="PUT",
        headers={"Content-Type": "text/plain; version=0.0.4"},
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        response.read()
