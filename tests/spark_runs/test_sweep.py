"""The sweep's command line, staging and reports, with a stand-in backend (no Spark)."""

import csv
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from spark_runs import sweep
from spark_runs.run_result import RunFailed, RunMetrics
from spark_runs.sweep_report import SweepRow, scaling
from tests.support import REPO_ROOT

TRAIN_SECONDS = {1: 100.0, 2: 60.0, 4: 40.0}
SCALE_UP_SECONDS = {1: 5.0, 2: 10.0, 4: 30.0}


class ScriptedBackend:
    """Returns fixed metrics per count; raises `fail_with` when asked for `fail_at` executors."""

    def __init__(self, fail_at: int | None = None, fail_with: BaseException | None = None) -> None:
        self.fail_at = fail_at
        self.fail_with = fail_with
        self.ran: list[int] = []

    def describe(self, executor_counts: list[int]) -> str:
        return "scripted"

    def run(self, executors: int, run_dir: Path, log_path: Path) -> RunMetrics:
        run_dir.mkdir(parents=True)
        (run_dir / "metrics.json").write_text("{}")
        log_path.write_text("log\n")
        if executors == self.fail_at and self.fail_with is not None:
            raise self.fail_with
        self.ran.append(executors)
        return RunMetrics(
            accuracy=0.9,
            weighted_precision=0.91,
            weighted_recall=0.9,
            f1=0.89,
            train_seconds=TRAIN_SECONDS[executors],
            total_seconds=TRAIN_SECONDS[executors] + 20 + SCALE_UP_SECONDS[executors],
            executor_wait_seconds=SCALE_UP_SECONDS[executors],
            executors=executors,
            executors_lost=0,
        )


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "data.parquet"
    path.mkdir()
    return path


def run_main(monkeypatch: pytest.MonkeyPatch, backend: ScriptedBackend, argv: list[str]) -> int:
    @contextmanager
    def scripted(*_: object) -> Iterator[ScriptedBackend]:
        yield backend

    monkeypatch.setattr(sweep, "_backend", scripted)
    return sweep.main(argv)


