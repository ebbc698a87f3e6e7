"""Train a decision tree on a labelled table with Spark and write its scores and model.

    python -m spark_job.train --input data/1pct --output out/run
    spark-submit /opt/spark-doks/spark_job/train.py --input ... --output ...   (in the image)

The input needs an integer label column (classes 0, 1, 2, ...) and numeric feature columns; every
other column is a feature. A fixed share of the rows, chosen by a hash of each row and the seed,
is held out for evaluation, so the split is the same whatever the partitioning or executor count.
"""

import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException
from pyspark.ml.classification import DecisionTreeClassifier
from pyspark.ml.feature import VectorAssembler
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, NumericType, StringType

from spark_job import storage
from spark_job.bounds import check_class_count
from spark_job.cli import InputError, OneLineParser, fail
from spark_job.datagen import METADATA_FILE
from spark_job.evaluation import scores
from spark_job.executors import live_executors, lost_executors
from spark_job.partitioning import executor_independent
from spark_job.pushgateway import push_results
from spark_job.session import launched_by_spark_submit, start_spark
from spark_job.task_totals import task_totals
from spark_job.tuning import spark_tuning_conf

PROG = "python -m spark_job.train"
APP_NAME = "spark-doks-train"
METRICS_FILE = storage.METRICS_FILE
MODEL_DIR = storage.MODEL_DIR
TEST_SHARE = 0.2
FORMATS = ("parquet", "csv")
_HASH_BITS = 53
_SPLIT = "_spark_doks_split"  # hash-derived uniform value per row: sampling and test split


def seconds_since_process_start() -> float:
    """From the kernel's record of this process' start, so interpreter and import time count."""
    ticks_per_second = os.sysconf("SC_CLK_TCK")
    stat = Path("/proc/self/stat").read_text()
    start_ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22, starttime
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return uptime - start_ticks / ticks_per_second


def parse_args(argv: Sequence[str]) -> Any:
    parser = OneLineParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument(
        "--input", required=True, help="dataset: local path, file:// or object-store URL"
    )
    parser.add_argument(
        "--format", choices=FORMATS, help="default: csv if the path ends in .csv, else parquet"
    )
    parser.add_argument(
        "--label-col", default="label", help="integer class column (default: label)"
    )
    parser.add_argument(
        "--output",
        required=True,
        help="result folder: a new local path (written atomically) or an empty folder, or a "
        "file:// or s3a:// URI with no object under it; anything else is refused",
    )
    parser.add_argument("--fraction", type=float, default=1.0, help="share of rows used, in (0, 1]")
    parser.add_argument("--max-depth", type=int, default=5, help="tree depth, 1 to 30 (default: 5)")
    parser.add_argument(
        "--max-bins", type=int, default=128, help="split candidates per feature (Spark: 32)"
    )
    parser.add_argument("--impurity", choices=("gini", "entropy"), default="gini")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--master", help="Spark master (default: what spark-submit set, else local[*])"
    )
    parser.add_argument(
        "--conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra Spark setting, repeatable",
    )
    parser.add_argument("--pushgateway", metavar="URL", help="push the results to this Pushgateway")
    args = parser.parse_args(argv)
    if not 0 < args.fraction <= 1:
        parser.error(f"--fraction is {args.fraction}; use a share in (0, 1], e.g. 0.01 for 1 %")
    if not 1 <= args.max_depth <= 30:
        parser.error(f"--max-depth is {args.max_depth}; use 1 to 30 (the maxDepth setting's range)")
    if args.max_bins < 2:
        parser.error(f"--max-bins is {args.max_bins}; use at least 2")
    args.spark_conf = {}
    for setting in args.conf:
        key, sep, value = setting.partition("=")
        if not sep or not key.strip():
            parser.error(f"--conf {setting!r} is not KEY=VALUE, e.g. --conf spark.driver.memory=2g")
        args.spark_conf[key.strip()] = value
    if args.format is None:
        args.format = "csv" if args.input.rstrip("/").lower().endswith(".csv") else "parquet"
    try:
        args.output = storage.parse_output(args.output)
    except InputError as error:
        parser.error(str(error))
    return args


def check_local_input(location: str) -> None:
    """Fail before starting Spark when a local input is missing (Spark checks object stores)."""
    parsed = urlparse(location)
    if parsed.scheme in ("", "file"):
        path = Path(parsed.path if parsed.scheme else location)
        if not path.exists():
            raise InputError(
                f"--input {location} does not exist; pass a Parquet or CSV dataset "
                "(make one with: python -m spark_job.datagen --preset 1pct --output data/1pct)"
            )
        if path.name == METADATA_FILE:
            raise InputError(
                f"--input {location} is the generator's description of a dataset, not its data; "
                f"pass the folder that holds it: --input {path.parent}"
            )


