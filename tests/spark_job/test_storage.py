"""What the trainer tells the user when a store refuses, and the bound on the classes."""

import pytest

from spark_job.bounds import MAX_NODE_STATS_MIB, check_class_count
from spark_job.cli import InputError
from spark_job.storage import store_problem

BUCKET_URI = "s3a://spark-doks-dev-a1b2c3/data/input.parquet"


def test_a_missing_bucket_is_named_with_the_fix() -> None:
    classes = ["java.io.UncheckedIOException", "org.apache.hadoop.fs.s3a.UnknownStoreException"]
    problem = store_problem(classes, "--input", BUCKET_URI)
    assert problem is not None
    assert "bucket spark-doks-dev-a1b2c3 does not exist" in problem
    assert problem.startswith(f"--input {BUCKET_URI}: ")


def test_a_refused_key_says_it_may_only_use_the_stacks_bucket() -> None:
    problem = store_problem(["java.nio.file.AccessDeniedException"], "--output", BUCKET_URI)
    assert problem is not None and "access denied" in problem and "\n" not in problem


def test_a_wrong_key_is_told_apart_from_a_refused_one_by_the_s3_error_code() -> None:
    denied = [
        "org.apache.hadoop.fs.s3a.AWSClientIOException",
        "java.nio.file.AccessDeniedException",
    ]
    for code in ("InvalidAccessKeyId", "SignatureDoesNotMatch"):
        problem = store_problem(denied, "--output", BUCKET_URI, f"s3a://b/x: getFileStatus: {code}")
        assert problem is not None and "the store refused the key" in problem
        assert "AWS_SECRET_ACCESS_KEY" in problem


@pytest.mark.parametrize(
    "cause",
    [
        "java.net.ConnectException",
        "java.net.UnknownHostException",
        "java.net.SocketTimeoutException",
    ],
)
def test_an_unreachable_store_names_the_endpoint_setting(cause: str) -> None:
    problem = store_problem(
        ["org.apache.hadoop.fs.s3a.AWSClientIOException", cause], "--input", BUCKET_URI
    )
    assert problem == (
        f"--input {BUCKET_URI}: cannot reach the store at spark.hadoop.fs.s3a.endpoint; check the "
        "endpoint (the bucket's region) and the network"
    )


def test_other_java_errors_are_not_store_problems() -> None:
    assert store_problem(["java.lang.OutOfMemoryError"], "--input", BUCKET_URI) is None


def test_classes_are_bounded_by_the_memory_of_one_tree_node() -> None:
    bins, features = 128, 10
    largest = MAX_NODE_STATS_MIB * 2**20 // (features * bins * 8)
    check_class_count(largest, features, bins, "label")
    with pytest.raises(InputError, match=f"has {largest + 1} classes"):
        check_class_count(largest + 1, features, bins, "label")
