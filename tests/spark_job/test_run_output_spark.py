"""Results under a URI on a standalone cluster (executors in their own JVMs), the same code path
the cluster takes with s3a:// and here with file://: the model loads back and scores what
metrics.json says, a second run is refused, and the history server serves the event log."""

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from pyspark.ml import PipelineModel
from pyspark.sql import functions as F

from spark_job import train
from spark_job.session import start_spark
from spark_runs.object_store import (
    EVENTS_PREFIX,
    ROLLING_EVENT_LOG_PREFIX,
    event_log_conf,
    history_server_conf,
    properties_text,
)
from spark_runs.standalone import SPARK_HOME, free_port, spark_env, stop_process_group
from tests.spark_job.spark_support import (
    cluster_args,
    generate_dataset,
    get_json,
    run_trainer,
    standalone_cluster,
)

pytestmark = pytest.mark.slow

ROWS = 4_000
JVM_NOTICE = "WARNING: Using incubator modules"


def held_out_accuracy(data: Path, model_uri: str, metrics: dict[str, Any]) -> float:
    """The model's accuracy on the rows the trainer held out, recomputed from the input."""
    spark = start_spark("test-reload", "local[1]", {})
    try:
        frame = spark.read.parquet(str(data))
        rows, _ = train.prepared_rows(frame, "label", metrics["fraction"], metrics["seed"])
        held_out = rows.filter(F.col(train._SPLIT) < metrics["fraction"] * train.TEST_SHARE)
        predicted = PipelineModel.load(model_uri).transform(held_out)
        right = F.col(metrics["prediction_col"]) == F.col("label").cast("string")
        counts = predicted.agg(
            F.count("*").alias("rows"),
            F.sum(right.cast("long")).alias("right"),
        ).collect()[0]
        assert counts["rows"] == metrics["test_rows"]
        return float(counts["right"]) / float(counts["rows"])
    finally:
        spark.stop()


def wait_for_application(url: str, application_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            for application in get_json(f"{url}/api/v1/applications"):
                if application["id"] == application_id:
                    result: dict[str, Any] = application
                    return result
        except (OSError, ValueError):
            pass  # not listening yet
        time.sleep(1)
    raise AssertionError(f"the history server at {url} did not list {application_id}")


def test_a_run_under_a_file_uri_is_complete_reloadable_refused_twice_and_in_the_history(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    generate_dataset(data, ROWS, "--seed", "5")
    events = tmp_path / "events"
    events.mkdir()
    output_uri = (tmp_path / "runs" / "train-test").as_uri()
    conf = event_log_conf(events.as_uri())

    with standalone_cluster(tmp_path / "cluster", workers=2) as cluster:
        arguments = [
            *("--input", str(data), "--output", output_uri),
            *cluster_args(cluster, executors=2, ui_port=free_port()),
            *[arg for key, value in conf.items() for arg in ("--conf", f"{key}={value}")],
        ]
        first = run_trainer(*arguments)
        assert first.returncode == 0, first.stderr
        output = tmp_path / "runs" / "train-test"
        metrics = json.loads((output / "metrics.json").read_text())
        assert metrics["executors"] == 2
        before = {path: path.stat().st_mtime_ns for path in output.rglob("*")}

        second = run_trainer(*arguments)
        assert second.returncode == 2
        lines = [line for line in second.stderr.splitlines() if not line.startswith(JVM_NOTICE)]
        assert lines == [
            f"python -m spark_job.train: error: --output {output_uri} already holds a complete "
            "run (metrics.json); choose a new --output, or remove that run first"
        ]
        assert {path: path.stat().st_mtime_ns for path in output.rglob("*")} == before

    assert held_out_accuracy(data, f"{output_uri}/model", metrics) == pytest.approx(
        metrics["accuracy"], abs=1e-12
    )
    # Spark 4 rolls event logs: a folder per application whose status file loses its
    # .inprogress suffix when the application ends.
    application_id = metrics["application_id"]
    event_log = events / (ROLLING_EVENT_LOG_PREFIX.removeprefix(EVENTS_PREFIX) + application_id)
    assert (event_log / f"appstatus_{application_id}").is_file()
    assert list(event_log.glob("events_*"))

    port = free_port()
    properties = tmp_path / "history.conf"
    properties.write_text(
        properties_text(
            {
                **history_server_conf(events.as_uri()),
                "spark.history.ui.port": str(port),
                "spark.history.fs.update.interval": "1s",
            }
        )
    )
    server = subprocess.Popen(
        [
            str(SPARK_HOME / "bin" / "spark-class"),
            "org.apache.spark.deploy.history.HistoryServer",
            *("--properties-file", str(properties)),
        ],
        env=spark_env(),
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "history.log").open("wb"),
        start_new_session=True,
    )
    try:
        application = wait_for_application(f"http://127.0.0.1:{port}", application_id)
    finally:
        stop_process_group(server)
    (attempt,) = application["attempts"]
    assert attempt["completed"] is True
    assert application["name"] == metrics["application_name"]
