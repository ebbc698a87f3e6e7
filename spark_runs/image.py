"""Where the trainer image comes from and what runs inside it (read by the Pulumi program)."""

import re
from pathlib import Path

BUILD_CONTEXT = Path(__file__).resolve().parent.parent / "spark_job"
DOCKERFILE = BUILD_CONTEXT / "Dockerfile"
APP_DIR = "/opt/spark-doks"
MAIN_APPLICATION_FILE = f"local://{APP_DIR}/spark_job/train.py"

_BASE_IMAGE = re.compile(r"^FROM\s+apache/spark:(\d+\.\d+\.\d+)\b", re.MULTILINE)


def spark_version() -> str:
    """The Spark release of the image's base, the one place the Spark version is pinned."""
    match = _BASE_IMAGE.search(DOCKERFILE.read_text())
    if match is None:
        raise RuntimeError(f"{DOCKERFILE} does not start FROM apache/spark:<version>")
    return match.group(1)
