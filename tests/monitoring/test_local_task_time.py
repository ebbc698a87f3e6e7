"""Local mode on real pyspark: which figure on the driver's endpoints is task time.

The driver runs the tasks in local mode. Its executors-endpoint row reports uptime as
totalDuration, while the ExecutorSource Spark registers on the driver in local mode counts task
run time; the task panels (monitoring/queries.py, _task_seconds) rely on both facts.
"""

import time
import urllib.request
from collections.abc import Iterator

import pytest
from pyspark.sql import SparkSession

from monitoring.local_stack import LOOPBACK, free_port
from monitoring.queries import DRIVER_METRIC_PREFIX
from monitoring.spark_metrics import DRIVER_PATH, EXECUTORS_PATH, spark_metrics_conf
from tests.waiting import HANG_GUARD_SECONDS, wait_until

pytestmark = pytest.mark.slow

IDLE_SECONDS = 4.0
COMPLETED_TASKS = "metrics_executor_completedTasks_total{"


@pytest.fixture(scope="module")
def session() -> Iterator[tuple[SparkSession, str]]:
    port = free_port()
    builder = SparkSession.builder.master("local[1]").appName("task-time")
    for key, value in {**spark_metrics_conf(), "spark.ui.port": str(port)}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    try:
        yield spark, f"http://{LOOPBACK}:{port}"
    finally:
        spark.stop()


def sample(ui: str, path: str, name: str) -> float:
    # A busy machine can keep the driver's UI from answering for over a minute (seen at load 50).
    with urllib.request.urlopen(ui + path, timeout=HANG_GUARD_SECONDS) as response:
        text = response.read().decode()
    (line,) = [line for line in text.splitlines() if line.startswith(name)]
    return float(line.rsplit(" ", 1)[1])


def job_counted(spark: SparkSession, ui: str) -> bool | None:
    """True once the executors endpoint counts every task of the session's finished jobs."""
    tracker = spark.sparkContext.statusTracker()
    jobs = [tracker.getJobInfo(job_id) for job_id in tracker.getJobIdsForGroup()]
    if not jobs or any(job is None or job.status != "SUCCEEDED" for job in jobs):
        return None
    stages = [tracker.getStageInfo(stage_id) for job in jobs if job for stage_id in job.stageIds]
    # Completed, not planned: the final job skips the stage whose shuffle output it reuses.
    tasks = sum(stage.numCompletedTasks for stage in stages if stage is not None)
    return True if sample(ui, EXECUTORS_PATH, COMPLETED_TASKS) == tasks else None


def test_the_driver_row_is_uptime_and_the_executor_source_is_task_time(
    session: tuple[SparkSession, str],
) -> None:
    spark, ui = session
    started = time.monotonic()
    spark.range(0, 3_000_000, numPartitions=6).selectExpr("sum(id % 7)").collect()
    busy_wall_seconds = time.monotonic() - started
    # The executors endpoint reads the status store, which the listener bus feeds after the job
    # has returned: wait until it has counted every task the jobs ran (6 partial sums, 1 final).
    wait_until("the status store counts the job's tasks", lambda: job_counted(spark, ui))

    def figures() -> tuple[float, float]:
        uptime = sample(ui, EXECUTORS_PATH, "metrics_executor_totalDuration_seconds_total{")
        task_ms = sample(ui, DRIVER_PATH, f"{DRIVER_METRIC_PREFIX}executor_runTime_Count")
        return uptime, task_ms / 1000

    uptime_before, task_before = figures()
    time.sleep(IDLE_SECONDS)
    uptime_after, task_after = figures()
    assert uptime_after - uptime_before >= IDLE_SECONDS - 0.5  # grows while nothing runs
    assert task_after == task_before  # does not
    # One task slot: task time fits in the wall time the job took.
    assert 0 < task_after <= busy_wall_seconds
