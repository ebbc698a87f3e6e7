"""The run's final task counts, read from the driver's status store before `spark.stop()`.

`spark.stop()` stops the UI first, so no scrape sees the last counters; the trainer pushes these
instead. The status store also keeps executors that were lost, which the executors endpoint drops.
"""

from pyspark.sql import SparkSession


def task_totals(spark: SparkSession) -> dict[str, int]:
    """Completed and failed task attempts of the application so far, lost executors included."""
    context = spark.sparkContext._jsc.sc()
    # The status store is fed asynchronously; wait until it has seen every finished task.
    context.listenerBus().waitUntilEmpty()
    summaries = context.statusStore().executorList(False)
    executors = [summaries.apply(index) for index in range(summaries.length())]
    return {
        "completed_tasks": sum(int(executor.completedTasks()) for executor in executors),
        "failed_tasks": sum(int(executor.failedTasks()) for executor in executors),
    }
