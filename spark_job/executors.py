"""Which executors a run trained with, read from Spark's status store, and the wait for them.

Spark starts scheduling once a share of the requested executors has registered or a waiting
time has passed (on Kubernetes: 80 % or 30 s), which on an autoscaling pool is before new nodes
exist. ``executor_wait_conf`` makes it wait for every executor; ``ExecutorCounts`` records what
the run really had.
"""

from dataclasses import dataclass
from typing import Any

from pyspark.sql import SparkSession

DRIVER_ID = "driver"


def executor_wait_conf(wait_seconds: int) -> dict[str, str]:
    """Start scheduling only once every requested executor has registered, or after the wait."""
    if wait_seconds < 1:
        raise ValueError(f"the executor wait must be at least 1 s, got {wait_seconds}")
    return {
        "spark.scheduler.minRegisteredResourcesRatio": "1.0",
        "spark.scheduler.maxRegisteredResourcesWaitingTime": f"{wait_seconds}s",
    }


@dataclass(frozen=True)
class LiveExecutors:
    """The executors live at one moment (fitting starts) and how long the run waited for them."""

    count: int
    wait_seconds: float


def _summaries(spark: SparkSession, active_only: bool) -> list[Any]:
    """ExecutorSummary objects of the status store (py4j proxies, hence Any)."""
    listed = spark.sparkContext._jsc.sc().statusStore().executorList(active_only)
    return [listed.apply(index) for index in range(listed.length())]


def live_executors(spark: SparkSession, local: bool) -> LiveExecutors:
    """Executors registered and not lost right now (local mode: the driver's JVM is the one).

    The wait is from the application's start to the registration of the last of them: the
    scale-up time this run paid before it trained with all it had.
    """
    if local:
        return LiveExecutors(count=1, wait_seconds=0.0)
    executors = [
        summary for summary in _summaries(spark, active_only=True) if summary.id() != DRIVER_ID
    ]
    started_ms = spark.sparkContext.startTime
    last_added_ms = max(
        (summary.addTime().getTime() for summary in executors),
        default=started_ms,
    )
    return LiveExecutors(
        count=len(executors), wait_seconds=max(last_added_ms - started_ms, 0) / 1000
    )


def lost_executors(spark: SparkSession, local: bool) -> int:
    """Executors that registered during the run and are gone before it ends."""
    if local:
        return 0
    return sum(
        1
        for summary in _summaries(spark, active_only=False)
        if summary.id() != DRIVER_ID and not summary.isActive()
    )
