"""End-to-end time of our trainer against a plain PySpark pipeline and scikit-learn.

    venv/bin/python benchmarks/trainer_benchmark.py            # 2 M rows, 3 runs of each
    venv/bin/python benchmarks/trainer_benchmark.py --rows 200000 --runs 1

Generates one dataset (fixed seed) as Parquet and as CSV, then runs, several times each and every
run in a fresh process:
  baseline         a straightforward pipeline written below: CSV with inferSchema, default
                   partitions, no cache, randomSplit, default DecisionTreeClassifier but the depth
  trainer-csv      python -m spark_job.train on the CSV copy
  trainer-parquet  python -m spark_job.train on the Parquet copy
  scikit-learn     DecisionTreeClassifier with the same depth, one core, from the CSV
Prints a Markdown table of medians: end-to-end seconds (process start to exit), fit seconds,
overhead (end to end minus fit), accuracy, and the ratios against the baseline (end to end) and
scikit-learn (fit). Each trainer run gets a new --output (the trainer refuses an existing one).
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SEED = 7
TEST_SHARE = 0.2


def run_baseline(csv_path: str, max_depth: int) -> dict[str, float]:
    """The pipeline a first PySpark version would have: nothing tuned."""
    from pyspark.ml.classification import DecisionTreeClassifier
    from pyspark.ml.evaluation import MulticlassClassificationEvaluator
    from pyspark.ml.feature import VectorAssembler
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.master("local[*]").appName("baseline").getOrCreate()
    data = spark.read.csv(csv_path, header=True, inferSchema=True)
    features = [name for name in data.columns if name != "label"]
    assembled = VectorAssembler(inputCols=features, outputCol="features").transform(data)
    train, test = assembled.randomSplit([1 - TEST_SHARE, TEST_SHARE], seed=SEED)
    started = time.monotonic()
    model = DecisionTreeClassifier(maxDepth=max_depth).fit(train)
    fit_seconds = time.monotonic() - started
    accuracy = MulticlassClassificationEvaluator(metricName="accuracy").evaluate(
        model.transform(test)
    )
    spark.stop()
    return {"fit_seconds": fit_seconds, "accuracy": accuracy}


def run_scikit_learn(csv_path: str, max_depth: int) -> dict[str, float]:
    import numpy as np
    from sklearn.tree import DecisionTreeClassifier

    parts = sorted(Path(csv_path).glob("part-*.csv"))
    header = parts[0].read_text().split("\n", 1)[0].split(",")
    table = np.concatenate([np.loadtxt(part, delimiter=",", skiprows=1) for part in parts])
    label = header.index("label")
    features, labels = np.delete(table, label, axis=1), table[:, label].astype(int)
    held_out = np.random.default_rng(SEED).random(len(labels)) < TEST_SHARE
    started = time.monotonic()
    model = DecisionTreeClassifier(max_depth=max_depth, random_state=SEED)
    model.fit(features[~held_out], labels[~held_out])
    fit_seconds = time.monotonic() - started
    accuracy = float((model.predict(features[held_out]) == labels[held_out]).mean())
    return {"fit_seconds": fit_seconds, "accuracy": accuracy}


@dataclass
class Run:
    total_seconds: float
    fit_seconds: float
    accuracy: float


def timed(command: list[str], result_file: Path) -> Run:
    started = time.monotonic()
    finished = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    total = time.monotonic() - started
    if finished.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{finished.stderr}")
    result = json.loads(result_file.read_text())
    fit = result.get("train_seconds", result.get("fit_seconds"))
    return Run(total_seconds=total, fit_seconds=fit, accuracy=result["accuracy"])


def generate(workdir: Path, rows: int) -> tuple[Path, Path]:
    parquet, csv = workdir / f"data-{rows}.parquet", workdir / f"data-{rows}.csv"
    for path, data_format in ((parquet, "parquet"), (csv, "csv")):
        if not path.exists():
            subprocess.run(
                [sys.executable, "-m", "spark_job.datagen", "--rows", str(rows), "--seed",
                 str(SEED), "--format", data_format, "--output", str(path)],
                cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
    return parquet, csv


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=3, help="runs of each variant")
    parser.add_argument("--max-depth", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/spark-doks-benchmark"))
    parser.add_argument("--only", choices=["baseline", "scikit-learn"], help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.only:  # one measured run, in its own process
        run = run_baseline if args.only == "baseline" else run_scikit_learn
        args.result.write_text(json.dumps(run(args.input, args.max_depth)))
        return 0

    args.workdir.mkdir(parents=True, exist_ok=True)
    parquet, csv = generate(args.workdir, args.rows)
    result = args.workdir / "result.json"
    trainer = [sys.executable, "-m", "spark_job.train", "--max-depth", str(args.max_depth)]
    variants = {
        "baseline": [sys.executable, __file__, "--only", "baseline", "--input", str(csv)],
        "trainer-csv": [*trainer, "--input", str(csv)],
        "trainer-parquet": [*trainer, "--input", str(parquet)],
        "scikit-learn": [sys.executable, __file__, "--only", "scikit-learn", "--input", str(csv)],
    }
    runs: dict[str, list[Run]] = {name: [] for name in variants}
    # The trainer writes only to a new --output: one per variant and run, in a folder of this
    # invocation's own, removed at the end.
    outputs = Path(tempfile.mkdtemp(prefix="trainer-runs-", dir=args.workdir))
    for attempt in range(args.runs):  # interleaved, so load changes hit every variant alike
        for name, command in variants.items():
            if name.startswith("trainer"):
                output = outputs / f"{name}-{attempt + 1}"
                command = [*command, "--output", str(output)]
                runs[name].append(timed(command, output / "metrics.json"))
            else:
                extra = ["--max-depth", str(args.max_depth), "--result", str(result)]
                runs[name].append(timed([*command, *extra], result))
            latest = runs[name][-1]
            print(
                f"run {attempt + 1} {name}: {latest.total_seconds:.1f} s total, "
                f"{latest.fit_seconds:.1f} s fit, accuracy {latest.accuracy:.4f}",
                file=sys.stderr,
            )

    shutil.rmtree(outputs)

    def median(name: str, field: str) -> float:
        return statistics.median(getattr(run, field) for run in runs[name])

    baseline_total = median("baseline", "total_seconds")
    sklearn_fit = median("scikit-learn", "fit_seconds")
    print(f"{args.rows:,} rows, depth {args.max_depth}, median of {args.runs} runs each\n")
    print(
        "| variant | end to end (s) | fit (s) | overhead (s) | accuracy "
        "| end to end / baseline | fit / scikit-learn |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in variants:
        total, fit = median(name, "total_seconds"), median(name, "fit_seconds")
        overhead = statistics.median(run.total_seconds - run.fit_seconds for run in runs[name])
        print(
            f"| {name} | {total:.1f} | {fit:.1f} | {overhead:.1f} | {median(name, 'accuracy'):.4f} "
            f"| {total / baseline_total:.2f} | {fit / sklearn_fit:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
