"""Training waits for every executor: a real standalone cluster whose second worker comes late.

The late worker stands in for a node the autoscaler adds after the run was submitted. With
spark_job.executors' wait settings the driver must run no job before that worker exists (it is
started 20 s after the driver's UI answers), then fit with both executors and report a wait that
lasted until after the worker started. Without them Spark schedules at once: the worker is
started only once training runs on the one executor that was there, and the run reports the wait
for that executor alone. Every step waits for what the driver does, not for a time, so a busy
machine only makes the test slower.
"""

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from spark_job.executors import executor_wait_conf
from spark_job.tuning import spark_tuning_conf
from spark_runs.standalone import active_applications, standalone_cluster, worker
from tests.spark_job.spark_support import (
    free_port,
    generate_dataset,
    get_json,
    spark_env,
    trainer_command,
)
from tests.support import REPO_ROOT, require_tool
from tests.waiting import HANG_GUARD_SECONDS, wait_while_running

pytestmark = pytest.mark.slow

ROWS = 2_000
LATE_WORKER_DELAY_SECONDS = 20.0
WORKER_MEMORY = "768m"
EXECUTOR_MEMORY = "512m"
TRAINING_JOB = "RandomForest.scala"  # Spark's tree learner runs one such job per tree level


def job_names(ui_port: int) -> list[str] | None:
    """Names of the jobs the driver has submitted so far (its UI's REST API); None while the UI
    does not answer."""
    base = f"http://127.0.0.1:{ui_port}/api/v1/applications"
    try:
        return [
            str(job["name"])
            for application in get_json(base)
            for job in get_json(f"{base}/{application['id']}/jobs")
        ]
    except (OSError, ValueError):  # the UI is not up yet, or not yet JSON
        return None


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    location = tmp_path_factory.mktemp("data") / "tiny"
    generate_dataset(location, ROWS, "--seed", "5")
    return location


def application_start(ui_port: int) -> float | None:
    """When the driver's application started (Unix seconds); None while its UI does not answer."""
    try:
        (application,) = get_json(f"http://127.0.0.1:{ui_port}/api/v1/applications")
    except (OSError, ValueError):
        return None
    return float(application["attempts"][0]["startTimeEpoch"]) / 1000


def has_training_job(ui_port: int) -> bool | None:
    return True if any(TRAINING_JOB in name for name in job_names(ui_port) or []) else None


def train_with_a_late_worker(
    dataset: Path, work_dir: Path, wait: bool
) -> tuple[dict[str, Any], list[str], float]:
    """The run's metrics.json, the jobs the driver had run before the late worker started, and
    when (in seconds since the application started) that worker was started."""
    require_tool("java")
    ui_port = free_port()
    conf = {
        "spark.ui.port": str(ui_port),
        **spark_tuning_conf(2, 1),
        "spark.cores.max": "2",
        "spark.executor.cores": "1",
        "spark.executor.memory": EXECUTOR_MEMORY,
        # Far beyond any start-up on a busy machine: only the late executor ends the wait.
        **(executor_wait_conf(int(HANG_GUARD_SECONDS)) if wait else {}),
    }
    output = work_dir / "run"
    with standalone_cluster(
        1, 1, WORKER_MEMORY, work_dir / "cluster", start_timeout_seconds=HANG_GUARD_SECONDS
    ) as cluster:
        trainer = subprocess.Popen(
            trainer_command(
                *("--input", str(dataset), "--output", str(output)),
                *("--master", cluster.master_url),
                *(item for key, value in conf.items() for item in ("--conf", f"{key}={value}")),
            ),
            env=spark_env(),
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_while_running(
                "the trainer registers with the master",
                trainer,
                lambda: active_applications(cluster.web_ui_url) or None,
            )
            started = wait_while_running(
                "the driver's UI", trainer, lambda: application_start(ui_port)
            )
            if wait:
                # A driver that waits can run no job before the late worker exists, however
                # fast or slow the machine: watch it for a while, then bring the worker.
                time.sleep(LATE_WORKER_DELAY_SECONDS)
                early_jobs = wait_while_running(
                    "the driver's UI", trainer, lambda: job_names(ui_port)
                )
            else:
                # Without the wait Spark schedules on the one executor it has: the late worker
                # comes once training runs there.
                early_jobs = wait_while_running(
                    "a job on one executor", trainer, lambda: job_names(ui_port) or None
                )
                wait_while_running(
                    "training on one executor", trainer, lambda: has_training_job(ui_port)
                )
            late_worker_after = time.time() - started
            with worker(cluster, 1, 1, WORKER_MEMORY, work_dir / "cluster"):
                _, stderr = trainer.communicate(timeout=HANG_GUARD_SECONDS)
        finally:
            trainer.kill()
            trainer.wait()
    assert trainer.returncode == 0, stderr
    metrics: dict[str, Any] = json.loads((output / "metrics.json").read_text())
    return metrics, early_jobs, late_worker_after


def test_training_starts_only_once_the_late_executor_registered(
    dataset: Path, tmp_path: Path
) -> None:
    metrics, early_jobs, late_worker_after = train_with_a_late_worker(dataset, tmp_path, wait=True)
    assert early_jobs == []  # the driver was up and ran no job while an executor was missing
    assert metrics["executors"] == 2, metrics
    # The wait lasted until an executor of the worker started late had registered.
    assert metrics["executor_wait_seconds"] >= late_worker_after
    assert metrics["executors_lost"] == 0


def test_without_the_wait_training_starts_with_the_executor_already_there(
    dataset: Path, tmp_path: Path
) -> None:
    metrics, early_jobs, late_worker_after = train_with_a_late_worker(dataset, tmp_path, wait=False)
    assert early_jobs  # Spark ran jobs with one executor of two
    assert metrics["executors"] == 1, metrics
    # The executor it trained with registered before the late worker was even started.
    assert metrics["executor_wait_seconds"] < late_worker_after
    # The late executor registered while or after the run trained; it was never lost.
    assert metrics["executors_lost"] == 0
