"""Helpers for tests that run real Spark: the trainer CLI, small datasets, a standalone cluster."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pyspark.find_spark_home import _find_spark_home

from tests.support import REPO_ROOT


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
        timeout=600,
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
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    metadata: dict[str, Any] = json.loads((output / "_dataset.json").read_text())
    return metadata


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def wait_for_job(
    ui_port: int, name_part: str, process: subprocess.Popen[str], timeout: float = 300
) -> None:
    """Block until the driver UI on ``ui_port`` lists a job whose name contains ``name_part``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the trainer ended before the awaited job started"
        try:
            base = f"http://127.0.0.1:{ui_port}/api/v1/applications"
            for application in get_json(base):
                if any(
                    name_part in job["name"] for job in get_json(f"{base}/{application['id']}/jobs")
                ):
                    return
        except OSError:
            pass  # the UI is not up yet
        time.sleep(0.2)
    raise AssertionError(f"no job named like {name_part!r} within {timeout} s")


def child_pids(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return children


class StandaloneCluster:
    """A Spark standalone master and workers from the pyspark package's own jars."""

    def __init__(self, workdir: Path, workers: int) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"spark://127.0.0.1:{self.port}"
        self.web_port = free_port()
        self.workers: list[subprocess.Popen[str]] = []
        self.master: subprocess.Popen[str] | None = None
        self.worker_count = workers

    def start(self) -> None:
        self.master = self._start(
            "master",
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--webui-port",
            str(self.web_port),
        )
        self.workers = [
            self._start(
                f"worker{index}",
                "org.apache.spark.deploy.worker.Worker",
                "--cores",
                "1",
                "--memory",
                "1g",
                "--webui-port",
                "0",
                "--work-dir",
                str(self.workdir / f"worker{index}"),
                self.url,
            )
            for index in range(self.worker_count)
        ]
        self._wait_for_workers(self.worker_count)

    def _start(self, name: str, main_class: str, *args: str) -> subprocess.Popen[str]:
        spark_class = Path(_find_spark_home()) / "bin" / "spark-class"
        log = (self.workdir / f"{name}.log").open("w")
        return subprocess.Popen(
            [str(spark_class), main_class, *args],
            env={**spark_env(), "SPARK_HOME": _find_spark_home()},
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def _wait_for_workers(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                alive = [
                    w
                    for w in get_json(f"http://127.0.0.1:{self.web_port}/json/")["workers"]
                    if w["state"] == "ALIVE"
                ]
                if len(alive) == count:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise AssertionError(
            f"{count} workers did not register within {timeout} s; see {self.workdir}"
        )

    def kill_worker(self, index: int) -> None:
        """SIGKILL a worker and the executor it launched, as a lost node would."""
        worker = self.workers[index]
        for executor in child_pids(worker.pid):
            os.kill(executor, signal.SIGKILL)
        worker.kill()
        worker.wait()

    def stop(self) -> None:
        for process in [*self.workers, self.master]:
            if process is not None and process.poll() is None:
                for child in child_pids(process.pid):
                    os.kill(child, signal.SIGTERM)
                process.terminate()
                process.wait(timeout=30)


@contextmanager
def standalone_cluster(workdir: Path, workers: int = 2) -> Iterator[StandaloneCluster]:
    cluster = StandaloneCluster(workdir, workers)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def cluster_args(cluster: StandaloneCluster, executors: int, ui_port: int) -> Sequence[str]:
    from spark_job.tuning import spark_tuning_conf

    conf = {
        **spark_tuning_conf(executors, 1),
        "spark.cores.max": str(executors),
        "spark.executor.cores": "1",
        "spark.executor.memory": "768m",
        # Start only once every executor is there, so both runs partition work the same way.
        "spark.scheduler.minRegisteredResourcesRatio": "1.0",
        "spark.ui.port": str(ui_port),
    }
    return [
        "--master",
        cluster.url,
        *[arg for key, value in conf.items() for arg in ("--conf", f"{key}={value}")],
    ]
