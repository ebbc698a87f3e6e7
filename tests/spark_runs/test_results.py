"""The results command against a local S3-compatible server (moto, see s3_server.py)."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from rich.console import Console

from monitoring.queries import RUN_RESULT_METRICS
from spark_runs import results
from tests.spark_runs.s3_server import s3_server

BUCKET = "spark-doks-test-a1b2c3"
REGION = "sfo2"


@pytest.fixture(scope="module")
def endpoint_url() -> Iterator[str]:
    with s3_server() as url:
        yield url


@pytest.fixture(autouse=True)
def test_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-access-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret-key")
    monkeypatch.setenv("COLUMNS", "250")  # rich fits tables to the terminal, 80 under capture


def metrics(application_id: str, accuracy: float, executors: int) -> dict[str, Any]:
    return {
        "application_id": application_id,
        "application_name": f"train-{application_id[-3:]}",
        "accuracy": accuracy,
        "f1": accuracy - 0.01,
        "weighted_precision": accuracy + 0.01,
        "weighted_recall": accuracy,
        "train_seconds": 12.5,
        "total_seconds": 40.25,
        "rows": 1000 * executors,
        "executors": executors,
        "finished_timestamp_seconds": 1_796_000_000.0,
    }


@pytest.fixture()
def bucket(endpoint_url: str) -> Iterator[Any]:
    client = results.spaces_client(REGION, endpoint_url)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def put(client: Any, key: str, body: str) -> None:
    client.put_object(Bucket=BUCKET, Key=key, Body=body.encode())


def test_complete_runs_are_rows_and_folders_without_metrics_are_incomplete(
    bucket: Any, endpoint_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = metrics("app-20261201-001", 0.91, 2), metrics("app-20261201-002", 0.93, 4)
    put(bucket, "runs/train-001/model/metadata/part-00000", "{}")
    put(bucket, "runs/train-001/metrics.json", json.dumps(first))
    put(bucket, "runs/train-002/metrics.json", json.dumps(second))
    put(bucket, "runs/train-003/model/metadata/part-00000", "{}")  # the run died before its marker
    put(bucket, "events/app-20261201-001", "{}")

    complete, incomplete = results.collect(
        results.RunsInBucket(results.spaces_client(REGION, endpoint_url), BUCKET)
    )
    assert sorted(run["application_id"] for run in complete) == [
        first["application_id"],
        second["application_id"],
    ]
    assert incomplete == ["train-003"]

    table = results.runs_table(complete)
    assert [column.header for column in table.columns] == [
        "Application id",
        "Application",
        *[column.title for column in RUN_RESULT_METRICS],
    ]
    console = Console(width=300, record=True)
    console.print(table)
    rendered = console.export_text()
    assert "0.9100" in rendered and "0.9300" in rendered and "train-001" in rendered
    assert "2026-11-30 " in rendered  # the finish time, as Grafana's Finished column shows it

    assert (
        results.main(["--bucket", BUCKET, "--region", REGION, "--endpoint-url", endpoint_url]) == 0
    )
    assert "Incomplete (no metrics.json): train-003" in capsys.readouterr().out


def test_each_complete_attempt_is_a_row_and_a_failed_attempt_beside_it_is_not_incomplete(
    bucket: Any, endpoint_url: str
) -> None:
    # train-004 failed once, then its retry completed; train-005 was submitted again after it
    # completed (`pulumi up --replace`); train-006's only attempt died before its marker.
    retried = metrics("spark-" + "b" * 32, 0.92, 2)
    replaced = [metrics("spark-" + "c" * 32, 0.94, 2), metrics("spark-" + "d" * 32, 0.94, 2)]
    put(bucket, f"runs/train-004/spark-{'a' * 32}/model/metadata/part-00000", "{}")
    put(bucket, f"runs/train-004/spark-{'b' * 32}/model/metadata/part-00000", "{}")
    put(bucket, f"runs/train-004/spark-{'b' * 32}/metrics.json", json.dumps(retried))
    for attempt in replaced:
        put(bucket, f"runs/train-005/{attempt['application_id']}/metrics.json", json.dumps(attempt))
    put(bucket, f"runs/train-006/spark-{'e' * 32}/model/metadata/part-00000", "{}")

    runs = results.RunsInBucket(results.spaces_client(REGION, endpoint_url), BUCKET)
    complete, incomplete = results.collect(runs)
    assert sorted(run["application_id"] for run in complete) == sorted(
        [retried["application_id"], *(attempt["application_id"] for attempt in replaced)]
    )
    assert incomplete == ["train-006"]
    # The sweep reads the attempt the operator's status names.
    text = runs.metrics_text("train-004", "spark-" + "b" * 32)
    assert text is not None and json.loads(text) == retried
    assert runs.metrics_text("train-004", "spark-" + "a" * 32) is None


def test_stack_outputs_name_the_bucket_and_region(
    bucket: Any, endpoint_url: str, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    put(bucket, "runs/train-001/metrics.json", json.dumps(metrics("app-1-001", 0.9, 1)))
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"bucket": BUCKET, "spacesRegion": REGION}))
    assert results.main(["--stack-outputs", str(outputs), "--endpoint-url", endpoint_url]) == 0
    assert "app-1-001" in capsys.readouterr().out


def test_a_missing_bucket_is_one_line_and_exit_2(
    endpoint_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        results.main(["--bucket", "no-such-bucket", "--endpoint-url", endpoint_url])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"{results.PROG}: error: bucket no-such-bucket does not exist; check --bucket or run "
        "`pulumi up`\n"
    )
    assert captured.out == ""


def test_no_key_is_one_line_naming_the_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(variable)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(SystemExit) as exit_info:
        results.main(["--bucket", BUCKET, "--endpoint-url", "http://127.0.0.1:9"])
    assert exit_info.value.code == 2
    assert "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in capsys.readouterr().err
