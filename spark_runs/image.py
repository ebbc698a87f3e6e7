"""Where the trainer image comes from and what runs inside it (read by the Pulumi program)."""

import re
from pathlib import Path

BUILD_CONTEXT = Path(__file__).resolve().parent.parent / "spark_job"
DOCKERFILE = BUILD_CONTEXT / "Dockerfile"
APP_DIR = "/opt/spark-doks"
MAIN_APPLICATION_FILE = f"local://{APP_DIR}/spark_job/train.py"
# The moving tag every pushed build also gets, for the next build's layer cache; never a run's
# image (pods run the content tag's digest), never deleted by the registry clean-up.
CACHE_TAG = "buildcache"

# The Dockerfile's default base: apache/spark pinned by release tag and image digest.
_BASE_IMAGE = re.compile(
    r"^ARG BASE_IMAGE=(apache/spark:(\d+\.\d+\.\d+)@sha256:[0-9a-f]{64})$", re.MULTILINE
)


def spark_version() -> str:
    """The Spark release of the image's base, the one place the Spark version is pinned."""
    match = _BASE_IMAGE.search(DOCKERFILE.read_text())
    if match is None:
        raise RuntimeError(
            f"{DOCKERFILE} has no ARG BASE_IMAGE=apache/spark:<version>@sha256:<digest>"
        )
    return match.group(2)
