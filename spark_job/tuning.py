"""Spark settings sized to the executors of a run, shared by the local trainer and the cluster.

The SparkApplication applies the same function, so a cluster run gets the partitioning the
benchmark measured locally.
"""

# Two tasks per core keeps every core busy when partitions finish unevenly, without the
# scheduling overhead of Spark's default 200 shuffle partitions on a handful of cores.
TASKS_PER_CORE = 2


def task_slots(executor_instances: int, executor_cores: int) -> int:
    if executor_instances < 1 or executor_cores < 1:
        raise ValueError(
            f"executor_instances ({executor_instances}) and executor_cores ({executor_cores}) "
            "must both be at least 1"
        )
    return executor_instances * executor_cores


def spark_tuning_conf(executor_instances: int, executor_cores: int) -> dict[str, str]:
    """Partitioning and parallelism for ``executor_instances`` x ``executor_cores`` task slots."""
    partitions = str(task_slots(executor_instances, executor_cores) * TASKS_PER_CORE)
    return {
        # File scans split into at least this many partitions (Spark divides the input size by
        # it), and the tree's per-level aggregation shuffles into this many.
        "spark.default.parallelism": partitions,
        "spark.sql.shuffle.partitions": partitions,
        "spark.sql.files.minPartitionNum": partitions,
        # The progress bar redraws on stderr, which is the trainer's error channel.
        "spark.ui.showConsoleProgress": "false",
    }
