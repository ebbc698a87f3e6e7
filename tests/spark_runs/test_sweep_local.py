"""The local sweep for real: the generator's data, the trainer, a standalone cluster per count."""

import csv
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.spark_runs.test_standalone import processes_mentioning
from tests.support import REPO_ROOT, require_tool

ROWS = 2000
STANDALONE_WORK_DIR = "spark-doks-standalone-"


def python_module(*arguments: str) -> list[str]:
    return [sys.executable, "-m", *arguments]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_tool("java")
    path = tmp_path_factory.mktemp("sweep-data") / "data"
    command = python_module("spark_job.datagen", "--rows", str(ROWS), "--output", str(path))
    subprocess.run(command, cwd=REPO_ROOT, check=True, capture_output=True, timeout=600)
    return path


@pytest.mark.slow
def test_local_sweep_with_one_and_two_executors(dataset: Path, tmp_path: Path) -> None:
    output = tmp_path / "sweep"
    command = python_module("spark_runs.sweep", "--backend", "local", "--executors", "1,2")
    command += ["--input", str(dataset), "--output", str(output), "--deadline", "3600"]
    result = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=900, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Cheapest within 3600 s:" in result.stdout

    with (output / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["executors"] for row in rows] == ["1", "2"]
    for row in rows:
        assert all(value != "" for value in row.values()), row
        assert 0 < float(row["accuracy"]) <= 1
        assert 0 < float(row["train_seconds"]) < float(row["total_seconds"])
        assert 0 <= float(row["scale_up_seconds"]) < float(row["total_seconds"])
        assert row["executors_lost"] == "0"
        assert float(row["cost_usd"]) > 0
    # s-2vcpu-4gb holds two 800m, 640m executors per node, and the driver fills the first node
    assert [row["nodes"] for row in rows] == ["2", "2"]
    for count in (1, 2):  # the trainer saw as many executors as the row says
        metrics = (output / "runs" / f"executors-{count}" / "metrics.json").read_text()
        assert f'"executors": {count},' in metrics

    table = [line for line in (output / "results.md").read_text().splitlines() if line[:2] == "| "]
    assert [line.split("|")[1].strip() for line in table[1:]] == ["1", "2"]
    png = (output / "sweep.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    assert [path.name for path in tmp_path.iterdir()] == ["sweep"]


@pytest.mark.slow
def test_ctrl_c_stops_the_trainer_and_the_cluster_and_writes_nothing(
    dataset: Path, tmp_path: Path
) -> None:
    standalone_before = set(processes_mentioning(STANDALONE_WORK_DIR))
    output = tmp_path / "sweep"
    command = python_module("spark_runs.sweep", "--backend", "local", "--executors", "1")
    command += ["--input", str(dataset), "--output", str(output)]
    sweep = subprocess.Popen(command, cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not list(tmp_path.glob(".sweep.*.partial/logs/executors-1.log")):
        assert sweep.poll() is None, sweep.communicate()[1]
        assert time.monotonic() < deadline, "the trainer never started"
        time.sleep(0.2)
    time.sleep(3)  # let the trainer start its JVM
    sweep.send_signal(signal.SIGINT)
    _, errors = sweep.communicate(timeout=120)
    assert sweep.returncode == 130, errors
    assert "interrupted" in errors
    assert list(tmp_path.iterdir()) == []
    assert processes_mentioning(str(tmp_path)) == []
    assert set(processes_mentioning(STANDALONE_WORK_DIR)) <= standalone_before
