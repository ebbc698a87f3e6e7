"""Where a run's results go, and what a store's refusal means to the user.

``--output`` is a local folder or a URI (``file://``, ``s3a://``). A local folder is staged and
renamed into place (spark_job.atomic). Under a URI the model is written by Spark's writers and
``metrics.json`` last, through Hadoop's FileSystem, so a folder without ``metrics.json`` is an
incomplete run and readers skip it. A complete run is never overwritten, locally or in a bucket.
"""

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException
from pyspark.ml.util import MLWritable
from pyspark.sql import SparkSession

from spark_job.atomic import AtomicDirectory
from spark_job.cli import InputError

METRICS_FILE = "metrics.json"
MODEL_DIR = "model"
URI_SCHEMES = ("file", "s3a")

# Hadoop's answers to "the bucket is not there" and "the key may not do this".
_UNKNOWN_BUCKET = "org.apache.hadoop.fs.s3a.UnknownStoreException"
_ACCESS_DENIED = "java.nio.file.AccessDeniedException"
# S3's error codes (in the AccessDeniedException's message) for a key the store does not know or a
# secret that does not match it.
_WRONG_KEY_CODES = ("InvalidAccessKeyId", "SignatureDoesNotMatch")
# No answer at all: refused, unresolvable or timed out (S3A gives up after its retries).
_UNREACHABLE = (
    "java.net.ConnectException",
    "java.net.UnknownHostException",
    "java.net.NoRouteToHostException",
    "java.net.SocketTimeoutException",
    "org.apache.hadoop.net.ConnectTimeoutException",
)


@dataclass(frozen=True)
class RunOutput:
    """A local folder (``path``) or a Hadoop URI (``uri``), exactly one of them."""

    path: Path | None = None
    uri: str | None = None


def parse_output(location: str) -> RunOutput:
    """``--output`` as given: a plain path is a local folder, a URI is written through Hadoop."""
    scheme = urlparse(location).scheme
    if not scheme:
        return RunOutput(path=Path(location))
    if scheme not in URI_SCHEMES:
        raise InputError(
            f"--output {location} has scheme {scheme}://; use a local folder, file:// or s3a://"
        )
    return RunOutput(uri=location.rstrip("/"))


def attempt_output(output: RunOutput, application_id: str) -> RunOutput:
    """The folder of this attempt under ``output``, named after Spark's application id.

    spark-submit to Kubernetes makes a new id for every submission (``spark-`` and a random
    UUID, KubernetesConf.getKubernetesAppId), and the operator's retries and re-runs each submit
    again; the operator reports the id as the application's ``status.sparkApplicationId``.
    """
    if output.path is not None:
        return RunOutput(path=output.path / application_id)
    return RunOutput(uri=f"{output.uri}/{application_id}")


def refuse_local_complete(output: RunOutput) -> None:
    """Before Spark starts: a local folder holding a complete run is never replaced."""
    if output.path is not None and (output.path / METRICS_FILE).is_file():
        raise _complete(str(output.path))


def refuse_remote_complete(spark: SparkSession, output: RunOutput) -> None:
    """Once Spark runs: the same check under a URI, which also finds a missing bucket."""
    if output.uri is None:
        return

    def complete() -> bool:
        file_system, marker = _file_system(spark, f"{output.uri}/{METRICS_FILE}")
        return bool(file_system.exists(marker))

    if with_store_errors(complete, "--output", output.uri):
        raise _complete(output.uri)


