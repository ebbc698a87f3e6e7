"""Every boto3 client that talks to Spaces comes from spark_runs.spaces_s3, which sends and checks
checksums only where the S3 API requires them; the leak sweeper empties a bucket without
DeleteObjects. The request shapes are checked against versitygw on loopback."""

import re
from collections.abc import Iterator
from typing import Any

import pytest

from spark_runs import results
from spark_runs.live import spaces
from spark_runs.standalone import free_port
from tests.s3_gateway import Gateway, versitygw
from tests.support import REPO_ROOT

BUCKET = "spark-doks-live-sweep"
CHECKSUM_HEADER = re.compile(r"^x-amz-(checksum-|sdk-checksum-algorithm|trailer)", re.IGNORECASE)


def test_no_module_makes_its_own_s3_client() -> None:
    made_here = REPO_ROOT / "spark_runs" / "spaces_s3.py"
    sources = [
        path
        for folder in ("infra", "spark_runs", "spark_job", "monitoring", "tests")
        for path in (REPO_ROOT / folder).rglob("*.py")
        if path != made_here
    ]
    own_clients = [
        str(path.relative_to(REPO_ROOT))
        for path in sources
        if re.search(r"""boto3\.client\(|\.client\(\s*["']s3["']""", path.read_text())
    ]
    assert own_clients == []


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with versitygw(tmp_path_factory.mktemp("versitygw")) as server:
        yield server


def recorded(client: Any) -> list[tuple[str, dict[str, str]]]:
    """(operation, headers) of every request the client sends from now on."""
    requests: list[tuple[str, dict[str, str]]] = []

    def record(request: Any, event_name: str, **_: Any) -> None:
        requests.append((event_name.rsplit(".", 1)[-1], dict(request.headers.items())))

    client.meta.events.register("before-send.s3", record)
    return requests


@pytest.mark.s3a
def test_uploads_and_downloads_carry_no_checksums_the_api_does_not_require(
    gateway: Gateway,
) -> None:
    client = spaces.client("fra1", **_keys(gateway))
    client.create_bucket(Bucket="spark-doks-checksums")
    requests = recorded(client)
    client.put_object(Bucket="spark-doks-checksums", Key="runs/a/metrics.json", Body=b"{}")
    body = client.get_object(Bucket="spark-doks-checksums", Key="runs/a/metrics.json")["Body"]
    assert body.read() == b"{}"
    assert [operation for operation, _ in requests] == ["PutObject", "GetObject"]
    for operation, headers in requests:
        assert [name for name in headers if CHECKSUM_HEADER.match(name)] == [], operation
        assert "aws-chunked" not in headers.get("Content-Encoding", ""), operation
        assert "x-amz-checksum-mode" not in {name.lower() for name in headers}, operation


@pytest.mark.s3a
def test_the_sweeper_empties_and_deletes_a_bucket_without_delete_objects(
    gateway: Gateway,
) -> None:
    client = spaces.client("fra1", **_keys(gateway))
    client.create_bucket(Bucket=BUCKET)
    client.put_object(Bucket=BUCKET, Key="events/", Body=b"")
    for key in ("runs/a/metrics.json", "runs/a/model/data/part-0.parquet"):
        client.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    requests = recorded(client)
    spaces.empty_and_delete(client, BUCKET)
    assert BUCKET not in [bucket["Name"] for bucket in client.list_buckets()["Buckets"]]
    operations = [operation for operation, _ in requests]
    assert "DeleteObjects" not in operations
    assert operations.count("DeleteObject") == 3


def _keys(gateway: Gateway) -> dict[str, str]:
    return {
        "access_key_id": gateway.root.access_key_id,
        "secret_access_key": gateway.root.secret_access_key,
        "endpoint_url": gateway.endpoint_url,
    }


@pytest.mark.s3a
@pytest.mark.parametrize("case", ["wrong key", "missing bucket", "unreachable endpoint"])
def test_the_results_command_names_a_bad_store_in_one_line_with_exit_2(
    case: str, gateway: Gateway, capsys: pytest.CaptureFixture[str]
) -> None:
    client = spaces.client("fra1", **_keys(gateway))
    client.create_bucket(Bucket="spark-doks-results")
    buckets = client.list_buckets()["Buckets"]
    bucket, endpoint_url = "spark-doks-results", gateway.endpoint_url
    secret, expected = gateway.root.secret_access_key, ""
    if case == "wrong key":
        secret, expected = "not-the-secret", "the key may not read bucket spark-doks-results"
    elif case == "missing bucket":
        bucket, expected = "no-such-bucket", "bucket no-such-bucket does not exist"
    else:
        endpoint_url = f"http://127.0.0.1:{free_port()}"
        expected = "cannot reach the bucket spark-doks-results"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", gateway.root.access_key_id)
        patch.setenv("AWS_SECRET_ACCESS_KEY", secret)
        with pytest.raises(SystemExit) as exit_:
            results.main(["--bucket", bucket, "--region", "fra1", "--endpoint-url", endpoint_url])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith(f"{results.PROG}: error: {expected}")
    assert client.list_buckets()["Buckets"] == buckets
    assert client.list_objects_v2(Bucket="spark-doks-results")["KeyCount"] == 0
    client.delete_bucket(Bucket="spark-doks-results")
