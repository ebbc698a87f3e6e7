import ast
import re
import subprocess
import sys
from pathlib import Path

import pyspark

from spark_job import datagen
from spark_runs.image import BUILD_CONTEXT, DOCKERFILE, spark_version
from tests.support import REPO_ROOT


def test_pyspark_is_the_image_spark_version() -> None:
    pinned = re.search(
        r"^pyspark==(\S+)$", (REPO_ROOT / "requirements.txt").read_text(), re.MULTILINE
    )
    assert pinned is not None
    assert pinned.group(1) == spark_version()
    assert pyspark.__version__ == spark_version()


def test_sample_step_calls_the_generator_with_flags_it_accepts() -> None:
    (sample_run,) = [
        line for line in instructions() if line.startswith('RUN if [ "${SAMPLE_ROWS}"')
    ]
    run = re.search(r"datagen\.py\s+(.*?);", sample_run)
    assert run is not None
    flags = run.group(1).replace('"${SAMPLE_ROWS}"', "1000").split()
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


def instructions() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def index_of(prefix: str) -> int:
    (index,) = [i for i, line in enumerate(instructions()) if line.startswith(prefix)]
    return index


def trainer_imports(module: str, seen: set[str] | None = None) -> set[str]:
    """``module`` and every spark_job module it imports, transitively, as file names."""
    seen = set() if seen is None else seen
    seen.add(module)
    tree = ast.parse((BUILD_CONTEXT / f"{module}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("spark_job."):
            imported = (node.module or "").removeprefix("spark_job.")
            if imported not in seen:
                trainer_imports(imported, seen)
    return seen


def test_base_is_apache_spark_pinned_by_tag_and_digest() -> None:
    # spark_version() accepts only apache/spark:<version>@sha256:<64 hex digits>.
    assert spark_version()
    assert [line for line in instructions() if line.startswith("FROM")] == ["FROM ${BASE_IMAGE}"]


def test_dependencies_come_before_any_code() -> None:
    code_copies = [i for i, line in enumerate(instructions()) if line.startswith("COPY")][2:]
    assert index_of("RUN pip3 install") < min(code_copies)
    assert index_of("RUN python3 /opt/spark-doks/build/s3a_jars.py") < min(code_copies)


def test_sample_layer_is_built_from_the_generator_and_its_imports_only() -> None:
    sample_run = index_of('RUN if [ "${SAMPLE_ROWS}"')
    (copy,) = [
        line
        for line in instructions()[:sample_run]
        if line.startswith("COPY") and "datagen.py" in line
    ]
    copied = set(copy.split()[1:-1])
    assert copied == {f"{module}.py" for module in trainer_imports("datagen")} | {"__init__.py"}
    # The rest of the trainer is copied only after the sample exists.
    assert index_of("COPY . ") > sample_run
