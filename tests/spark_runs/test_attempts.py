"""Submitting the same run again (the operator's retry, `pulumi up --replace`, a new cluster)
writes a new attempt folder beside the first; nothing is refused or overwritten (issue 20 point 3).

The trainer runs twice with exactly the arguments the SparkApplication carries, under a file://
runs folder (the same Hadoop code path as s3a://, tests/spark_job/test_run_output_spark.py)."""

import json
from pathlib import Path

import pytest

from spark_runs.application import arguments
from tests.spark_job.spark_support import generate_dataset, run_trainer
from tests.spark_runs.test_application import training_run

pytestmark = pytest.mark.slow


def test_a_second_submission_of_a_completed_run_writes_a_new_attempt(tmp_path: Path) -> None:
    data = tmp_path / "data"
    generate_dataset(data, 2_000, "--seed", "3")
    run = training_run(input_path=str(data), runs_uri=(tmp_path / "runs").as_uri() + "/")
    submitted = [*arguments(run), "--master", "local[1]"]
    folder = tmp_path / "runs" / run.name

    first = run_trainer(*submitted)
    assert first.returncode == 0, first.stderr
    (attempt,) = folder.iterdir()
    before = {path: path.stat().st_mtime_ns for path in folder.rglob("*")}

    second = run_trainer(*submitted)
    assert second.returncode == 0, second.stderr
    attempts = sorted(folder.iterdir())
    assert len(attempts) == 2 and attempt in attempts
    for path in attempts:
        metrics = json.loads((path / "metrics.json").read_text())
        # The folder is the attempt's Spark application id, as the operator's status reports it.
        assert metrics["application_id"] == path.name
        assert (path / "model").is_dir()
    # The first attempt's files are untouched.
    assert {path: path.stat().st_mtime_ns for path in attempt.rglob("*")} == {
        path: mtime for path, mtime in before.items() if path.parent.is_relative_to(attempt)
    }
