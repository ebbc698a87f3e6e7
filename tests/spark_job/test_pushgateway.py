import subprocess
import urllib.request
from pathlib import Path

import pytest

from spark_job.pushgateway import GAUGES, exposition, grouping_path, push_results
from tests.prometheus_tools import require_chart_version
from tests.spark_job.spark_support import free_port
from tests.waiting import answers, wait_while_running

RESULTS = {
    "accuracy": 0.91,
    "f1": 0.9,
    "weighted_precision": 0.905,
    "weighted_recall": 0.91,
    "train_seconds": 12.5,
    "total_seconds": 30.25,
    "executors": 2,
    "executor_wait_seconds": 41.5,
    "executors_lost": 1,
    "rows": 200000,
    "completed_tasks": 40,
    "failed_tasks": 1,
    "finished_timestamp_seconds": 1_796_000_000.5,
}


def test_exposition_has_one_typed_gauge_per_result_with_the_app_name() -> None:
    text = exposition(RESULTS, 'train "a"')
    samples = [line for line in text.splitlines() if not line.startswith("#")]
    assert len(samples) == len(GAUGES)
    assert 'spark_doks_run_rows{application_name="train \\"a\\""} 200000.0' in samples
    assert text.count("# TYPE") == len(GAUGES)


def test_scale_up_and_lost_executors_are_pushed_beside_the_times() -> None:
    text = exposition(RESULTS, "train")
    assert 'spark_doks_run_executor_wait_seconds{application_name="train"} 41.5' in text
    assert 'spark_doks_run_executors_lost{application_name="train"} 1.0' in text
    assert 'spark_doks_run_train_seconds{application_name="train"} 12.5' in text


def test_grouping_path_encodes_ids_with_slashes() -> None:
    assert grouping_path("app-1") == "/metrics/job/spark_doks_train/application_id/app-1"
    assert grouping_path("a/b") == "/metrics/job/spark_doks_train/application_id@base64/YS9i"


@pytest.mark.slow
def test_push_lands_in_a_real_pushgateway(tmp_path: Path) -> None:
    binary = require_chart_version("pushgateway")
    port = free_port()
    gateway = subprocess.Popen(
        # Debian's build persists to a file shared by every gateway on the machine: keep apart.
        [binary, f"--web.listen-address=127.0.0.1:{port}", f"--persistence.file={tmp_path / 'pg'}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_while_running("pushgateway ready", gateway, lambda: answers(f"{url}/-/ready"))
        push_results(url, "app-20261127-0001", "spark-doks-train", RESULTS)
        push_results(url, "app-20261127-0001", "spark-doks-train", {**RESULTS, "accuracy": 0.5})
        with urllib.request.urlopen(f"{url}/metrics", timeout=60) as response:
            scraped = response.read().decode()
        labels = (
            'application_id="app-20261127-0001",application_name="spark-doks-train",'
            'instance="",job="spark_doks_train"'
        )
        assert f"spark_doks_run_accuracy{{{labels}}} 0.5" in scraped  # PUT replaced the group
        assert f"spark_doks_run_executors{{{labels}}} 2" in scraped
        assert f"spark_doks_run_rows{{{labels}}} 200000" in scraped
    finally:
        gateway.terminate()
        gateway.wait(timeout=10)