def local_task_slots(master: str | None) -> int | None:
    """Cores of a local master (local, local[N], local[*]); None for a cluster master."""
    name = master or ("" if launched_by_spark_submit() else "local[*]")
    if name == "local":
        return 1
    if name.startswith("local[") and name.endswith("]"):
        cores = name[len("local[") : -1].split(",")[0]
        return (os.cpu_count() or 1) if cores == "*" else int(cores)
    return None


def default_conf(master: str | None) -> dict[str, str]:
    """Tuning for local runs; on a cluster the SparkApplication applies the same function."""
    slots = local_task_slots(master)
    return spark_tuning_conf(1, slots) if slots else {"spark.ui.showConsoleProgress": "false"}


def read_input(spark: SparkSession, location: str, data_format: str) -> DataFrame:

    try:
        if data_format == "csv":
            # Columns stay strings here; they are cast (and checked) in the one pass over the data.
            frame = spark.read.option("header", "true").csv(location)
        else:
            frame = spark.read.parquet(location)
        frame.schema  # noqa: B018 - resolving the schema is where unreadable input fails
    except (PySparkException, Py4JJavaError) as error:
        problem = storage.store_problem(storage.java_class_names(error), "--input", location)
        if problem is not None:
            raise InputError(problem) from None
        first_line = (
            str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        )
        if "PATH_NOT_FOUND" in first_line:
            raise InputError(
                f"--input {location} does not exist; pass a Parquet or CSV dataset"
            ) from None
        other = "csv" if data_format == "parquet" else "parquet"
        raise InputError(
            f"cannot read --input {location} as {data_format} ({first_line[:160]}); "
            f"check the path or pass --format {other}"
        ) from None
    return frame


def prepared_rows(
    frame: DataFrame, label_col: str, fraction: float, seed: int
) -> tuple[DataFrame, list[str]]:
    """Label and features as doubles plus the row's split value, sampled to ``fraction``."""

    columns = {field.name: field.dataType for field in frame.schema.fields}
    if label_col not in columns:
        raise InputError(
            f"no label column {label_col!r} in the input (columns: {', '.join(columns)}); "
            "pass --label-col NAME"
        )
    features = [name for name in columns if name != label_col]
    if not features:
        raise InputError(f"the input has only the label column {label_col!r}; add feature columns")
    for name, data_type in columns.items():
        if isinstance(data_type, BooleanType) or not isinstance(
            data_type, NumericType | StringType
        ):
            role = "label" if name == label_col else "feature"
            raise InputError(
                f"{role} column {name!r} is {data_type.simpleString()}, not numeric; "
                "drop it from the input or convert it to numbers"
            )
    values = {name: F.col(f"`{name}`").try_cast("double") for name in [label_col, *features]}
    # Hashing the parsed values makes a CSV and a Parquet copy of the same data split alike.
    hashed = F.xxhash64(*values.values(), F.lit(seed))
    split_value = F.shiftrightunsigned(hashed, 64 - _HASH_BITS).cast("double") / 2.0**_HASH_BITS
    rows = frame.select(
        *[value.alias(name) for name, value in values.items()], split_value.alias(_SPLIT)
    )
    return rows.filter(F.col(_SPLIT) < fraction), features


def check_rows(
    rows: DataFrame, label_col: str, features: list[str], test_cut: float, max_bins: int
) -> tuple[int, int, int]:
    """One pass over the prepared rows (which materializes their cache): counts and data checks.

    Returns (rows, test rows, classes).
    """

    def bad(column: str) -> Any:
        value = F.col(f"`{column}`")
        return F.sum((value.isNull() | F.isnan(value)).cast("long"))

    label = F.col(f"`{label_col}`")
    stats = rows.agg(
        F.count("*").alias("rows"),
        F.sum((F.col(_SPLIT) < test_cut).cast("long")).alias("test_rows"),
        bad(label_col).alias("bad_labels"),
        F.sum((label != F.floor(label)).cast("long")).alias("fractional_labels"),
        F.min(label).alias("min_label"),
        F.max(label).alias("max_label"),
        *[bad(name).alias(f"bad_{index}") for index, name in enumerate(features)],
    ).collect()[0]
    total, test_rows = int(stats["rows"]), int(stats["test_rows"] or 0)
    if total == 0:
        raise InputError(
            "no rows left after --fraction; raise --fraction or check that the input has rows"
        )
    for index, name in enumerate(features):
        if stats[f"bad_{index}"]:
            raise InputError(
                f"feature column {name!r} has {stats[f'bad_{index}']} missing or non-numeric "
                "values; fill or drop those rows"
            )
    if stats["bad_labels"] or stats["fractional_labels"] or stats["min_label"] < 0:
        raise InputError(
            f"label column {label_col!r} must hold class numbers 0, 1, 2, ... but has "
            f"{stats['bad_labels']} missing or non-numeric and {stats['fractional_labels']} "
            f"fractional values (smallest {stats['min_label']}); fix the labels or pass --label-col"
        )
    if test_rows == 0 or test_rows == total:
        raise InputError(
            f"{total} rows are too few to hold out {TEST_SHARE:.0%} for testing; raise --fraction "
            "or use more data"
        )
    classes = int(stats["max_label"]) + 1
    check_class_count(classes, len(features), max_bins, label_col)
    return total, test_rows, classes


