"""The trainer image, built by a real Docker engine and run with the pods' security settings.

The base is a LOCAL STAND-IN for apache/spark:4.0.4 (.ci/standin-base/build makes it from Debian
and PyPI packages, because Docker Hub is unreachable here): Java 17, Python 3, the pinned
pyspark's Spark as /opt/spark, user 185. The project's Dockerfile is built unchanged on it; only
the BASE_IMAGE build argument points there. Cloud builds use the real, digest-pinned image.
The s3a jars come from Maven Central, which is unreachable here too, so this build leaves them out.
"""

import json
import subprocess
from pathlib import Path

import pytest

from infra.image import BUILD_CONTEXT, context_digest, context_files
from spark_runs.application import OUTPUT_DIR, SPARK_UID, TrainingRun, arguments, spark_application
from spark_runs.image import MAIN_APPLICATION_FILE, spark_version
from tests.support import require_tool, unavailable

pytestmark = pytest.mark.slow

STANDIN_BASE = f"spark-doks/spark-standin:{spark_version()}"
BUILD_ARGS = {"BASE_IMAGE": STANDIN_BASE, "S3A_JARS": "0", "SAMPLE_ROWS": "20000"}
RUN = TrainingRun(
    namespace="spark-jobs",
    image="trainer",
    service_account="spark",
    image_pull_secret=None,
    executor_instances=1,
    executor_cores=1,
    executor_core_request="800m",
    executor_memory="1g",
    driver_memory="1g",
    input_path="",
)


def docker(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_tool("docker"), *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def trainer_image() -> str:
    """The project's Dockerfile built on the stand-in base, tagged like the Pulumi program does."""
    info = docker("info", "--format", "{{.ServerVersion}}", timeout=60)
    if info.returncode != 0:
        unavailable(f"no Docker daemon reachable: {info.stderr.strip()}")
    if docker("image", "inspect", STANDIN_BASE, timeout=60).returncode != 0:
        unavailable(f"the stand-in base {STANDIN_BASE} is missing; run .ci/standin-base/build")
    tag = f"spark-doks/trainer:{context_digest(BUILD_CONTEXT, BUILD_ARGS)[:16]}"
    build_args = [
        item for key, value in BUILD_ARGS.items() for item in ("--build-arg", f"{key}={value}")
    ]
    build = docker("build", "--network", "host", *build_args, "--tag", tag, str(BUILD_CONTEXT))
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    return tag


def pod_security_flags() -> list[str]:
    """docker run flags for the driver container's securityContext in the SparkApplication."""
    context = spark_application(RUN)["spec"]["driver"]["securityContext"]
    flags = ["--user", f"{context['runAsUser']}:{context['runAsGroup']}"]
    flags += [f"--cap-drop={capability}" for capability in context["capabilities"]["drop"]]
    if context["allowPrivilegeEscalation"] is False:
        flags += ["--security-opt", "no-new-privileges"]
    return flags


def test_image_runs_as_the_spark_user_by_default(trainer_image: str) -> None:
    user = docker("image", "inspect", "--format", "{{.Config.User}}", trainer_image)
    assert user.stdout.strip() == str(SPARK_UID)


def test_image_holds_exactly_the_files_its_tag_hashes(trainer_image: str) -> None:
    listing = docker(
        "run",
        "--rm",
        "--network",
        "none",
        trainer_image,
        "find",
        "/opt/spark-doks/spark_job",
        "-type",
        "f",
        "-printf",
        "%P\\n",
    )
    assert listing.returncode == 0, listing.stderr
    hashed = {path.relative_to(BUILD_CONTEXT).as_posix() for path in context_files(BUILD_CONTEXT)}
    assert set(listing.stdout.split()) == hashed


def test_trainer_runs_on_the_baked_sample_locked_down(trainer_image: str, tmp_path: Path) -> None:
    # Writable: Spark's scratch space in /tmp (exec: Spark loads native libraries from there) and
    # the run's output folder, mounted from the host to read the metrics back.
    output_root = Path(OUTPUT_DIR).parent
    tmp_path.chmod(0o777)
    command = [
        "/opt/spark/bin/spark-submit",
        "--master",
        "local[2]",
        MAIN_APPLICATION_FILE.removeprefix("local://"),
        *arguments(RUN),
    ]
    run = docker(
        "run",
        "--rm",
        *pod_security_flags(),
        "--read-only",
        "--network",
        "none",
        # No network means no resolvable container name; Spark and log4j look their host up.
        "--hostname",
        "localhost",
        "--tmpfs",
        "/tmp:rw,exec,size=1g",
        "--volume",
        f"{tmp_path}:{output_root}",
        trainer_image,
        *command,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    metrics = json.loads((tmp_path / Path(OUTPUT_DIR).name / "metrics.json").read_text())
    sample = docker(
        "run",
        "--rm",
        "--network",
        "none",
        trainer_image,
        "cat",
        "/opt/spark-doks/data/sample/_dataset.json",
    )
    dataset = json.loads(sample.stdout)
    assert metrics["rows"] == dataset["rows"] == int(BUILD_ARGS["SAMPLE_ROWS"])
    assert metrics["spark_version"] == spark_version()
    # Learned something real: above always guessing the majority class, below the Bayes optimum.
    assert dataset["majority_rate"] < metrics["accuracy"] <= dataset["bayes_accuracy"] + 0.02
