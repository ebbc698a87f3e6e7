"""The trainer on real Spark: correct on generated data, atomic, and on a multi-executor cluster."""

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from spark_job import train
from spark_job.session import start_spark
from tests.spark_job.spark_support import (
    cluster_args,
    free_port,
    generate_dataset,
    kill_worker,
    run_trainer,
    spark_env,
    standalone_cluster,
    trainer_command,
    tree_of,
    wait_for_job,
)
from tests.support import REPO_ROOT

pytestmark = pytest.mark.slow

ROWS = 50_000
TRAINING_JOB = "RandomForest.scala"  # Spark's tree learner runs one such job per tree level


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    location = tmp_path_factory.mktemp("data") / "generated"
    return location, generate_dataset(location, ROWS, "--seed", "11")


def read_metrics(output: Path) -> dict[str, Any]:
    metrics: dict[str, Any] = json.loads((output / "metrics.json").read_text())
    return metrics


def test_trainer_reaches_the_bayes_accuracy_of_generated_data(
    dataset: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    location, generated = dataset
    output = tmp_path / "run"
    result = run_trainer("--input", str(location), "--output", str(output))
    assert result.returncode == 0, result.stderr
    metrics = read_metrics(output)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == metrics
    assert metrics["accuracy"] >= generated["bayes_accuracy"] - 0.02
    assert metrics["accuracy"] > generated["majority_rate"] + 0.5
    assert metrics["f1"] >= generated["bayes_accuracy"] - 0.03
    assert metrics["rows"] == ROWS == metrics["train_rows"] + metrics["test_rows"]
    assert 0.15 < metrics["test_rows"] / ROWS < 0.25
    assert metrics["classes"] == list(range(generated["classes"]))
    assert metrics["executors"] == 1  # local mode: the driver's JVM is the one executor
    assert metrics["spark_version"] == "4.0.4"
    assert 0 < metrics["train_seconds"] < metrics["total_seconds"]
    spark = start_spark("test-model", "local[1]", {})
    try:
        model = tree_of(output / "model")
        assert model.numFeatures == len(generated["features"])
        assert model.depth <= 5
    finally:
        spark.stop()


def test_csv_input_holds_out_the_same_rows_and_fraction_samples(
    dataset: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    location, _ = dataset
    parquet = start_spark("test-csv", "local[2]", {}).read.parquet(str(location))
    csv_location = tmp_path / "generated.csv"
    parquet.write.option("header", "true").csv(str(csv_location))
    parquet.sparkSession.stop()  # each trainer run starts its own session
    for name, source in (("parquet", location), ("csv", csv_location)):
        assert (
            train.main(
                ["--input", str(source), "--output", str(tmp_path / name), "--max-depth", "4"]
            )
            == 0
        )
    from_parquet, from_csv = read_metrics(tmp_path / "parquet"), read_metrics(tmp_path / "csv")
    assert from_csv["format"] == "csv"
    # The same rows are held out; the tree's bins come from a sample that follows the file layout.
    assert from_csv["test_rows"] == from_parquet["test_rows"]
    assert from_csv["accuracy"] == pytest.approx(from_parquet["accuracy"], abs=0.01)

    assert (
        train.main(
            ["--input", str(location), "--output", str(tmp_path / "half"), "--fraction", "0.5"]
        )
        == 0
    )
    assert 0.45 * ROWS < read_metrics(tmp_path / "half")["rows"] < 0.55 * ROWS


def test_killed_run_leaves_no_result_and_the_next_run_succeeds(
    dataset: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    location, _ = dataset
    output = tmp_path / "run"
    ui_port = free_port()
    trainer = subprocess.Popen(
        trainer_command(
            "--input", str(location), "--output", str(output), "--conf", f"spark.ui.port={ui_port}"
        ),
        env=spark_env(),
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its own process group: the driver JVM goes down with it
    )
    try:
        wait_for_job(ui_port, TRAINING_JOB, trainer)
    finally:
        os.killpg(trainer.pid, signal.SIGKILL)
        trainer.wait()
    assert not list(tmp_path.rglob("metrics.json"))

    unreachable = f"http://127.0.0.1:{free_port()}"
    result = run_trainer(
        "--input", str(location), "--output", str(output), "--pushgateway", unreachable
    )
    assert result.returncode == 0, result.stderr
    assert read_metrics(output)["rows"] == ROWS
    assert "warning: could not push results" in result.stderr  # a push failure is not a failed run
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_two_executors_and_a_lost_worker(
    dataset: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    location, _ = dataset
    with standalone_cluster(tmp_path / "cluster", workers=2) as cluster:
        undisturbed = run_trainer(
            "--input",
            str(location),
            "--output",
            str(tmp_path / "undisturbed"),
            *cluster_args(cluster, executors=2, ui_port=free_port()),
        )
        assert undisturbed.returncode == 0, undisturbed.stderr
        baseline = read_metrics(tmp_path / "undisturbed")
        assert baseline["executors"] == 2
        assert baseline["application_id"].startswith("app-")

        ui_port = free_port()
        disturbed = subprocess.Popen(
            trainer_command(
                "--input",
                str(location),
                "--output",
                str(tmp_path / "disturbed"),
                *cluster_args(cluster, executors=2, ui_port=ui_port),
            ),
            env=spark_env(),
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for_job(ui_port, TRAINING_JOB, disturbed)
        kill_worker(cluster, 0)
        _, stderr = disturbed.communicate(timeout=600)
        assert disturbed.returncode == 0, stderr
    survived = read_metrics(tmp_path / "disturbed")
    assert survived["accuracy"] == baseline["accuracy"]
    assert survived["rows"] == baseline["rows"]
    assert survived["executors"] == 2  # both were live when fitting started
    assert survived["executors_lost"] == 1  # one was lost mid-training
    assert baseline["executors_lost"] == 0
