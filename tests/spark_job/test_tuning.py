import pytest

from spark_job.tuning import TASKS_PER_CORE, spark_tuning_conf


@pytest.mark.parametrize(("executors", "cores"), [(1, 1), (4, 1), (3, 2)])
def test_partitions_follow_executors_times_cores(executors: int, cores: int) -> None:
    conf = spark_tuning_conf(executors, cores)
    expected = str(executors * cores * TASKS_PER_CORE)
    assert conf["spark.sql.shuffle.partitions"] == expected
    assert conf["spark.default.parallelism"] == expected


def test_rejects_zero_executors() -> None:
    with pytest.raises(ValueError, match="executor_instances"):
        spark_tuning_conf(0, 1)
