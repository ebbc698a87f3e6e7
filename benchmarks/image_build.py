"""Build time and size of the trainer image: cold, after a trainer edit, and unchanged.

    .ci/standin-base/build                                   # once: the local stand-in base
    venv/bin/python benchmarks/image_build.py                # SAMPLE_ROWS=200000, as the cloud
    venv/bin/python benchmarks/image_build.py --sample-rows 20000

Builds spark_job/ with a real Docker engine on the stand-in base (no s3a jars: Maven Central is
unreachable here), from a copy of the build context so the repository is never edited:
  cold         --no-cache: every layer, pip install and the sample generation with Spark included
  trainer edit a comment appended to train.py: the layer cache keeps dependencies and the sample
  unchanged    the same context again
Prints a Markdown table of wall seconds with the ratio to the cold build, then the image size and
what the trainer adds to the base.
"""

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from spark_runs.image import BUILD_CONTEXT, spark_version

STANDIN_BASE = f"spark-doks/spark-standin:{spark_version()}"
TAG = "spark-doks/trainer:benchmark"


def build(context: Path, sample_rows: int, no_cache: bool) -> float:
    command = ["docker", "build", "--network", "host", "--tag", TAG]
    command += ["--build-arg", f"BASE_IMAGE={STANDIN_BASE}"]
    command += ["--build-arg", f"SAMPLE_ROWS={sample_rows}"]
    command += ["--no-cache"] if no_cache else []
    started = time.monotonic()
    subprocess.run([*command, str(context)], check=True, capture_output=True)
    return time.monotonic() - started


def size_bytes(image: str) -> int:
    inspect = ["docker", "image", "inspect", "--format", "{{.Size}}", image]
    return int(subprocess.run(inspect, check=True, capture_output=True, text=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample-rows", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        context = Path(scratch) / "spark_job"
        shutil.copytree(BUILD_CONTEXT, context)
        cold = build(context, args.sample_rows, no_cache=True)
        with (context / "train.py").open("a") as train:
            train.write("# benchmark edit\n")
        edited = build(context, args.sample_rows, no_cache=False)
        unchanged = build(context, args.sample_rows, no_cache=False)
    print(f"SAMPLE_ROWS={args.sample_rows}, base {STANDIN_BASE} (local stand-in)\n")
    print("| build | seconds | / cold |\n|---|---:|---:|")
    for name, seconds in (("cold", cold), ("trainer edit", edited), ("unchanged", unchanged)):
        print(f"| {name} | {seconds:.1f} | {seconds / cold:.2f} |")
    image, base = size_bytes(TAG), size_bytes(STANDIN_BASE)
    print(f"\nimage {image / 1e6:.0f} MB, base {base / 1e6:.0f} MB", end=", ")
    print(f"trainer layers {(image - base) / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
