"""The sweep's local backend: each run on a new Spark standalone cluster, a worker per executor."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from spark_job.executors import executor_wait_conf
from spark_job.tuning import spark_tuning_conf
from spark_runs.run_result import RunFailed, RunMetrics, parse_metrics
from spark_runs.standalone import spark_env, standalone_cluster, stop_process_group

PACKAGE_PARENT = Path(__file__).resolve().parent.parent
LOG_TAIL_LINES = 15
# Local workers are up before the trainer starts; executors register within seconds.
EXECUTOR_WAIT_SECONDS = 120


def machine_cores() -> int:
    """Cores this process may use (the affinity mask, which containers and taskset narrow)."""
    return len(os.sched_getaffinity(0))


def standalone_conf(executors: int, executor_cores: int, executor_memory: str) -> dict[str, str]:
    """Spark conf that gives the trainer exactly `executors` executors of the given size.

    Standalone mode has no executor count: capping the application's cores at executors x cores
    with one worker per executor yields one executor per worker. Waiting for all of them to register
    keeps the first stages from running on fewer executors than the row claims. Partitioning
    follows the executors, as on the cluster (spark_job.tuning).
    """
    return {
        **spark_tuning_conf(executors, executor_cores),
        "spark.executor.cores": str(executor_cores),
        "spark.executor.memory": executor_memory,
        "spark.cores.max": str(executors * executor_cores),
        **executor_wait_conf(EXECUTOR_WAIT_SECONDS),
    }


class LocalBackend:
    def __init__(
        self, input_path: str, executor_cores: int, executor_memory: str, fraction: float
    ) -> None:
        self.input_path = input_path
        self.executor_cores = executor_cores
        self.executor_memory = executor_memory
        self.fraction = fraction

    def describe(self, executor_counts: list[int]) -> str:
        cores = machine_cores()
        note = (
            "Spark standalone cluster on this machine, one worker per executor. "
            f"This machine has {cores} cores, shared by the driver and every executor, so the "
            "times are this machine's, not a cluster's of separate nodes."
        )
        widest = max(executor_counts) * self.executor_cores
        if widest > cores:
            note += (
                f" Warning: runs with more than {cores // self.executor_cores} executors ask for "
                f"more cores than exist (up to {widest} executor cores on {cores}); their "
                "times show contention, not scaling."
            )
        return note

    def run(self, executors: int, run_dir: Path, log_path: Path) -> RunMetrics:
        """Train once on a standalone cluster of `executors` workers; the result is in run_dir."""
        with (
            tempfile.TemporaryDirectory(prefix="spark-doks-standalone-") as cluster_dir,
            standalone_cluster(
                workers=executors,
                worker_cores=self.executor_cores,
                worker_memory=self.executor_memory,
                work_dir=Path(cluster_dir),
            ) as cluster,
        ):
            conf = standalone_conf(executors, self.executor_cores, self.executor_memory)
            command = [
                sys.executable,
                "-m",
                "spark_job.train",
                *("--input", self.input_path),
                *("--output", str(run_dir)),
                *("--master", cluster.master_url),
                *("--fraction", str(self.fraction)),
                *(
                    argument
                    for key, value in conf.items()
                    for argument in ("--conf", f"{key}={value}")
                ),
            ]
            self._train(command, log_path)
        metrics_path = run_dir / "metrics.json"
        if not metrics_path.is_file():
            raise RunFailed(f"the trainer exited 0 but wrote no {metrics_path}")
        return parse_metrics(metrics_path.read_text(), str(metrics_path))

    def _train(self, command: list[str], log_path: Path) -> None:
        env = {**spark_env(), "PYTHONPATH": str(PACKAGE_PARENT)}
        with log_path.open("wb") as log:
            trainer = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
            try:
                status = trainer.wait()
            finally:
                stop_process_group(trainer)
        if status != 0:
            tail = log_path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
            raise RunFailed(
                f"the trainer exited with status {status}; last lines of its log:\n"
                + "\n".join(tail)
            )
