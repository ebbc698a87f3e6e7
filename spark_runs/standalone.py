"""A Spark standalone cluster on this machine: one master and N workers from the pyspark package.

Used by the executor sweep (one worker per executor) and by tests that need real executors in
separate JVMs. Every process runs in its own session so a Ctrl-C in the caller's terminal does not
kill them half-way; the context manager stops them all (and removes nothing it did not create).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyspark

SPARK_HOME = Path(pyspark.__file__).resolve().parent
LOOPBACK = "127.0.0.1"
# The master and workers hold only bookkeeping; executors get their memory from --memory.
DAEMON_MEMORY = "512m"
STOP_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class StandaloneCluster:
    master_url: str
    web_ui_url: str
    workers: int
    # Each worker leads its own process group, which holds the executors it launched.
    worker_processes: tuple[subprocess.Popen[bytes], ...] = ()


class ClusterStartError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def spark_env() -> dict[str, str]:
    """The caller's environment with SPARK_HOME pointing at the pyspark package's Spark.

    Python workers run the caller's interpreter (the one with pyspark and numpy installed) unless
    PYSPARK_PYTHON says otherwise.
    """
    return {
        "PYSPARK_PYTHON": sys.executable,
        **os.environ,
        "SPARK_HOME": str(SPARK_HOME),
        "SPARK_DAEMON_MEMORY": DAEMON_MEMORY,
        "SPARK_LOCAL_IP": LOOPBACK,
    }


@contextmanager
def _daemon(arguments: list[str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(SPARK_HOME / "bin" / "spark-class"), *arguments],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=spark_env(),
            start_new_session=True,
        )
    try:
        yield process
    finally:
        stop_process_group(process)


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process's whole session, then SIGKILL what is left after a grace period."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        process.wait()


def _master_state(web_ui_url: str) -> dict[str, Any]:
    """The master's web UI JSON view; empty while the master is not up yet."""
    try:
        with urllib.request.urlopen(f"{web_ui_url}/json/", timeout=2) as response:
            state: dict[str, Any] = json.load(response)
    except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
        return {}
    return state


def alive_workers(web_ui_url: str) -> int:
    """Workers the master reports ALIVE, 0 while it is not up yet."""
    workers = _master_state(web_ui_url).get("workers", [])
    return sum(1 for worker in workers if worker.get("state") == "ALIVE")


def active_applications(web_ui_url: str) -> int:
    """Applications registered with the master and running now."""
    return len(_master_state(web_ui_url).get("activeapps", []))


@contextmanager
def standalone_cluster(
    workers: int,
    worker_cores: int,
    worker_memory: str,
    work_dir: Path,
    start_timeout_seconds: float = 90.0,
) -> Iterator[StandaloneCluster]:
    """Start a master and `workers` workers, wait until all registered, stop them all on exit.

    Logs and executor work directories go under `work_dir`, which the caller owns.
    """
    if workers < 1:
        raise ValueError(f"a standalone cluster needs at least one worker, got {workers}")
    master_port, master_ui_port = free_port(), free_port()
    cluster = StandaloneCluster(
        master_url=f"spark://{LOOPBACK}:{master_port}",
        web_ui_url=f"http://{LOOPBACK}:{master_ui_port}",
        workers=workers,
    )
    work_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as running:
        master = running.enter_context(
            _daemon(
                [
                    "org.apache.spark.deploy.master.Master",
                    *("--host", LOOPBACK, "--port", str(master_port)),
                    *("--webui-port", str(master_ui_port)),
                ],
                work_dir / "master.log",
            )
        )
        daemons = [master]
        for index in range(workers):
            daemons.append(
                running.enter_context(worker(cluster, index, worker_cores, worker_memory, work_dir))
            )
        _wait_for_workers(cluster, daemons, work_dir, start_timeout_seconds)
        yield replace(cluster, worker_processes=tuple(daemons[1:]))


@contextmanager
def worker(
    cluster: StandaloneCluster, index: int, cores: int, memory: str, work_dir: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """One worker daemon registering with the cluster's master; stopped (with its executors) on
    exit. Entered late, it stands in for a node an autoscaler adds while a run waits."""
    worker_dir = work_dir / f"worker-{index}"
    worker_dir.mkdir(parents=True, exist_ok=True)
    with _daemon(
        [
            "org.apache.spark.deploy.worker.Worker",
            *("--host", LOOPBACK, "--webui-port", str(free_port())),
            *("--cores", str(cores), "--memory", memory),
            *("--work-dir", str(worker_dir)),
            cluster.master_url,
        ],
        work_dir / f"worker-{index}.log",
    ) as process:
        yield process


def _wait_for_workers(
    cluster: StandaloneCluster,
    daemons: list[subprocess.Popen[bytes]],
    work_dir: Path,
    timeout_seconds: float,
) -> None:
    deadline = time.monotonic() + timeout_seconds
    while alive_workers(cluster.web_ui_url) < cluster.workers:
        exited = [daemon for daemon in daemons if daemon.poll() is not None]
        if exited:
            raise ClusterStartError(
                f"a Spark standalone daemon exited with status {exited[0].returncode}; "
                f"see the logs in {work_dir}"
            )
        if time.monotonic() > deadline:
            raise ClusterStartError(
                f"{cluster.workers} workers did not register with {cluster.master_url} within "
                f"{timeout_seconds:.0f} s; see the logs in {work_dir}"
            )
        time.sleep(0.5)
