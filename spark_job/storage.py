"""Where a run's results go, and what a store's refusal means to the user.

``--output`` is a local folder or a URI (``file://``, ``s3a://``). It must be a path that does
not exist yet or an empty folder (a prefix holding no object): anything else is refused before
training, so a run never replaces, hides or deletes what it did not create. A new local folder is
staged and renamed into place (spark_job.atomic). Under a URI the model is written by Spark's
writers and ``metrics.json`` last, through Hadoop's FileSystem, so a folder without
``metrics.json`` is an incomplete run and readers skip it.
"""

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

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
_PROBE = ".spark-doks-write-probe-"
_NAMES_SHOWN = 3


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


def check_output_before_spark(
    output: RunOutput, input_location: str, holds_attempts: bool = False
) -> None:
    """Before Spark starts: a local or ``file://`` output is a new path or an empty folder, one
    the trainer can write to, and not inside the input. Anything else is refused, never moved.

    With ``holds_attempts`` the output is a run's folder whose earlier attempts stay beside the
    new one (``attempt_output``): it may hold them, and the attempt folder is checked once Spark
    has named it."""
    shown = output.uri or str(output.path)
    target = _local_path(shown)
    if target is None:
        return
    if target.is_symlink() and not target.exists():
        raise InputError(f"--output {shown} is a broken symbolic link; choose a new --output")
    source = _local_path(input_location)
    inside_input = source is not None and source.exists() and _is_within(target, source)
    if inside_input and target.resolve() == source.resolve():  # type: ignore[union-attr]
        raise _inside_input(shown, input_location)
    if target.exists():
        if not target.is_dir():
            raise _existing_file(shown)
        try:
            names = sorted(os.listdir(target))
        except OSError as error:
            raise _unwritable(shown, target, error) from None
        if names and not holds_attempts:
            raise _not_empty(shown, names)
        _probe_write(shown, target)
        return
    if inside_input:
        raise _inside_input(shown, input_location)
    ancestor = target.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(
            f"--output {shown}: {ancestor} is a file, not a folder; choose a new --output"
        )
    _probe_write(shown, ancestor)


def check_output_with_spark(spark: SparkSession, output: RunOutput) -> None:
    """Once Spark runs, before any data is read: the same rule for a URI through Hadoop's
    FileSystem, which is what makes it hold for ``s3a://``, where a prefix holding any object is
    refused. In a bucket a probe object is written and deleted, so a key that may not write fails
    here, not after training."""
    uri = output.uri
    if uri is None:
        return

    def problem() -> InputError | None:
        file_system, path = _file_system(spark, uri)
        if file_system.exists(path):
            if not file_system.getFileStatus(path).isDirectory():
                return _existing_file(uri)
            entries = file_system.listStatusIterator(path)
            names: list[str] = []
            while entries.hasNext() and len(names) < _NAMES_SHOWN + 1:
                names.append(str(entries.next().getPath().getName()))
            if names:
                return _not_empty(uri, names)
        if _local_path(uri) is None:  # a local folder was probed before Spark started
            probe = _path(spark, f"{uri}/{_PROBE}{os.getpid()}")
            file_system.create(probe, False).close()
            file_system.delete(probe, False)
        return None

    refusal = with_store_errors(problem, "--output", uri)
    if refusal is not None:
        raise refusal


@contextmanager
def run_folder(
    spark: SparkSession, output: RunOutput, model: MLWritable
) -> Iterator[Callable[[dict[str, Any]], None]]:
    """Write the model, then yield the function that writes metrics.json, the completion marker.

    A new local folder appears only when the block succeeds (spark_job.atomic); an empty one
    receives the model and then metrics.json. Nothing that was there before is replaced.
    """
    if output.path is not None:
        with _local_staging(output.path) as staging:
            model.write().save(str(staging / MODEL_DIR))

            def write_file(metrics: dict[str, Any]) -> None:
                (staging / METRICS_FILE).write_text(_json(metrics))

            yield write_file
        return
    assert output.uri is not None
    # No overwrite(): the prefix was checked to be empty, and a model that appeared since stays.
    model_uri = f"{output.uri}/{MODEL_DIR}"
    with_store_errors(lambda: model.write().save(model_uri), "--output", output.uri)
    file_system, marker = _file_system(spark, f"{output.uri}/{METRICS_FILE}")

    def write_marker(metrics: dict[str, Any]) -> None:
        stream = file_system.create(marker, False)  # overwrite=False: never replace a result
        try:
            stream.write(bytearray(_json(metrics).encode()))
        finally:
            stream.close()

    yield write_marker


@contextmanager
def _local_staging(target: Path) -> Iterator[Path]:
    if not target.is_dir():
        with AtomicDirectory(target, replace=False) as staging:
            yield staging
        return
    staging = target / f".partial-{os.getpid()}"
    staging.mkdir()
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    for name in (MODEL_DIR, METRICS_FILE):  # metrics.json last: it marks the run complete
        os.rename(staging / name, target / name)
    staging.rmdir()


def _local_path(location: str) -> Path | None:
    """The local path behind ``location`` (a plain path or a file:// URI), else None."""
    parsed = urlparse(location)
    if not parsed.scheme:
        return Path(location)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


def _is_within(path: Path, folder: Path) -> bool:
    resolved, container = path.resolve(), folder.resolve()
    return resolved == container or container in resolved.parents


def _probe_write(shown: str, folder: Path) -> None:
    try:
        os.rmdir(tempfile.mkdtemp(prefix=_PROBE, dir=folder))
    except OSError as error:
        raise _unwritable(shown, folder, error) from None


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
    if _ACCESS_DENIED in java_classes and _local_path(location) is None:  # a bucket's key
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


def _not_empty(location: str, names: list[str]) -> InputError:
    if METRICS_FILE in names:
        return InputError(
            f"--output {location} already holds a complete run ({METRICS_FILE}); "
            "choose a new --output, or remove that run first"
        )
    shown = ", ".join(names[:_NAMES_SHOWN]) + (", ..." if len(names) > _NAMES_SHOWN else "")
    return InputError(
        f"--output {location} already holds files ({shown}); the trainer writes only to a new "
        "path or an empty folder: choose a new --output"
    )


def _inside_input(location: str, input_location: str) -> InputError:
    return InputError(
        f"--output {location} is --input {input_location} or inside it; choose a folder outside "
        "the dataset"
    )


def _existing_file(location: str) -> InputError:
    return InputError(
        f"--output {location} is an existing file; choose a new --output (a run is a folder)"
    )


def _unwritable(location: str, folder: Path, error: OSError) -> InputError:
    return InputError(
        f"--output {location}: cannot write in {folder} ({error.strerror or error}); "
        "choose a folder you can write to"
    )
