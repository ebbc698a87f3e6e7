"""What starting Spark costs the trainer, and what class-data sharing (AppCDS) would save of it.

    venv/bin/python benchmarks/startup_benchmark.py              # 5 runs of each variant
    venv/bin/python benchmarks/startup_benchmark.py --runs 1

Each run is a fresh process that starts the trainer's session (spark_job.session.start_spark,
local[2], the trainer's defaults), runs one trivial job and stops: the floor of the trainer's
overhead before it reads a row. Variants, interleaved:
  session      as the trainer starts it
  session-cds  the same with the driver JVM mapping a dynamic class-data archive
               (-XX:SharedArchiveFile), written once beforehand by a run with
               -XX:ArchiveClassesAtExit
Prints the medians and their ratio.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# One session start and a job, as the trainer starts it; extra driver JVM options in argv[1].
RUNNER = (
    "import sys\n"
    "from spark_job.session import LOG_CONFIG, start_spark\n"
    "from spark_job.train import default_conf\n"
    "conf = default_conf('local[2]')\n"
    "if sys.argv[1]:\n"
    "    options = f'-Dlog4j2.configurationFile={LOG_CONFIG.as_uri()} {sys.argv[1]}'\n"
    "    conf['spark.driver.extraJavaOptions'] = options\n"
    "spark = start_spark('startup-benchmark', 'local[2]', conf)\n"
    "spark.range(1000).count()\n"
    "spark.stop()\n"
)


def timed(java_options: str) -> float:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, java_options],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"session start failed: {result.stderr.strip()[-2000:]}")
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each variant")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="startup-benchmark-") as scratch:
        archive = Path(scratch) / "spark.jsa"
        timed(f"-XX:ArchiveClassesAtExit={archive}")
        if not archive.is_file():
            raise SystemExit("the JVM wrote no class-data archive")
        variants = {"session": "", "session-cds": f"-XX:SharedArchiveFile={archive}"}
        runs: dict[str, list[float]] = {name: [] for name in variants}
        for attempt in range(args.runs):  # interleaved, so load changes hit both alike
            for name, options in variants.items():
                runs[name].append(timed(options))
                print(f"run {attempt + 1} {name}: {runs[name][-1]:.2f} s", file=sys.stderr)
        archive_mb = archive.stat().st_size / 1e6
    base = statistics.median(runs["session"])
    print(f"session start, one job, stop; median of {args.runs} runs each\n")
    print("| variant | seconds | / session |")
    print("|---|---:|---:|")
    for name in variants:
        median = statistics.median(runs[name])
        print(f"| {name} | {median:.2f} | {median / base:.2f} |")
    print(f"\nclass-data archive: {archive_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
