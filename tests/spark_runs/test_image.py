import re
import subprocess
import sys
from pathlib import Path

import pyspark

from spark_job import datagen
from spark_runs.image import DOCKERFILE, spark_version
from tests.support import REPO_ROOT


def test_pyspark_is_the_image_spark_version() -> None:
    pinned = re.search(
        r"^pyspark==(\S+)$", (REPO_ROOT / "requirements.txt").read_text(), re.MULTILINE
    )
    assert pinned is not None
    assert pinned.group(1) == spark_version()
    assert pyspark.__version__ == spark_version()


def test_sample_step_calls_the_generator_with_flags_it_accepts() -> None:
    run = re.search(r"datagen\.py\s*\\?\s*(.*?);", DOCKERFILE.read_text(), re.DOTALL)
    assert run is not None
    flags = run.group(1).replace("\\", " ").replace('"${SAMPLE_ROWS}"', "1000").split()
    assert datagen.parse_args(flags).output == Path("/opt/spark-doks/data/sample")


def test_trainer_and_generator_run_as_scripts_as_in_the_image() -> None:
    for script in ("train.py", "datagen.py"):
        result = subprocess.run(
            [sys.executable, str(REPO_ROOT / "spark_job" / script), "--help"],
            env={"PYTHONPATH": str(REPO_ROOT)},
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        assert "--output" in result.stdout