def test_sweep_writes_a_row_per_count_and_all_three_reports(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, dataset: Path
) -> None:
    output = tmp_path / "out"
    argv = ["--backend", "local", "--executors", "4,1,2", "--input", str(dataset)]
    status = run_main(monkeypatch, ScriptedBackend(), [*argv, "--output", str(output)])
    assert status == 0
    with (output / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["executors"]) for row in rows] == [1, 2, 4]
    # s-2vcpu-4gb: two 800m, 640m executors share a node; the driver has the first one
    assert [int(row["nodes"]) for row in rows] == [2, 2, 3]
    assert [float(row["scale_up_seconds"]) for row in rows] == [5.0, 10.0, 30.0]
    assert float(rows[1]["cost_usd"]) == pytest.approx(2 * 90 * 24 / (672 * 3600))
    assert float(rows[1]["speedup"]) == pytest.approx(100 / 60, abs=1e-4)
    table = [line for line in (output / "results.md").read_text().splitlines() if line[:2] == "| "]
    assert len(table) == 1 + 3  # header and one row per count
    assert table[0].startswith("| executors | scale-up time (s) | training time (s) | total time")
    assert table[2].startswith(
        "| 2 | 10.0 | 60.0 | 90.0 | 0.9000 | 0.9100 | 0.9000 | 0.8900 | 1.67 | 83% | 0 | 2 "
    )
    assert (output / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(path.name for path in (output / "runs").iterdir()) == [
        "executors-1",
        "executors-2",
        "executors-4",
    ]
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []


def test_whole_core_requests_cost_a_node_per_executor(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, dataset: Path
) -> None:
    output = tmp_path / "out"
    argv = ["--backend", "local", "--executors", "1,2,4", "--input", str(dataset)]
    argv += ["--executor-core-request", "1", "--executor-memory", "1g", "--output", str(output)]
    assert run_main(monkeypatch, ScriptedBackend(), argv) == 0
    with (output / "results.csv").open() as handle:
        assert [int(row["nodes"]) for row in csv.DictReader(handle)] == [2, 3, 5]


@pytest.mark.parametrize(
    ("failure", "status"), [(KeyboardInterrupt(), 130), (RunFailed("trainer exited 1"), 1)]
)
def test_an_interrupted_or_failed_sweep_leaves_no_output(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    dataset: Path,
    failure: BaseException,
    status: int,
) -> None:
    backend = ScriptedBackend(fail_at=2, fail_with=failure)
    output = tmp_path / "out"
    argv = ["--backend", "local", "--executors", "1,2,4", "--input", str(dataset)]
    assert run_main(monkeypatch, backend, [*argv, "--output", str(output)]) == status
    assert backend.ran == [1]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data.parquet"]


def test_speedup_and_efficiency_are_relative_to_the_smallest_count() -> None:
    rows = [
        SweepRow(2, 5.0, 50.0, 60.0, 0.9, 0.9, 0.9, 0.9, 0, 3, 0.01),
        SweepRow(4, 9.0, 30.0, 40.0, 0.9, 0.9, 0.9, 0.9, 0, 5, 0.02),
    ]
    (base, four) = scaling(rows)
    assert (base.speedup, base.efficiency) == (1.0, 1.0)
    assert four.speedup == pytest.approx(50 / 30)
    assert four.efficiency == pytest.approx(50 / 30 / 2)


BAD_INPUT = [
    (["--executors", "1,x"], "argument --executors: 'x' is not a positive whole number"),
    (["--executors", "0"], "'0' is not a positive whole number"),
    (["--executors", "1,2,1"], "repeats a count"),
    (["--fraction", "1.5"], "argument --fraction: '1.5' is not in (0, 1]"),
    (["--executor-memory", "1gb"], "not a Spark memory size"),
    (["--node-size", "s-99"], "--node-size 's-99' is unknown"),
    (["--executor-memory", "16g"], "an executor needs"),
    (["--backend", "gpu"], "--backend: invalid choice"),
    (["--executor-core-request", "lots"], "not a CPU quantity"),
    (["--executor-core-request", "1500m"], "more than --executor-cores 1"),
    (["--input", "/nonexistent/data"], "--input /nonexistent/data does not exist"),
]


@pytest.mark.parametrize(("change", "message"), BAD_INPUT)
def test_bad_input_exits_2_with_one_line_naming_it(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    dataset: Path,
    change: list[str],
    message: str,
) -> None:
    argv = ["--backend", "local", "--executors", "1,2", "--input", str(dataset)]
    argv += ["--output", str(tmp_path / "out"), *change]
    with pytest.raises(SystemExit) as exit_info:
        sys.exit(sweep.main(argv))
    assert exit_info.value.code == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 1, errors
    assert message in errors[0]
    assert not (tmp_path / "out").exists()


def test_an_existing_output_directory_is_not_overwritten(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, dataset: Path
) -> None:
    output = tmp_path / "out"
    output.mkdir()
    (output / "results.csv").write_text("earlier results\n")
    argv = ["--backend", "local", "--executors", "1", "--input", str(dataset)]
    assert sweep.main([*argv, "--output", str(output)]) == 2
    assert "--output" in capsys.readouterr().err
    assert (output / "results.csv").read_text() == "earlier results\n"


def test_the_module_entry_point_rejects_bad_input_before_starting_spark(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            *(sys.executable, "-m", "spark_runs.sweep", "--backend", "local", "--executors", "2"),
            *("--input", str(tmp_path / "missing"), "--output", str(tmp_path / "out")),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "does not exist" in result.stderr


def test_local_backend_warns_when_executors_outnumber_the_cores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from spark_runs import sweep_local

    monkeypatch.setattr(sweep_local, "machine_cores", lambda: 2)
    backend = sweep_local.LocalBackend("data", executor_cores=1, executor_memory="1g", fraction=1)
    assert "has 2 cores" in backend.describe([1, 2])
    assert "Warning" not in backend.describe([1, 2])
    assert "up to 4 executor cores on 2" in backend.describe([1, 4])