def train(args: Any) -> dict[str, Any]:
    """The whole run; returns the metrics written to metrics.json."""

    check_local_input(args.input)
    storage.check_output_before_spark(args.output, args.input)
    local = local_task_slots(args.master) is not None
    spark = start_spark(APP_NAME, args.master, {**default_conf(args.master), **args.spark_conf})
    try:
        storage.check_output_with_spark(spark, args.output)
        frame = read_input(spark, args.input, args.format)
        rows, features = prepared_rows(frame, args.label_col, args.fraction, args.seed)
        rows = executor_independent(rows, _SPLIT).cache()
        loaded = seconds_since_process_start()

        test_cut = args.fraction * TEST_SHARE
        total, test_rows, classes = check_rows(
            rows, args.label_col, features, test_cut, args.max_bins
        )
        # Declaring the classes spares Spark a pass to find the largest label.
        label = F.col(f"`{args.label_col}`").alias(
            "label", metadata={"ml_attr": {"type": "nominal", "num_vals": classes}}
        )
        assembled = VectorAssembler(inputCols=features, outputCol="features").transform(
            rows.select(label, *[F.col(f"`{name}`") for name in features], _SPLIT)
        )
        prepared = seconds_since_process_start()

        classifier = DecisionTreeClassifier(
            maxDepth=args.max_depth, maxBins=args.max_bins, impurity=args.impurity, seed=args.seed
        )
        at_fit = live_executors(spark, local)
        fit_started = time.monotonic()
        model = classifier.fit(assembled.filter(F.col(_SPLIT) >= test_cut))
        train_seconds = time.monotonic() - fit_started
        trained = seconds_since_process_start()

        confusion = {
            (int(row["label"]), int(row["prediction"])): int(row["count"])
            for row in model.transform(assembled.filter(F.col(_SPLIT) < test_cut))
            .groupBy("label", "prediction")
            .count()
            .collect()
        }
        result = scores(confusion)
        evaluated = seconds_since_process_start()

        with storage.run_folder(spark, args.output, model) as write_metrics:
            metrics = {
                "accuracy": result.accuracy,
                "weighted_precision": result.weighted_precision,
                "weighted_recall": result.weighted_recall,
                "f1": result.f1,
                "train_seconds": round(train_seconds, 3),
                "load_seconds": round(loaded, 3),
                "prepare_seconds": round(prepared - loaded, 3),
                "evaluate_seconds": round(evaluated - trained, 3),
                "total_seconds": round(seconds_since_process_start(), 3),
                "rows": total,
                "train_rows": total - test_rows,
                "test_rows": test_rows,
                "classes": classes,
                "features": len(features),
                "executors": at_fit.count,
                "executor_wait_seconds": round(at_fit.wait_seconds, 3),
                "executors_lost": lost_executors(spark, local),
                **task_totals(spark),
                "finished_timestamp_seconds": round(time.time(), 3),
                "spark_version": spark.version,
                "application_id": spark.sparkContext.applicationId,
                "application_name": spark.sparkContext.appName,
                "input": args.input,
                "format": args.format,
                "fraction": args.fraction,
                "max_depth": args.max_depth,
                "max_bins": args.max_bins,
                "impurity": args.impurity,
                "seed": args.seed,
            }
            write_metrics(metrics)
        return metrics
    finally:
        spark.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        metrics = train(args)
    except InputError as error:
        fail(PROG, str(error))
    print(json.dumps(metrics), flush=True)
    if args.pushgateway:
        try:
            push_results(
                args.pushgateway, metrics["application_id"], metrics["application_name"], metrics
            )
        except (OSError, ValueError) as error:  # unreachable, refused, or not a URL
            print(
                f"{PROG}: warning: could not push results to {args.pushgateway}: {error}",
                file=sys.stderr,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
