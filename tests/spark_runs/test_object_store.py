"""The s3a settings for Spaces: what Spark gets, and what it never gets (keys)."""

import pytest

from spark_runs.object_store import (
    SPACES_REGIONS,
    Bucket,
    NoSpacesInRegion,
    event_log_conf,
    history_server_conf,
    properties_text,
    spaces_region,
    spark_s3a_conf,
)

BUCKET = Bucket("spark-doks-dev-a1b2c3", "fra1")


def test_s3a_reaches_the_regions_spaces_endpoint_path_style_with_sigv4_region() -> None:
    conf = spark_s3a_conf(BUCKET)
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "https://fra1.digitaloceanspaces.com"
    assert conf["spark.hadoop.fs.s3a.endpoint.region"] == "fra1"
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"


def test_writes_go_through_the_magic_committer() -> None:
    conf = spark_s3a_conf(BUCKET)
    assert conf["spark.hadoop.fs.s3a.committer.name"] == "magic"
    assert conf["spark.hadoop.mapreduce.outputcommitter.factory.scheme.s3a"].endswith(
        "S3ACommitterFactory"
    )
    assert conf["spark.sql.sources.commitProtocolClass"].endswith("PathOutputCommitProtocol")


def test_keys_come_only_from_the_environment() -> None:
    conf = spark_s3a_conf(BUCKET)
    assert conf["spark.hadoop.fs.s3a.aws.credentials.provider"] == (
        "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider"
    )
    assert not [key for key in conf if key.endswith((".access.key", ".secret.key"))]


def test_bucket_layout_and_event_logs() -> None:
    assert BUCKET.run_uri("train-abc") == "s3a://spark-doks-dev-a1b2c3/runs/train-abc"
    assert event_log_conf(BUCKET.events_uri)["spark.eventLog.dir"] == (
        "s3a://spark-doks-dev-a1b2c3/events/"
    )
    history = history_server_conf(BUCKET.events_uri)
    assert history["spark.history.fs.logDirectory"] == BUCKET.events_uri
    assert history["spark.history.fs.cleaner.enabled"] == "false"  # the read key cannot delete
    assert properties_text({"b": "2", "a": "1"}) == "a 1\nb 2\n"


def test_a_region_without_spaces_names_the_ones_with_it() -> None:
    assert spaces_region("nyc1", "nyc3") == "nyc3"
    assert spaces_region("sgp1") == "sgp1"
    with pytest.raises(NoSpacesInRegion, match=", ".join(SPACES_REGIONS)):
        spaces_region("nyc1")
