"""The local sweep for real: the generator's data, the trainer, a standalone cluster per count."""

import csv
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.spark_runs.test_standalone import processes_mentioning
from tests.support import REPO_ROOT, require_tool
from tests.waiting import HANG_GUARD_SECONDS, wait_while_running

ROWS = 2000
# The master's command line names no folder, so the daemons are found by their classes.
STANDALONE_DAEMONS = "org.apache.spark.deploy."


def python_module(*arguments: str) -> list[str]:
    return [sys.executable, "-m", *arguments]


def stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat from field 3 (state) on; None once the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()  # the command name, in parentheses, may hold spaces


def session_of(pid: int) -> int | None:
    fields = stat_fields(pid)
    return None if fields is None else int(fields[3])


def identity(pid: int) -> tuple[int, str] | None:
    """The pid with its start time, so a reused pid is not taken for the process."""
    fields = stat_fields(pid)
    return None if fields is None else (pid, fields[19])


def cluster_of(sweep_pid: int) -> set[tuple[int, str]]:
    """The standalone master and workers this sweep started (each is its child, in a session of
    its own); other sweeps on the machine are not this test's business."""
    found = set()
    for pid in processes_mentioning(STANDALONE_DAEMONS):
        fields = stat_fields(pid)
        if fields is not None and int(fields[1]) == sweep_pid:
            found.add((pid, fields[19]))
    return found


def trainer_jvm(tmp_path: Path) -> int | None:
    """The pid of the JVM that the sweep's trainer (whose arguments name tmp_path) started."""
    trainers = set(processes_mentioning("spark_job.train")) & set(
        processes_mentioning(str(tmp_path))
    )
    for pid in processes_mentioning("org.apache.spark.deploy.SparkSubmit"):
        # The sweep starts each trainer in a session of its own; spark-submit execs java last.
        if session_of(pid) in trainers and command_name(pid) == "java":
            return pid
    return None


def command_name(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_tool("java")
    path = tmp_path_factory.mktemp("sweep-data") / "data"
    command = python_module("spark_job.datagen", "--rows", str(ROWS), "--output", str(path))
    subprocess.run(
        command, cwd=REPO_ROOT, check=True, capture_output=True, timeout=HANG_GUARD_SECONDS
    )
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
    output = tmp_path / "sweep"
    command = python_module("spark_runs.sweep", "--backend", "local", "--executors", "1")
    command += ["--input", str(dataset), "--output", str(output)]
    sweep = subprocess.Popen(command, cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
    # Interrupt once the trainer's JVM runs, the process the sweep must not leave behind.
    wait_while_running("the trainer's JVM", sweep, lambda: trainer_jvm(tmp_path))
    cluster = cluster_of(sweep.pid)
    assert len(cluster) == 2, cluster  # the master and one worker
    sweep.send_signal(signal.SIGINT)
    _, errors = sweep.communicate(timeout=HANG_GUARD_SECONDS)
    assert sweep.returncode == 130, errors
    assert "interrupted" in errors
    assert list(tmp_path.iterdir()) == []
    assert processes_mentioning(str(tmp_path)) == []
    assert [process for process in cluster if identity(process[0]) == process] == []
