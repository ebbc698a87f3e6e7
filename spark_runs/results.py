"""The runs in the stack's bucket, as the table Grafana's runs table shows.

    pulumi stack output --json > outputs.json
    export AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...
    python -m spark_runs.results --stack-outputs outputs.json

Each run is a folder ``runs/<application name>/`` in the bucket, and each submission of it (a
retry, a re-run) writes a folder of its own in there, named after its Spark application id. An
attempt is complete once its ``metrics.json`` exists (the trainer writes it last): every complete
attempt is a row, and runs without one are listed apart as incomplete. Runs written before
attempt folders existed keep their ``metrics.json`` in the run folder itself and count too.

Keys come from the AWS SDK's usual places (environment variables, ~/.aws); the endpoint is the
bucket region's Spaces endpoint unless --endpoint-url says otherwise.
"""

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.table import Table

from monitoring.queries import RUN_RESULT_METRICS, format_value
from spark_job.pushgateway import GAUGES
from spark_runs.object_store import METRICS_FILE, RUNS_PREFIX, SPACES_REGIONS
from spark_runs.spaces_s3 import s3_client

PROG = "python -m spark_runs.results"
EXIT_USAGE = 2
_NOT_FOUND = ("NoSuchKey", "404")


class StoreError(Exception):
    """The bucket cannot be listed or read; the message names the cause and the fix."""


@dataclass(frozen=True)
class RunsInBucket:
    """The runs under ``runs/`` of one bucket, through an S3 client (boto3)."""

    client: Any
    bucket: str

    def runs(self) -> dict[str, list[str]]:
        """Each run's name -> the metrics.json keys of its complete attempts (empty: incomplete)."""
        runs: dict[str, list[str]] = {}
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=RUNS_PREFIX
        )
        for page in pages:
            for item in page.get("Contents", []):
                name, _, inside = str(item["Key"])[len(RUNS_PREFIX) :].partition("/")
                complete = runs.setdefault(name, [])
                if is_attempt_metrics(inside):
                    complete.append(str(item["Key"]))
        return runs

    def metrics_text(self, run_name: str, attempt: str) -> str | None:
        """The metrics.json of one attempt (a Spark application id), or None if it has none."""
        return self.text(attempt_metrics_key(run_name, attempt))

    def text(self, key: str) -> str | None:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _NOT_FOUND:
                return None
            raise
        text: str = response["Body"].read().decode()
        return text


def attempt_metrics_key(run_name: str, attempt: str) -> str:
    return f"{RUNS_PREFIX}{run_name}/{attempt}/{METRICS_FILE}"


def is_attempt_metrics(path_in_run: str) -> bool:
    """``<attempt>/metrics.json``, or ``metrics.json`` of a run from before attempt folders."""
    folder, _, name = path_in_run.rpartition("/")
    return name == METRICS_FILE and "/" not in folder


def spaces_client(region: str, endpoint_url: str | None = None) -> Any:
    """An S3 client for the region's Spaces endpoint, with keys from the usual AWS places."""
    session = boto3.Session()
    if session.get_credentials() is None:
        raise StoreError(
            "no Spaces key: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (see docs/data.md)"
        )
    return s3_client(region, endpoint_url, session=session)


def collect(runs: RunsInBucket) -> tuple[list[dict[str, Any]], list[str]]:
    """(complete runs' metrics, names of incomplete runs), translating store errors."""
    try:
        complete, incomplete = [], []
        for name, keys in sorted(runs.runs().items()):
            texts = [text for text in map(runs.text, keys) if text is not None]
            if texts:
                complete += [json.loads(text) for text in texts]
            else:
                incomplete.append(name)
        return complete, incomplete
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "NoSuchBucket":
            raise StoreError(
                f"bucket {runs.bucket} does not exist; check --bucket or run `pulumi up`"
            ) from None
        if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            raise StoreError(
                f"the key may not read bucket {runs.bucket} ({code}); use a key with a read "
                "grant on it"
            ) from None
        raise StoreError(f"cannot list bucket {runs.bucket}: {error}") from None
    except BotoCoreError as error:
        raise StoreError(f"cannot reach the bucket {runs.bucket}: {error}") from None


def runs_table(complete: list[dict[str, Any]]) -> Table:
    """The columns of Grafana's runs table (monitoring.queries.RUN_RESULT_METRICS)."""
    field_of_gauge = {gauge: field for field, gauge in GAUGES.items()}
    table = Table(title="Training runs")
    table.add_column("Application id")
    table.add_column("Application")
    for column in RUN_RESULT_METRICS:
        table.add_column(column.title, justify="right")
    for metrics in sorted(complete, key=lambda run: str(run.get("application_id", ""))):
        cells = []
        for column in RUN_RESULT_METRICS:
            value = metrics.get(field_of_gauge.get(column.metric, ""))
            cells.append("" if value is None else format_value(value, column.unit))
        table.add_row(
            str(metrics.get("application_id")), str(metrics.get("application_name")), *cells
        )
    return table


def _fail(message: str) -> NoReturn:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    sys.exit(EXIT_USAGE)


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        _fail(f"{message} (see --help)")


def bucket_from_arguments(arguments: argparse.Namespace) -> tuple[str, str]:
    """(bucket, region) from --bucket/--region or the stack outputs."""
    if arguments.stack_outputs is not None:
        try:
            outputs = json.loads(Path(arguments.stack_outputs).read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise StoreError(
                f"--stack-outputs {arguments.stack_outputs} is not readable JSON ({error}); "
                "write it with `pulumi stack output --json`"
            ) from None
        if not isinstance(outputs, dict) or "bucket" not in outputs:
            raise StoreError(
                f"--stack-outputs {arguments.stack_outputs} has no bucket; the stack needs the "
                "digitalocean target"
            )
        return str(outputs["bucket"]), str(outputs.get("spacesRegion", arguments.region))
    if arguments.bucket is None:
        raise StoreError("pass --stack-outputs FILE or --bucket NAME")
    return arguments.bucket, arguments.region


def main(argv: Sequence[str] | None = None) -> int:
    parser = _OneLineParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--stack-outputs", type=Path, help="`pulumi stack output --json` file")
    parser.add_argument("--bucket", help="bucket name (instead of --stack-outputs)")
    parser.add_argument("--region", choices=SPACES_REGIONS, default="sfo2")
    parser.add_argument("--endpoint-url", help="S3 endpoint (default: the region's Spaces)")
    arguments = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        bucket, region = bucket_from_arguments(arguments)
        runs = RunsInBucket(spaces_client(region, arguments.endpoint_url), bucket)
        complete, incomplete = collect(runs)
    except StoreError as error:
        _fail(str(error))
    console = Console()
    console.print(runs_table(complete))
    if incomplete:
        console.print(f"Incomplete (no {METRICS_FILE}): {', '.join(sorted(incomplete))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
