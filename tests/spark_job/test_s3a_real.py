"""Every s3a path of a run, for real: the trainer, the history server and the boto3 readers
against versitygw on loopback, with the s3a settings a SparkApplication gets
(spark_runs.object_store); only the endpoint and the keys differ.

The trainer runs on a 2-worker standalone cluster, so executors write through the magic committer.
"""

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from infra.history_server import COMMAND, history_properties
from spark_runs import results
from spark_runs.object_store import (
    EVENTS_PREFIX,
    METRICS_FILE,
    RUNS_PREFIX,
    Bucket,
    event_log_conf,
    spark_s3a_conf,
)
from spark_runs.run_result import parse_metrics
from spark_runs.standalone import SPARK_HOME, free_port, stop_process_group
from tests.s3_gateway import (
    REGION,
    Gateway,
    Key,
    s3a_classpath_conf,
    s3a_jar_paths,
    versitygw,
)
from tests.spark_job.spark_support import (
    cluster_args,
    generate_dataset,
    get_json,
    spark_env,
    standalone_cluster,
    trainer_command,
)
from tests.support import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.s3a]

BUCKET = Bucket("spark-doks-s3a-test", REGION)
ROWS = 3_000
PROG = "python -m spark_job.train"
# Lines the JVM prints on its own: Spark's incubator-module notice, and the AWS SDK bundle's
# shaded SLF4J 1.x reporting that it has no binding (its log goes nowhere).
JVM_NOISE = ("WARNING: Using incubator modules", "SLF4J: ")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with versitygw(tmp_path_factory.mktemp("versitygw")) as server:
        yield server


@pytest.fixture(scope="module")
def s3a_conf(gateway: Gateway) -> dict[str, str]:
    return {
        **spark_s3a_conf(BUCKET, gateway.endpoint_url),
        **s3a_classpath_conf(s3a_jar_paths()),
    }


def upload(client: Any, folder: Path, prefix: str) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            client.upload_file(str(path), BUCKET.name, f"{prefix}{path.relative_to(folder)}")


