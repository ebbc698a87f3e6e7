from pathlib import Path

import pytest

from monitoring.demo import DemoError, ObservedRun, observed_training_run, results_table


def test_a_failed_training_run_stops_the_services_and_names_its_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No Prometheus here: this checks the trainer's failure path, not the scrape.
    monkeypatch.setattr("monitoring.local_stack.installed", lambda binary: False)
    with (
        pytest.raises(DemoError, match=r"spark_job.train failed \(exit 2\)") as failure,
        observed_training_run(tmp_path, tmp_path / "missing", "2s"),
    ):
        pass
    assert str(tmp_path / "train.log") in str(failure.value)
    assert "does not exist" in str(failure.value)


def test_results_table_shows_the_runs_table_columns(tmp_path: Path) -> None:
    summary = {
        "accuracy": 0.91,
        "f1": 0.9,
        "weighted_precision": 0.92,
        "weighted_recall": 0.91,
        "train_seconds": 12.5,
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
    assert rows["Total time"] == "40.0000"
    assert rows["Finished"] == "2026-11-30 00:53:20 UTC"
    assert rows["Completed tasks"] == "31"
    assert rows["All results"] == str(tmp_path / "metrics.json")
