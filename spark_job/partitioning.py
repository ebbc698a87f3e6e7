"""Training rows partitioned the same way whatever the executor count, so the tree is the same.

Spark's decision tree picks the split candidates of continuous features from a sample of the
training rows once they exceed max(maxBins², 10 000) (RandomForest.findSplits). That sample is
`RDD.sample`, whose seed for each partition follows from the partition's index and whose draws
follow the row order within it. A file scan splits its input by `spark.sql.files.minPartitionNum`,
which follows the task slots, so 1 and 2 executors sampled different rows and grew different
trees. Hash-partitioning the rows by a per-row value into a fixed count and sorting each
partition by it gives every row the same partition and place for any executor count; the tree's
per-node statistics are sums of whole-number counts, which do not depend on the order they are
added in.
"""

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

# Fixed, not derived from the task slots: enough partitions to keep up to 16 cores busy, few enough
# that a small run does not pay for many near-empty tasks.
TRAINING_PARTITIONS = 16


def executor_independent(rows: DataFrame, key: str) -> DataFrame:
    """``rows`` in TRAINING_PARTITIONS partitions by the hash of ``key``, each sorted by ``key``.

    ``key`` is a per-row value spread evenly (the trainer's hash of the row); the other columns
    break its rare ties, so only identical rows, which are interchangeable, keep an arbitrary order.
    """
    ties = [F.col(f"`{name}`") for name in rows.columns if name != key]
    return rows.repartition(TRAINING_PARTITIONS, F.col(key)).sortWithinPartitions(key, *ties)
