"""Training waits for every executor: a real standalone cluster whose second worker comes late.

The late worker stands in for a node the autoscaler adds after the run was submitted: it starts
20 s after the application registered with the master. With spark_job.executors' wait settings
the driver must run no job before it, then fit with both executors and report a wait of at least
20 s. Without them Spark schedules at once: jobs run before the worker starts, and training
starts with the one executor that was there. On a busy machine the trainer may need more than
20 s to reach training, so once jobs are running the late worker waits for training to begin
(it is late either way; what is checked is that Spark did not wait for it).
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


def train_with_a_late_worker(
    dataset: Path, work_dir: Path, wait: bool
) -> tuple[dict[str, Any], list[str]]:
    """The run's metrics.json, and the jobs the driver had run when the late worker was due
    (["(finished)"]: the run was already over)."""
    require_tool("java")
    ui_port = free_port()
    conf = {
        "spark.ui.port": str(ui_port),
        **spark_tuning_conf(2, 1),
        "spark.cores.max": "2",
        "spark.executor.cores": "1",
        "spark.executor.memory": EXECUTOR_MEMORY,
        **(executor_wait_conf(180) if wait else {}),
    }
    output = work_dir / "run"
    with standalone_cluster(1, 1, WORKER_MEMORY, work_dir / "cluster") as cluster:
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
            deadline = time.monotonic() + 120
            while active_applications(cluster.web_ui_url) == 0:
                assert trainer.poll() is None, trainer.communicate()[1]
                assert time.monotonic() < deadline, "the trainer never registered with the master"
                time.sleep(0.2)
            time.sleep(LATE_WORKER_DELAY_SECONDS)
            early_jobs = None
            while early_jobs is None:  # a busy driver's UI may time out; ask until it answers
                assert time.monotonic() < deadline + 120, "the driver's UI never answered"
                early_jobs = ["(finished)"] if trainer.poll() is not None else job_names(ui_port)
            while early_jobs and trainer.poll() is None:
                if any(TRAINING_JOB in name for name in job_names(ui_port) or []):
                    break
                time.sleep(0.2)
            with worker(cluster, 1, 1, WORKER_MEMORY, work_dir / "cluster"):
                _, stderr = trainer.communicate(timeout=600)
        finally:
            trainer.kill()
            trainer.wait()
    assert trainer.returncode == 0, stderr
    metrics: dict[str, Any] = json.loads((output / "metrics.json").read_text())
    return metrics, early_jobs


def test_training_starts_only_once_the_late_executor_registered(
    dataset: Path, tmp_path: Path
) -> None:
    metrics, early_jobs = train_with_a_late_worker(dataset, tmp_path, wait=True)
    assert early_jobs == []  # the driver was up and ran no job while an executor was missing
    assert metrics["executors"] == 2, metrics
    assert metrics["executor_wait_seconds"] >= LATE_WORKER_DELAY_SECONDS
    assert metrics["executors_lost"] == 0


def test_without_the_wait_training_starts_with_the_executor_already_there(
    dataset: Path, tmp_path: Path
) -> None:
    metrics, early_jobs = train_with_a_late_worker(dataset, tmp_path, wait=False)
    assert early_jobs  # Spark ran jobs with one executor of two
    assert metrics["executors"] == 1, metrics
    assert metrics["executor_wait_seconds"] < LATE_WORKER_DELAY_SECONDS
    # The late executor registered while or after the run trained; it was never lost.
    assert metrics["executors_lost"] == 0