@pytest.fixture(scope="module")
def bucket(gateway: Gateway, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The bucket as the Pulumi program leaves it (with the events/ marker), plus one dataset as
    Parquet and as CSV."""
    client = gateway.client()
    client.create_bucket(Bucket=BUCKET.name)
    client.put_object(Bucket=BUCKET.name, Key=EVENTS_PREFIX, Body=b"")
    data = tmp_path_factory.mktemp("data")
    generate_dataset(data / "parquet", ROWS, "--seed", "3")
    generate_dataset(data / "csv", ROWS, "--seed", "3", "--format", "csv")
    upload(client, data / "parquet", "data/parquet/")
    upload(client, data / "csv", "data/csv/")
    return client


def conf_args(conf: dict[str, str]) -> list[str]:
    return [arg for key, value in conf.items() for arg in ("--conf", f"{key}={value}")]


def trainer(*args: str, key: Key, start_new_session: bool = False) -> subprocess.Popen[str]:
    return subprocess.Popen(
        trainer_command(*args),
        env={**spark_env(), **key.env()},
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=start_new_session,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    _, stderr = process.communicate(timeout=900)
    lines = [line for line in stderr.splitlines() if not line.startswith(JVM_NOISE)]
    return process.returncode, "\n".join(lines)


def objects(client: Any) -> dict[str, tuple[str, Any]]:
    """Every object of every bucket: key -> (ETag, LastModified)."""
    found = {}
    for bucket in client.list_buckets()["Buckets"]:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"])
        for page in pages:
            for item in page.get("Contents") or ():
                found[f"{bucket['Name']}/{item['Key']}"] = (item["ETag"], item["LastModified"])
    return found


def outside_events(found: dict[str, tuple[str, Any]]) -> dict[str, tuple[str, Any]]:
    prefix = f"{BUCKET.name}/{EVENTS_PREFIX}"
    return {key: value for key, value in found.items() if not key.startswith(prefix)}


def read_json(client: Any, key: str) -> Any:
    return json.loads(client.get_object(Bucket=BUCKET.name, Key=key)["Body"].read())


@pytest.fixture(scope="module")
def cluster_runs(
    gateway: Gateway,
    bucket: Any,
    s3a_conf: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Any]]:
    """A Parquet and a CSV run on a 2-worker cluster, each into an attempt folder under its run
    as the SparkApplication writes it, event logs in the bucket; then a second run at the
    Parquet run's complete attempt, while the cluster is still up."""
    work = tmp_path_factory.mktemp("cluster")
    with pytest.MonkeyPatch.context() as patch:
        # Workers pass their environment to the executors they start: the keys, as a pod's
        # envFrom gives them.
        for name, value in gateway.root.env().items():
            patch.setenv(name, value)
        with standalone_cluster(work, workers=2) as cluster:
            common = [
                *cluster_args(cluster, executors=2, ui_port=free_port()),
                *conf_args({**s3a_conf, **event_log_conf(BUCKET.events_uri)}),
            ]
            runs: dict[str, Any] = {}
            for name, source in (("train-parquet", "data/parquet"), ("train-csv", "data/csv")):
                fmt = source.rsplit("/", 1)[1]
                output = BUCKET.run_uri(name)
                process = trainer(
                    "--input", f"s3a://{BUCKET.name}/{source}", "--format", fmt,
                    "--output", output, "--attempt-folder", *common, key=gateway.root,
                )  # fmt: skip
                status, stderr = finish(process)
                assert status == 0, stderr[-3000:]
                listing = bucket.list_objects_v2(Bucket=BUCKET.name, Prefix=f"{RUNS_PREFIX}{name}/")
                (marker,) = [
                    item["Key"]
                    for item in listing["Contents"]
                    if item["Key"].endswith(f"/{METRICS_FILE}")
                ]
                runs[name] = read_json(bucket, marker)
                assert marker == attempt_prefix(name, runs[name]) + METRICS_FILE
            before = outside_events(objects(bucket))
            complete = output_uri("train-parquet", runs["train-parquet"])
            again = trainer(
                "--input", f"s3a://{BUCKET.name}/data/parquet",
                "--output", complete, *common, key=gateway.root,
            )  # fmt: skip
            runs["second"] = (*finish(again), before, objects(bucket))
            yield runs


def attempt_prefix(name: str, metrics: dict[str, Any]) -> str:
    """The key prefix of the run's attempt whose metrics these are (its application id)."""
    return f"{RUNS_PREFIX}{name}/{metrics['application_id']}/"


def output_uri(name: str, metrics: dict[str, Any]) -> str:
    return f"{BUCKET.run_uri(name)}/{metrics['application_id']}"


def test_a_cluster_run_reads_parquet_and_csv_from_s3a_and_writes_its_model_there(
    cluster_runs: dict[str, Any], bucket: Any
) -> None:
    parquet, csv = cluster_runs["train-parquet"], cluster_runs["train-csv"]
    assert parquet["executors"] == csv["executors"] == 2
    assert parquet["rows"] == csv["rows"] == ROWS
    assert parquet["input"] == f"s3a://{BUCKET.name}/data/parquet"
    for name in ("train-parquet", "train-csv"):
        prefix = attempt_prefix(name, cluster_runs[name])
        listing = bucket.list_objects_v2(Bucket=BUCKET.name, Prefix=prefix)
        modified = {item["Key"]: item["LastModified"] for item in listing["Contents"]}
        marker = modified.pop(f"{prefix}{METRICS_FILE}")
        assert marker >= max(modified.values())  # metrics.json last
        # The magic committer's _SUCCESS is a JSON manifest naming the committer and the files
        # the executors' tasks wrote (FileOutputCommitter's is empty); the PipelineModel's
        # stages each write their data so.
        successes = [key for key in modified if key.endswith("/data/_SUCCESS")]
        assert successes and all(key.startswith(f"{prefix}model/stages/") for key in successes)
        for key in successes:
            success = read_json(bucket, key)
            assert success["committer"] == "magic"
            assert success["filenames"]


def test_a_second_run_to_a_complete_output_is_refused_and_touches_nothing(
    cluster_runs: dict[str, Any],
) -> None:
    status, stderr, before, after = cluster_runs["second"]
    # The refused application leaves only its own event log, as on the cluster: the history
    # server shows the failed attempt.
    assert {key.split("/")[1] for key in after if key not in before} <= {EVENTS_PREFIX.rstrip("/")}
    assert outside_events(after) == before
    # s3a rewrites the empty events/ marker when it creates a log folder: still there, still empty.
    assert after[f"{BUCKET.name}/{EVENTS_PREFIX}"][0] == '"d41d8cd98f00b204e9800998ecf8427e"'
    assert status == 2
    assert stderr == (
        f"{PROG}: error: --output {output_uri('train-parquet', cluster_runs['train-parquet'])} "
        "already holds a complete run "
        "(metrics.json); choose a new --output, or remove that run first"
    )


def test_the_history_server_configured_as_deployed_lists_the_run_from_the_bucket(
    cluster_runs: dict[str, Any], gateway: Gateway, tmp_path: Path
) -> None:
    # The deployed server holds the bucket's read key: so does this one.
    reader = read_only_key(gateway)
    properties = tmp_path / "history.conf"
    properties.write_text(history_properties(BUCKET, gateway.endpoint_url))
    port = free_port()
    classpath = s3a_classpath_conf(s3a_jar_paths())["spark.driver.extraClassPath"]
    env = {
        **spark_env(),
        **reader.env(),
        "SPARK_DAEMON_CLASSPATH": classpath,  # the image has the jars in /opt/spark/jars
        # A free port instead of 18080; system properties win over the properties file.
        "SPARK_HISTORY_OPTS": f"-Dspark.history.ui.port={port}",
    }
    command = [str(SPARK_HOME / "bin" / "spark-class"), *COMMAND[1:-1], str(properties)]
    with (tmp_path / "history.log").open("wb") as log:
        server = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    wanted = cluster_runs["train-parquet"]["application_id"]
    try:
        listed: list[dict[str, Any]] = []
        give_up = time.monotonic() + 600  # a hang guard, far beyond a scan of the bucket
        while not any(application["id"] == wanted for application in listed):
            assert server.poll() is None, (tmp_path / "history.log").read_text()[-3000:]
            assert time.monotonic() < give_up, (tmp_path / "history.log").read_text()[-3000:]
            time.sleep(1)  # not up yet, or the bucket not scanned yet
            try:
                listed = get_json(f"http://127.0.0.1:{port}/api/v1/applications")
            except (OSError, ValueError):
                continue
    finally:
        stop_process_group(server)
    (application,) = [item for item in listed if item["id"] == wanted]
    assert application["attempts"][0]["completed"] is True


def test_the_results_command_and_the_sweep_read_the_runs_through_boto3(
    cluster_runs: dict[str, Any], gateway: Gateway, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in gateway.root.env().items():
            patch.setenv(name, value)
        patch.setenv("COLUMNS", "250")
        status = results.main(
            ["--bucket", BUCKET.name, "--region", REGION, "--endpoint-url", gateway.endpoint_url]
        )
        # The cluster sweep's reader (spark_runs.sweep_cluster builds it the same way).
        store = results.RunsInBucket(
            results.spaces_client(REGION, gateway.endpoint_url), BUCKET.name
        )
        attempt = cluster_runs["train-parquet"]["application_id"]
        text = store.metrics_text("train-parquet", attempt)
    assert status == 0
    printed = capsys.readouterr().out
    for name in ("train-parquet", "train-csv"):
        assert cluster_runs[name]["application_id"] in printed
    assert text is not None
    swept = parse_metrics(text, "metrics.json")
    assert swept.executors == 2
    assert swept.accuracy == cluster_runs["train-parquet"]["accuracy"]


def read_only_key(gateway: Gateway) -> Key:
    """A user account that the bucket's policy lets read and list, nothing more: versitygw's own
    access control, as a Spaces `read` key is scoped to one bucket."""
    reader = gateway.create_user()
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": [reader.access_key_id]},
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{BUCKET.name}", f"arn:aws:s3:::{BUCKET.name}/*"],
            }
        ],
    }
    gateway.client().put_bucket_policy(Bucket=BUCKET.name, Policy=json.dumps(policy))
    return reader


def local_run(*args: str, key: Key, conf: dict[str, str]) -> tuple[int, str]:
    return finish(trainer(*args, "--master", "local[1]", *conf_args(conf), key=key))


def test_a_read_only_key_reads_but_cannot_write(
    gateway: Gateway, bucket: Any, s3a_conf: dict[str, str]
) -> None:
    reader = read_only_key(gateway)
    as_reader = gateway.client(reader)
    assert as_reader.get_object(Bucket=BUCKET.name, Key=EVENTS_PREFIX)["ContentLength"] == 0
    with pytest.raises(ClientError, match="AccessDenied"):
        as_reader.put_object(Bucket=BUCKET.name, Key="runs/by-reader/x", Body=b"x")
    before = objects(bucket)
    status, stderr = local_run(
        "--input", f"s3a://{BUCKET.name}/data/parquet",
        "--output", BUCKET.run_uri("by-reader"), key=reader, conf=s3a_conf,
    )  # fmt: skip
    assert (status, stderr.count("\n")) == (2, 0), stderr[-3000:]
    assert f"--output {BUCKET.run_uri('by-reader')}: access denied" in stderr
    assert objects(bucket) == before


@pytest.mark.parametrize("case", ["wrong key", "missing bucket", "unreachable endpoint"])
def test_a_bad_store_is_one_line_exit_2_and_nothing_written(
    case: str, gateway: Gateway, bucket: Any, s3a_conf: dict[str, str]
) -> None:
    key, output, conf = gateway.root, BUCKET.run_uri("bad"), dict(s3a_conf)
    expected = f"{PROG}: error: --output {output}: "
    if case == "wrong key":
        # The first request is a HEAD, whose 403 carries no error code to tell a wrong secret
        # from a missing grant: the message names both.
        key = Key(gateway.root.access_key_id, "not-the-secret")
        expected += "access denied; check the key (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)"
    elif case == "missing bucket":
        output = "s3a://no-such-bucket/runs/bad"
        expected = f"{PROG}: error: --output {output}: bucket no-such-bucket does not exist"
    else:
        conf["spark.hadoop.fs.s3a.endpoint"] = f"http://127.0.0.1:{free_port()}"
        expected += "cannot reach the store"
    before = objects(bucket)
    status, stderr = local_run(
        "--input", f"s3a://{BUCKET.name}/data/parquet", "--output", output, key=key, conf=conf
    )
    assert status == 2, stderr[-3000:]
    assert stderr.count("\n") == 0 and stderr.startswith(expected), stderr[-3000:]
    assert objects(bucket) == before


def test_a_run_killed_mid_write_leaves_no_metrics_and_readers_call_it_incomplete(
    gateway: Gateway, bucket: Any, s3a_conf: dict[str, str]
) -> None:
    name = "train-killed"
    process = trainer(
        "--input", f"s3a://{BUCKET.name}/data/parquet", "--output", BUCKET.run_uri(name),
        "--master", "local[2]", *conf_args(s3a_conf), key=gateway.root, start_new_session=True,
    )  # fmt: skip
    prefix = f"{RUNS_PREFIX}{name}/"
    try:
        # The event: the model's first object in the bucket, i.e. the write has begun.
        while not bucket.list_objects_v2(Bucket=BUCKET.name, Prefix=prefix).get("KeyCount"):
            assert process.poll() is None, finish(process)[1][-3000:]
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
    keys = [
        item["Key"]
        for item in bucket.list_objects_v2(Bucket=BUCKET.name, Prefix=prefix).get("Contents")
    ]
    assert keys and f"{prefix}{METRICS_FILE}" not in keys
    complete, incomplete = results.collect(results.RunsInBucket(bucket, BUCKET.name))
    assert name in incomplete
    assert name not in [run.get("application_name") for run in complete]