@contextmanager
def run_folder(
    spark: SparkSession, output: RunOutput, model: MLWritable
) -> Iterator[Callable[[dict[str, Any]], None]]:
    """Write the model, then yield the function that writes metrics.json, the completion marker.

    A local folder appears only when the block succeeds (spark_job.atomic).
    """
    if output.path is not None:
        with AtomicDirectory(output.path) as staging:
            model.write().save(str(staging / MODEL_DIR))

            def write_file(metrics: dict[str, Any]) -> None:
                (staging / METRICS_FILE).write_text(_json(metrics))

            yield write_file
        return
    assert output.uri is not None
    # A model folder without metrics.json is an earlier run that did not finish: replace it.
    model_uri = f"{output.uri}/{MODEL_DIR}"
    with_store_errors(lambda: model.write().overwrite().save(model_uri), "--output", output.uri)
    file_system, marker = _file_system(spark, f"{output.uri}/{METRICS_FILE}")

    def write_marker(metrics: dict[str, Any]) -> None:
        stream = file_system.create(marker, False)  # overwrite=False: never replace a result
        try:
            stream.write(bytearray(_json(metrics).encode()))
        finally:
            stream.close()

    yield write_marker


def _json(metrics: dict[str, Any]) -> str:
    return json.dumps(metrics, indent=2) + "\n"


def with_store_errors(action: Any, flag: str, location: str) -> Any:
    """Run ``action``; a missing bucket or a refused key becomes an InputError naming ``flag``."""
    try:
        return action()
    except (Py4JJavaError, PySparkException) as error:
        problem = store_problem(java_class_names(error), flag, location, java_messages(error))
        if problem is None:
            raise
        raise InputError(problem) from None


def store_problem(
    java_classes: list[str], flag: str, location: str, java_message: str = ""
) -> str | None:
    """The one-line message for a store error, from the Java exception classes of its causes
    (and, to tell a wrong key from a refused one, their messages)."""
    if any(name in _UNREACHABLE for name in java_classes):
        return (
            f"{flag} {location}: cannot reach the store at spark.hadoop.fs.s3a.endpoint; check "
            "the endpoint (the bucket's region) and the network"
        )
    if _ACCESS_DENIED in java_classes and any(code in java_message for code in _WRONG_KEY_CODES):
        return (
            f"{flag} {location}: the store refused the key (wrong or deleted access key or "
            "secret); give the run the stack's Spaces key (AWS_ACCESS_KEY_ID, "
            "AWS_SECRET_ACCESS_KEY)"
        )
    if _UNKNOWN_BUCKET in java_classes:
        bucket = urlparse(location).netloc
        return (
            f"{flag} {location}: bucket {bucket} does not exist; create it or use the stack's "
            "bucket (pulumi stack output bucket)"
        )
    if _ACCESS_DENIED in java_classes:
        # A HEAD request's 403 has no body, so a wrong secret and a key without a grant look alike.
        return (
            f"{flag} {location}: access denied; check the key (AWS_ACCESS_KEY_ID, "
            "AWS_SECRET_ACCESS_KEY): a run's Spaces key may use only the stack's bucket "
            "(pulumi stack output bucket)"
        )
    return None


def java_class_names(error: Py4JJavaError | PySparkException) -> list[str]:
    """The class of the Java exception behind ``error`` and of each of its causes."""
    names: list[str] = []
    # py4j keeps the Java exception as java_exception; PySpark's converted errors as _origin.
    throwable = getattr(error, "java_exception", None) or getattr(error, "_origin", None)
    while throwable is not None and len(names) < 20:
        names.append(str(throwable.getClass().getName()))
        throwable = throwable.getCause()
    return names


def java_messages(error: Py4JJavaError | PySparkException) -> str:
    """The messages of the Java exception behind ``error`` and of its causes, on one line."""
    messages: list[str] = []
    throwable = getattr(error, "java_exception", None) or getattr(error, "_origin", None)
    while throwable is not None and len(messages) < 20:
        messages.append(str(throwable.getMessage() or ""))
        throwable = throwable.getCause()
    return " ".join(messages)


def _path(spark: SparkSession, location: str) -> Any:
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    return jvm.org.apache.hadoop.fs.Path(location)


def _file_system(spark: SparkSession, location: str) -> tuple[Any, Any]:
    path = _path(spark, location)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def _complete(location: str) -> InputError:
    return InputError(
        f"--output {location} already holds a complete run ({METRICS_FILE}); "
        "choose a new --output, or remove that run first"
    )
