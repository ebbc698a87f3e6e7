"""Helpers for tests that run real Spark: the trainer CLI, small datasets, a standalone cluster."""

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from spark_runs.standalone import StandaloneCluster
from spark_runs.standalone import standalone_cluster as start_standalone_cluster
from tests.support import REPO_ROOT
from tests.waiting import HANG_GUARD_SECONDS, wait_while_running


def tree_of(model: Path) -> Any:
    """The decision tree inside a saved trainer model (a PipelineModel); needs a session."""
    from pyspark.ml import PipelineModel
    from pyspark.ml.classification import DecisionTreeClassificationModel

    (tree,) = [
        stage
        for stage in PipelineModel.load(str(model)).stages
        if isinstance(stage, DecisionTreeClassificationModel)
    ]
    return tree


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def spark_env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
    }


def trainer_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "spark_job.train", *args]


def run_trainer(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        trainer_command(*args),
        env=spark_env(),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
    )


def generate_dataset(output: Path, rows: int, *extra: str) -> dict[str, Any]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "spark_job.datagen",
            "--rows",
            str(rows),
            "--output",
            str(output),
            *extra,
        ],
        env=spark_env(),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
    )
    assert result.returncode == 0, result.stderr
    metadata: dict[str, Any] = json.loads((output / "_dataset.json").read_text())
    return metadata


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def wait_for_job(ui_port: int, name_part: str, process: subprocess.Popen[str]) -> None:
    """Block until the driver UI on ``ui_port`` lists a job whose name contains ``name_part``."""
    base = f"http://127.0.0.1:{ui_port}/api/v1/applications"

    def job_started() -> bool | None:
        try:
            for application in get_json(base):
                jobs = get_json(f"{base}/{application['id']}/jobs")
                if any(name_part in job["name"] for job in jobs):
                    return True
        except (OSError, ValueError):
            pass  # the UI is not up yet, or answers before its REST API is (not JSON)
        return None

    wait_while_running(f"a job named like {name_part!r}", process, job_started)


@contextmanager
def standalone_cluster(workdir: Path, workers: int = 2) -> Iterator[StandaloneCluster]:
    """One-core, 1g workers from spark_runs.standalone, the sweep's cluster manager."""
    with start_standalone_cluster(
        workers, 1, "1g", workdir, start_timeout_seconds=HANG_GUARD_SECONDS
    ) as cluster:
        yield cluster


def process_group_members(group: int) -> list[int]:
    members = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            stat = stat_file.read_text()
        except OSError:  # the process ended while we looked
            continue
        if int(stat.rsplit(")", 1)[1].split()[2]) == group:
            members.append(int(stat_file.parent.name))
    return members


def kill_worker(cluster: StandaloneCluster, index: int) -> None:
    """SIGKILL a worker and the executor it launched, as a lost node would."""
    worker = cluster.worker_processes[index]
    executors = [pid for pid in process_group_members(worker.pid) if pid != worker.pid]
    assert executors, "the worker runs no executor to lose"
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()


def cluster_args(cluster: StandaloneCluster, executors: int, ui_port: int) -> Sequence[str]:
    from spark_job.tuning import spark_tuning_conf

    conf = {
        **spark_tuning_conf(executors, 1),
        "spark.cores.max": str(executors),
        "spark.executor.cores": "1",
        "spark.executor.memory": "768m",
        # Start only once every executor is there, so both runs partition work the same way;
        # Spark's default gives up waiting after 30 s, which a busy machine can take.
        "spark.scheduler.minRegisteredResourcesRatio": "1.0",
        "spark.scheduler.maxRegisteredResourcesWaitingTime": f"{HANG_GUARD_SECONDS:.0f}s",
        "spark.ui.port": str(ui_port),
    }
    return [
        "--master",
        cluster.master_url,
        *[arg for key, value in conf.items() for arg in ("--conf", f"{key}={value}")],
    ]
