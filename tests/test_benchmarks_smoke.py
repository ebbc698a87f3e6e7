"""Every script in benchmarks/ runs at a tiny size, so a documented command cannot rot unnoticed.

Smoke only: each must exit 0 and print its table. No timing is asserted (design §6); the numbers
come from the full-size commands in docs/benchmark.md.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.spark_job.spark_support import spark_env
from tests.support import REPO_ROOT, require_tool, unavailable

pytestmark = pytest.mark.slow

BENCHMARKS = REPO_ROOT / "benchmarks"


def tiny_command(script: str, workdir: Path) -> list[str]:
    """The script's documented command at a size that runs in a minute or two."""
    tiny = {
        "trainer_benchmark.py": ["--rows", "3000", "--runs", "1", "--workdir", str(workdir)],
        "partitioning_benchmark.py": ["--rows", "3000", "--runs", "1", "--workdir", str(workdir)],
        "image_build.py": ["--sample-rows", "200"],
        "startup_benchmark.py": ["--runs", "1"],
    }
    if script not in tiny:
        pytest.fail(f"benchmarks/{script} has no smoke command; add it to tiny_command")
    return [sys.executable, str(BENCHMARKS / script), *tiny[script]]


def require_image_build() -> None:
    docker = require_tool("docker")
    from spark_runs.image import spark_version

    base = f"spark-doks/spark-standin:{spark_version()}"
    found = subprocess.run(
        [docker, "image", "inspect", base], capture_output=True, text=True, timeout=60
    )
    if found.returncode != 0:
        unavailable(f"the stand-in base {base} is missing; run .ci/standin-base/build")


@pytest.mark.parametrize("script", sorted(path.name for path in BENCHMARKS.glob("*.py")))
def test_benchmark_runs_at_a_tiny_size(script: str, tmp_path: Path) -> None:
    if script == "image_build.py":
        require_image_build()
    else:
        require_tool("java")
    result = subprocess.run(
        tiny_command(script, tmp_path / "work"),
        cwd=REPO_ROOT,
        env=spark_env(),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    table = [line for line in result.stdout.splitlines() if line.startswith("|")]
    assert len(table) >= 3, result.stdout  # a header, its rule and at least one row
    if script == "trainer_benchmark.py":
        assert [line.split("|")[1].strip() for line in table[2:]] == [
            "baseline",
            "trainer-csv",
            "trainer-parquet",
            "scikit-learn",
        ]
