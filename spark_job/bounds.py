"""Limits on what the input data can make Spark allocate: beyond them, a run is refused."""

from spark_job.cli import InputError

# Spark's default maxMemoryInMB for tree statistics, which it exceeds rather than skip a node.
MAX_NODE_STATS_MIB = 256


def max_classes(features: int, max_bins: int) -> int:
    return MAX_NODE_STATS_MIB * 2**20 // (features * max_bins * 8)


def check_class_count(classes: int, features: int, max_bins: int, label_col: str) -> None:
    """Refuse labels that would make Spark allocate more than its tree memory limit.

    Spark sizes each tree node's statistics as classes x features x bins doubles and always takes
    at least one node, whatever maxMemoryInMB says: a few million classes exhaust the heap and
    kill the JVM.
    """
    node_bytes = classes * features * max_bins * 8
    if node_bytes > MAX_NODE_STATS_MIB * 2**20:
        raise InputError(
            f"label column {label_col!r} has {classes} classes (distinct values); with "
            f"{features} features and --max-bins {max_bins} one tree node needs "
            f"{node_bytes / 2**20:.0f} MiB, over Spark's {MAX_NODE_STATS_MIB} MiB; pass a "
            "--label-col with fewer values, lower --max-bins or --exclude features"
        )
