import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from monitoring import demo, preflight
from monitoring.demo import DemoError, ObservedRun, observed_training_run, results_table
from spark_job.pushgateway import GAUGES
from tests.support import REPO_ROOT, env_without_java


@pytest.fixture
def without_prometheus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preflight, "available", lambda tool: tool is preflight.JAVA)


def test_a_failed_training_run_stops_the_services_and_names_its_log(
    tmp_path: Path, without_prometheus: None
) -> None:
    with (
        pytest.raises(DemoError, match=r"spark_job.train failed \(exit 2\)") as failure,
        observed_training_run(tmp_path, tmp_path / "missing", "2s"),
    ):
        pass
    assert str(tmp_path / "train.log") in str(failure.value)
    assert "does not exist" in str(failure.value).splitlines()[0]


def test_a_step_without_java_reports_the_launcher_s_cause_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in env_without_java(tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(DemoError) as failure:
        demo.generate_data(tmp_path, 100)
    cause, log_line = str(failure.value).splitlines()
    assert "JAVA_HOME is not set" in cause
    assert log_line.strip() == f"full log: {tmp_path / 'datagen.log'}"
    assert "Traceback" in (tmp_path / "datagen.log").read_text()


def test_demo_without_java_stops_before_any_step_with_the_install_command(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "monitoring.demo", "--workdir", str(tmp_path / "demo")],
        env=env_without_java(tmp_path),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "Java 17" in result.stdout
    assert "sudo apt-get install openjdk-17-jre-headless" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "demo").exists()


def test_cause_line_prefers_the_cli_error_then_the_first_cause_then_the_last_line() -> None:
    cli = "WARN something\npython -m spark_job.train: error: --input x does not exist\n"
    assert demo.cause_line(cli) == "python -m spark_job.train: error: --input x does not exist"
    traceback = (
        "Traceback (most recent call last):\n  File 'x', in y\n    raise Error\nKeyError: 'a'\n"
    )
    assert demo.cause_line(traceback) == "KeyError: 'a'"
    assert demo.cause_line("starting\nstopped\n") == "stopped"


def test_results_table_formats_seconds_and_counts(tmp_path: Path) -> None:
    summary = {
        "accuracy": 0.91,
        "f1": 0.9,
        "weighted_precision": 0.92,
        "weighted_recall": 0.91,
        "train_seconds": 12.401,
        "total_seconds": 40.0,
        "executors": 2,
        "executor_wait_seconds": 35.5,
        "executors_lost": 0,
        "rows": 20000,
        "completed_tasks": 31,
        "failed_tasks": 0,
        "finished_timestamp_seconds": 1_796_000_000.0,
        "application_id": "local-1",
    }
    table = results_table(ObservedRun("local-1", summary, None, None), tmp_path)
    rows = dict(zip(table.columns[0].cells, table.columns[1].cells, strict=True))
    assert rows["Accuracy"] == "0.9100"
    assert rows["Executors"] == "2"
    assert rows["Rows"] == "20,000"
    assert rows["Train time"] == "12.4 s"
    assert rows["Total time"] == "40.0 s"
    assert rows["Finished"] == "2026-11-30 00:53:20 UTC"
    assert rows["Completed tasks"] == "31"
    assert rows["All results"] == str(tmp_path / "metrics.json")
    assert "Bayes limit (dataset)" not in rows  # no dataset metadata given


def test_results_table_shows_the_dataset_s_bayes_limit_and_majority_rate_beside_accuracy(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "_dataset.json").write_text(
        json.dumps({"rows": 20000, "bayes_accuracy": 0.91072, "majority_rate": 0.2512})
    )
    summary = {field: 1 for field in GAUGES} | {"accuracy": 0.8995}
    table = results_table(
        ObservedRun("local-1", summary, None, None), tmp_path, demo.dataset_metadata(data)
    )
    titles = list(table.columns[0].cells)
    values = dict(zip(titles, table.columns[1].cells, strict=True))
    accuracy = titles.index("Accuracy")
    assert titles[accuracy + 1 : accuracy + 3] == [
        "Bayes limit (dataset)",
        "Majority-class rate (dataset)",
    ]
    assert values["Bayes limit (dataset)"] == "0.9107"
    assert values["Majority-class rate (dataset)"] == "0.2512"
    assert demo.dataset_metadata(tmp_path / "no-metadata") == {}


class FakeSteps:
    """datagen and the trainer replaced by quick stand-ins that write what the real ones do."""

    def __init__(self, fail_training: bool = False) -> None:
        self.fail_training = fail_training
        self.started = threading.Barrier(2)

    def __call__(self, module: str, arguments: list[str], log: Path) -> str:
        output = Path(arguments[arguments.index("--output") + 1])
        log.write_text(f"{module}\n")
        if module == "spark_job.datagen":
            output.mkdir()
            (output / "_dataset.json").write_text(json.dumps({"run": str(output.parent)}))
            return ""
        if self.fail_training:
            raise DemoError(f"{module} failed (exit 1): JAVA_HOME is not set\n  full log: {log}")
        data = Path(arguments[arguments.index("--input") + 1])
        summary = {
            "application_id": f"local-{output.parent.name}",
            "data": json.loads((data / "_dataset.json").read_text())["run"],
            **{field: 1.0 for field in GAUGES},
        }
        time.sleep(0.5)  # both runs are training at the same time
        output.mkdir()
        (output / "metrics.json").write_text(json.dumps(summary))
        return json.dumps(summary) + "\n"


def test_two_demos_at_once_write_separate_results_and_latest_is_one_of_them(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    without_prometheus: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(demo, "_python_module", FakeSteps())
    codes: list[int] = []
    runs = [
        threading.Thread(target=lambda: codes.append(demo.main(["--workdir", str(tmp_path)])))
        for _ in range(2)
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert codes == [0, 0]
    folders = sorted(path for path in tmp_path.iterdir() if not path.is_symlink())
    assert len(folders) == 2
    for folder in folders:
        metrics = json.loads((folder / "model" / "metrics.json").read_text())
        assert metrics["application_id"] == f"local-{folder.name}"
        assert metrics["data"] == str(folder)  # each trained on its own data
    assert (tmp_path / "latest").resolve() in folders
    output = " ".join(capsys.readouterr().out.split())
    for folder in folders:
        assert f"Run folder: {folder}" in output


def test_a_failed_run_leaves_latest_on_the_last_success_and_says_so(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    without_prometheus: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(demo, "_python_module", FakeSteps())
    assert demo.main(["--workdir", str(tmp_path)]) == 0
    succeeded = (tmp_path / "latest").resolve()
    monkeypatch.setattr(demo, "_python_module", FakeSteps(fail_training=True))
    capsys.readouterr()
    assert demo.main(["--workdir", str(tmp_path)]) == 1
    assert (tmp_path / "latest").resolve() == succeeded
    (failed,) = [p for p in tmp_path.iterdir() if not p.is_symlink() and p != succeeded]
    assert not (failed / "model").exists() and not (failed / "report.png").exists()
    output = " ".join(capsys.readouterr().out.split())
    assert "JAVA_HOME is not set" in output
    assert f"({failed}) has no results" in output
    assert f"still {tmp_path / 'latest'} -> {succeeded.name}" in output


def test_redirected_output_prints_one_line_per_step(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    without_prometheus: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(demo, "_python_module", FakeSteps())
    assert demo.main(["--workdir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"Generating {demo.DEMO_ROWS:,} rows ..." in lines
    assert "Training with Spark ..." in lines
    assert [line for line in lines if line.startswith("Training with Spark: done in ")]
