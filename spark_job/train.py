"""Train a decision tree on a labelled table with Spark and write its scores and model.

    python -m spark_job.train --input data/1pct --output out/run
    spark-submit /opt/spark-doks/spark_job/train.py --input ... --output ...   (in the image)

The label column may hold any values (numbers or text); they are indexed, and predictions map
back to them. Features are every other column (or --features, minus --exclude): numeric columns
as they are, text columns as categorical features, which the tree splits natively. A fixed share
of the rows, chosen by a hash of each row and the seed, is held out for evaluation, so the split
is the same whatever the partitioning or executor count. The saved model is a PipelineModel that
scores raw rows with the input's own columns.
"""

import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException
from pyspark.ml import PipelineModel, Transformer
from pyspark.ml.classification import DecisionTreeClassifier
from pyspark.ml.feature import (
    IndexToString,
    SQLTransformer,
    StringIndexer,
    StringIndexerModel,
    VectorAssembler,
)
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, NumericType, StringType

from spark_job import storage
from spark_job.bounds import check_class_count, max_classes
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
_LABEL_INDEX = "_spark_doks_label"
_FEATURES = "_spark_doks_features"


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
        "--label-col", default="label", help="class column, numbers or text (default: label)"
    )
    parser.add_argument(
        "--features",
        type=_column_list,
        metavar="COL,COL",
        help="feature columns (default: every column but the label)",
    )
    parser.add_argument(
        "--exclude",
        type=_column_list,
        default=[],
        metavar="COL,COL",
        help="columns that are not features, e.g. ids",
    )
    parser.add_argument(
        "--output",
        required=True,
        help="result folder: a new local path (written atomically) or an empty folder, or a "
        "file:// or s3a:// URI with no object under it; anything else is refused",
    )
    parser.add_argument(
        "--attempt-folder",
        action="store_true",
        help="write into <output>/<Spark application id>/, new for every submission, so a "
        "retry or a re-run never meets an earlier attempt's result",
    )
    parser.add_argument("--fraction", type=float, default=1.0, help="share of rows used, in (0, 1]")
    parser.add_argument("--max-depth", type=int, default=5, help="tree depth, 1 to 30 (default: 5)")
    parser.add_argument(
        "--max-bins",
        type=int,
        default=128,
        help="split candidates per feature, and the most values a categorical feature may have "
        "(default: 128; Spark's own default is 32)",
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
    parser.add_argument(
        "--pushgateway",
        metavar="URL",
        help="push the results to this Pushgateway: http://HOST:PORT, or HOST:PORT",
    )
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
        if args.pushgateway is not None:
            args.pushgateway = pushgateway_url(args.pushgateway)
    except InputError as error:
        parser.error(str(error))
    return args


def _column_list(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def pushgateway_url(text: str) -> str:
    """``--pushgateway`` as a URL: a bare HOST:PORT means http://HOST:PORT."""
    url = text if "://" in text else f"http://{text}"
    parsed = urlparse(url)
    try:
        port = parsed.port
    except ValueError:
        port = None
    if parsed.scheme not in ("http", "https") or not parsed.hostname or port is None:
        raise InputError(
            f"--pushgateway {text} is not a Pushgateway address; use HOST:PORT or "
            "http://HOST:PORT, e.g. localhost:9091"
        )
    return url


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
        java_classes = storage.java_class_names(error)
        problem = storage.store_problem(
            java_classes, "--input", location, storage.java_messages(error)
        )
        if problem is not None:
            raise InputError(problem) from None
        cause = error_cause(error)
        if "PATH_NOT_FOUND" in cause:
            raise InputError(
                f"--input {location} does not exist; pass a Parquet or CSV dataset"
            ) from None
        if any(name.endswith("AccessDeniedException") for name in java_classes):
            raise InputError(
                f"cannot read --input {location}: permission denied ({cause[:160]}); make it "
                "readable for this user"
            ) from None
        other = "csv" if data_format == "parquet" else "parquet"
        raise InputError(
            f"cannot read --input {location} as {data_format} ({cause[:160]}); "
            f"check the path or pass --format {other}"
        ) from None
    if not frame.columns:
        raise InputError(
            f"--input {location} is empty (no columns); pass a CSV with a header row and data "
            "rows, or a Parquet dataset"
        )
    return frame


def error_cause(error: PySparkException | Py4JJavaError) -> str:
    """The first line of what went wrong, without Py4J's call name (``o38.csv``)."""
    java_exception = getattr(error, "java_exception", None)
    text = str(java_exception.toString()) if java_exception is not None else str(error)
    lines = text.strip().splitlines()
    return lines[0] if lines else type(error).__name__


def chosen_features(
    columns: list[str], label_col: str, features: list[str] | None, exclude: list[str]
) -> list[str]:
    """The feature columns in the input's order: ``--features`` (default: every column but the
    label) minus ``--exclude``."""
    if label_col not in columns:
        if not columns:
            raise InputError("the input has no columns; pass a CSV with a header row, or Parquet")
        raise InputError(
            f"no label column {label_col!r} in the input (columns: {', '.join(columns)}); "
            "pass --label-col NAME"
        )
    for flag, names in (("--features", features or []), ("--exclude", exclude)):
        for name in names:
            if name not in columns:
                raise InputError(
                    f"{flag} names {name!r}, which is not a column of the input (columns: "
                    f"{', '.join(columns)})"
                )
            if name == label_col:
                raise InputError(f"{flag} names the label column {label_col!r}; leave it out")
    wanted = set(features) if features else set(columns) - {label_col}
    chosen = [name for name in columns if name in wanted and name not in exclude]
    if not chosen:
        raise InputError(
            f"no feature columns left beside the label {label_col!r}; add feature columns or "
            "check --features and --exclude"
        )
    return chosen


def _parsed(column: Column) -> Column:
    return column.try_cast("double")


def prepared_rows(
    frame: DataFrame,
    label_col: str,
    fraction: float,
    seed: int,
    features: list[str] | None = None,
) -> tuple[DataFrame, list[str]]:
    """Label and features plus the row's split value, sampled to ``fraction``.

    Numeric and boolean features become doubles; text features stay text until the data pass
    tells numbers (a CSV column) from categories. The label keeps its type: it is indexed.
    """

    types = {field.name: field.dataType for field in frame.schema.fields}
    if features is None:
        features = chosen_features(list(types), label_col, None, [])
    for name in [label_col, *features]:
        data_type = types[name]
        if not isinstance(data_type, NumericType | StringType | BooleanType):
            role = "label" if name == label_col else "feature"
            raise InputError(
                f"{role} column {name!r} is {data_type.simpleString()}, not numeric or text; "
                + (
                    f"--exclude {name} or convert it to numbers"
                    if role == "feature"
                    else "pass another --label-col"
                )
            )
    values: dict[str, Column] = {}
    hashed: list[Column] = []
    for name in [label_col, *features]:
        column = F.col(f"`{name}`")
        if isinstance(types[name], StringType):
            # A number hashes as its parsed value, so a CSV and a Parquet copy split alike.
            hashed += [_parsed(column), F.when(_parsed(column).isNull(), column)]
            values[name] = column
        else:
            hashed.append(column.cast("double"))
            if name != label_col:
                values[name] = column.cast("double")
            else:  # StringIndexer takes numbers and text, not booleans
                boolean = isinstance(types[name], BooleanType)
                values[name] = column.cast("string") if boolean else column
    split_hash = F.xxhash64(*hashed, F.lit(seed))
    split_value = F.shiftrightunsigned(split_hash, 64 - _HASH_BITS).cast("double") / 2.0**_HASH_BITS
    rows = frame.select(
        *[value.alias(name) for name, value in values.items()], split_value.alias(_SPLIT)
    )
    return rows.filter(F.col(_SPLIT) < fraction), features


@dataclass(frozen=True)
class RowStats:
    rows: int
    test_rows: int
    categorical: list[str]  # text features whose values are not all numbers
    label_is_numeric: bool


def check_rows(
    rows: DataFrame,
    label_col: str,
    features: list[str],
    test_cut: float,
    max_bins: int,
    fraction: float = 1.0,
) -> RowStats:
    """One pass over the prepared rows (which materializes their cache): counts and data checks."""

    types = {field.name: field.dataType for field in rows.schema.fields}
    text = [name for name in features if isinstance(types[name], StringType)]

    def count(condition: Column) -> Column:
        return F.sum(condition.cast("long"))

    def col(name: str) -> Column:
        return F.col(f"`{name}`")

    label = col(label_col)
    label_text = isinstance(types[label_col], StringType)
    missing_label = label.isNull() | (F.lit(False) if label_text else F.isnan(label.cast("double")))
    stats = rows.agg(
        F.count("*").alias("rows"),
        count(F.col(_SPLIT) < test_cut).alias("test_rows"),
        count(missing_label).alias("missing_labels"),
        F.approx_count_distinct(label).alias("label_values"),
        count(label.isNotNull() & _parsed(label).isNull()).alias("text_labels")
        if label_text
        else F.lit(0).alias("text_labels"),
        *[
            count(col(name).isNull() | F.isnan(_parsed(col(name)))).alias(f"missing_{index}")
            for index, name in enumerate(features)
        ],
        *[
            count(col(name).isNotNull() & _parsed(col(name)).isNull()).alias(f"text_{index}")
            for index, name in enumerate(text)
        ],
        *[
            F.approx_count_distinct(col(name)).alias(f"values_{index}")
            for index, name in enumerate(text)
        ],
    ).collect()[0]
    total, test_rows = int(stats["rows"]), int(stats["test_rows"] or 0)
    if total == 0:
        if fraction >= 1:
            raise InputError(
                "the input has no data rows; pass a dataset with rows under its header"
            )
        raise InputError(
            f"no rows left after --fraction {fraction}; raise --fraction or check that the input "
            "has rows"
        )
    categorical = [name for index, name in enumerate(text) if stats[f"text_{index}"]]
    for index, name in enumerate(features):
        if name not in categorical and stats[f"missing_{index}"]:
            raise InputError(
                f"feature column {name!r} has {stats[f'missing_{index}']} missing values; fill "
                f"or drop those rows, or --exclude {name}"
            )
    for index, name in enumerate(text):
        # Approximate: far over the bound, refuse before indexing collects every value (an id
        # column); near it, the exact count is checked once the values are indexed.
        if name in categorical and stats[f"values_{index}"] > 2 * max_bins:
            check_category_count(name, int(stats[f"values_{index}"]), max_bins, about=True)
    if stats["missing_labels"]:
        raise InputError(
            f"label column {label_col!r} has {stats['missing_labels']} missing values; fill or "
            "drop those rows, or pass --label-col"
        )
    if test_rows == 0 or test_rows == total:
        raise InputError(
            f"{total} rows are too few to hold out {TEST_SHARE:.0%} for testing; raise --fraction "
            "or use more data"
        )
    # Approximate (within a few %): far over the bound, refuse before indexing collects the
    # values; near it, the exact count is checked once the labels are indexed.
    if stats["label_values"] > 2 * max_classes(len(features), max_bins):
        check_class_count(int(stats["label_values"]), len(features), max_bins, label_col)
    return RowStats(total, test_rows, categorical, not stats["text_labels"])


def check_category_count(name: str, values: int, max_bins: int, about: bool = False) -> None:
    """A tree splits a categorical feature only if --max-bins covers its values and one slot for
    values unseen in training (Spark's DecisionTree.findSplits requirement)."""
    if values + 1 > max_bins:
        raise InputError(
            f"feature column {name!r} has {'about ' if about else ''}{values} distinct text "
            f"values, more than --max-bins "
            f"{max_bins} allows for a categorical feature; --exclude {name} if it is an id, or "
            f"raise --max-bins above {values}"
        )


def original_value(value: str, numeric: bool) -> str | int | float:
    """A class as the input wrote it: a number for a numeric label, else the text."""
    if not numeric:
        return value
    number = float(value)
    return int(number) if number.is_integer() else number


@dataclass(frozen=True)
class ModelParts:
    """What turns prepared (and raw) rows into the tree's input, and the indexed label."""

    feature_stages: list[Transformer]
    label_indexer: StringIndexerModel
    classes: list[str]  # the label's values; class i is classes[i]
    category_values: dict[str, list[str]]


def indexed(
    rows: DataFrame, label_col: str, features: list[str], categorical: list[str]
) -> ModelParts:
    """Index the label and the categorical features (one pass over the rows) and build the stages
    that turn raw rows into a feature vector. Values unseen here score as a category of their
    own (handleInvalid=keep), so scoring new data never fails on them."""
    indexer = StringIndexer(
        inputCols=[label_col, *categorical],
        outputCols=[_LABEL_INDEX, *[_feature_column(features, name) for name in categorical]],
        stringOrderType="alphabetAsc",
    ).fit(rows)
    labels = indexer.labelsArray
    numeric = [name for name in features if name not in categorical]
    casts = ", ".join(
        f"try_cast({_sql_name(name)} AS DOUBLE) AS {_feature_column(features, name)}"
        for name in numeric
    )
    stages: list[Transformer] = []
    if casts:
        stages.append(SQLTransformer(statement=f"SELECT *, {casts} FROM __THIS__"))
    if categorical:
        stages.append(
            StringIndexerModel.from_arrays_of_labels(
                labels[1:],
                inputCols=categorical,
                outputCols=[_feature_column(features, name) for name in categorical],
                handleInvalid="keep",
            )
        )
    stages.append(
        VectorAssembler(
            inputCols=[_feature_column(features, name) for name in features],
            outputCol=_FEATURES,
        )
    )
    label_indexer = StringIndexerModel.from_arrays_of_labels(
        [labels[0]], inputCols=[label_col], outputCols=[_LABEL_INDEX]
    )
    return ModelParts(
        stages,
        label_indexer,
        list(labels[0]),
        {name: list(values) for name, values in zip(categorical, labels[1:], strict=True)},
    )


def _feature_column(features: list[str], name: str) -> str:
    return f"_spark_doks_feature_{features.index(name)}"


def _sql_name(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def train(args: Any) -> dict[str, Any]:
    """The whole run; returns the metrics written to metrics.json."""

    check_local_input(args.input)
    storage.check_output_before_spark(args.output, args.input, args.attempt_folder)
    local = local_task_slots(args.master) is not None
    spark = start_spark(APP_NAME, args.master, {**default_conf(args.master), **args.spark_conf})
    try:
        if args.attempt_folder:
            args.output = storage.attempt_output(args.output, spark.sparkContext.applicationId)
            storage.check_output_before_spark(args.output, args.input)
        storage.check_output_with_spark(spark, args.output)
        frame = read_input(spark, args.input, args.format)
        features = chosen_features(frame.columns, args.label_col, args.features, args.exclude)
        rows, _ = prepared_rows(frame, args.label_col, args.fraction, args.seed, features)
        rows = executor_independent(rows, _SPLIT).cache()
        loaded = seconds_since_process_start()

        test_cut = args.fraction * TEST_SHARE
        stats = check_rows(rows, args.label_col, features, test_cut, args.max_bins, args.fraction)
        model_parts = indexed(rows, args.label_col, features, stats.categorical)
        for name, values in model_parts.category_values.items():
            check_category_count(name, len(values), args.max_bins)
        check_class_count(len(model_parts.classes), len(features), args.max_bins, args.label_col)
        # The tree passes over its input more than once (the split sample, the binning): cache
        # the assembled vectors once, so no pass repeats the feature stages (a CSV's number
        # parsing); the parsed columns are not needed after this.
        assembled = (
            PipelineModel([*model_parts.feature_stages, model_parts.label_indexer])
            .transform(rows)
            .select(_FEATURES, _LABEL_INDEX, _SPLIT)
            .cache()
        )
        assembled.count()
        rows.unpersist()
        prepared = seconds_since_process_start()

        classifier = DecisionTreeClassifier(
            labelCol=_LABEL_INDEX,
            featuresCol=_FEATURES,
            maxDepth=args.max_depth,
            maxBins=args.max_bins,
            impurity=args.impurity,
            seed=args.seed,
        )
        at_fit = live_executors(spark, local)
        fit_started = time.monotonic()
        tree = classifier.fit(assembled.filter(F.col(_SPLIT) >= test_cut))
        train_seconds = time.monotonic() - fit_started
        trained = seconds_since_process_start()

        confusion = {
            (int(row[_LABEL_INDEX]), int(row["prediction"])): int(row["count"])
            for row in tree.transform(assembled.filter(F.col(_SPLIT) < test_cut))
            .groupBy(_LABEL_INDEX, "prediction")
            .count()
            .collect()
        }
        result = scores(confusion)
        evaluated = seconds_since_process_start()

        scoring = PipelineModel(
            [
                *model_parts.feature_stages,
                tree,
                IndexToString(
                    inputCol="prediction",
                    outputCol=f"predicted_{args.label_col}",
                    labels=model_parts.classes,
                ),
            ]
        )
        with storage.run_folder(spark, args.output, scoring) as write_metrics:
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
                "rows": stats.rows,
                "train_rows": stats.rows - stats.test_rows,
                "test_rows": stats.test_rows,
                "label_col": args.label_col,
                "classes": [
                    original_value(value, stats.label_is_numeric) for value in model_parts.classes
                ],
                "features": [
                    {
                        "name": name,
                        "type": "categorical" if name in stats.categorical else "numeric",
                        **(
                            {"values": len(model_parts.category_values[name])}
                            if name in stats.categorical
                            else {}
                        ),
                    }
                    for name in features
                ],
                "prediction_col": f"predicted_{args.label_col}",
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
