"""What the executor-independent partitioning (spark_job/partitioning.py) costs the trainer.

    venv/bin/python benchmarks/partitioning_benchmark.py                 # 1pct preset, 3 runs each
    venv/bin/python benchmarks/partitioning_benchmark.py --rows 2000000 --runs 1

Generates one Parquet dataset (fixed seed), then runs the trainer in a fresh process per run,
alternating: as shipped, and with the partitioning step replaced by the identity (the trainer
before it). Prints the medians of total, load + prepare and fit seconds, and their ratios.
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SEED = 7
# Runs spark_job.train.main, optionally without the partitioning step.
RUNNER = (
    "import sys, spark_job.train as train\n"
    "if sys.argv[1] == 'without':\n"
    "    train.executor_independent = lambda rows, key: rows\n"
    "sys.exit(train.main(sys.argv[2:]))\n"
)
VARIANTS = ("with", "without")


def run(variant: str, data: Path, output: Path, master: str) -> dict[str, float]:
    command = [sys.executable, "-c", RUNNER, variant, "--input", str(data), "--output", str(output)]
    result = subprocess.run(
        [*command, "--master", master], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"trainer failed ({variant}): {result.stderr.strip().splitlines()[-1]}")
    metrics: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return metrics


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--workdir", type=Path, default=REPO_ROOT / "out" / "partitioning-bench")
    arguments = parser.parse_args()
    data = arguments.workdir / f"data-{arguments.rows}"
    if not data.exists():
        generate = ["spark_job.datagen", "--rows", str(arguments.rows), "--seed", str(SEED)]
        subprocess.run(
            [sys.executable, "-m", *generate, "--output", str(data)],
            cwd=REPO_ROOT,
            check=True,
            capture_output=True,
        )
    runs: dict[str, list[dict[str, float]]] = {variant: [] for variant in VARIANTS}
    # A new --output per run (the trainer refuses an existing one), in this invocation's folder.
    arguments.workdir.mkdir(parents=True, exist_ok=True)
    outputs = Path(tempfile.mkdtemp(prefix="runs-", dir=arguments.workdir))
    for index in range(arguments.runs):
        for variant in VARIANTS:
            output = outputs / f"run-{variant}-{index}"
            runs[variant].append(run(variant, data, output, arguments.master))
    shutil.rmtree(outputs)

    def median(variant: str, *fields: str) -> float:
        return statistics.median(sum(m[field] for field in fields) for m in runs[variant])

    print(f"{arguments.rows} rows, {arguments.master}, medians of {arguments.runs} runs each\n")
    print("| seconds | with partitioning | without | ratio |")
    print("|---|---:|---:|---:|")
    for label, fields in (
        ("total", ("total_seconds",)),
        ("load + prepare", ("load_seconds", "prepare_seconds")),
        ("fit", ("train_seconds",)),
    ):
        with_, without = median("with", *fields), median("without", *fields)
        print(f"| {label} | {with_:.1f} | {without:.1f} | {with_ / without:.2f}x |")
    accuracy = {variant: runs[variant][0]["accuracy"] for variant in VARIANTS}
    print(f"\naccuracy: with {accuracy['with']:.4f}, without {accuracy['without']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
