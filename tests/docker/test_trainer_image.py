"""The trainer image, built by a real Docker engine and run with the pods' security settings.

The base is a LOCAL STAND-IN for apache/spark:4.0.4 (.ci/standin-base/build makes it from Debian
and PyPI packages, because Docker Hub is unreachable here): Java 17, Python 3, the pinned
pyspark's Spark as /opt/spark, user 185. The project's Dockerfile is built unchanged on it; only
the BASE_IMAGE build argument points there. Cloud builds use the real, digest-pinned image.
The build downloads the s3a jars from Maven Central and checks each against its pinned SHA-256,
as a cloud build does. The trainer then runs locked down against versitygw on loopback (the one
test here on the host's network namespace; every other container has no network).
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from infra.image import BUILD_CONTEXT, context_digest, context_files
from spark_runs.application import OUTPUT_DIR, SPARK_UID, TrainingRun, arguments, spark_application
from spark_runs.image import MAIN_APPLICATION_FILE, spark_version
from spark_runs.object_store import METRICS_FILE, RUNS_PREFIX, Bucket, spark_s3a_conf
from tests.s3_gateway import REGION, versitygw
from tests.spark_job.spark_support import generate_dataset
from tests.support import require_tool, unavailable

pytestmark = pytest.mark.slow

STANDIN_BASE = f"spark-doks/spark-standin:{spark_version()}"
BUILD_ARGS = {"BASE_IMAGE": STANDIN_BASE, "SAMPLE_ROWS": "20000"}
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


# Classes a run needs beyond Spark's own jars: the s3a file system, the magic committer, and every
# class the s3a settings name (committer factory, commit protocol, Parquet committer, credentials).
S3A_CLASSES = sorted(
    {
        "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "org.apache.hadoop.fs.s3a.commit.magic.MagicS3GuardCommitter",
        "org.apache.hadoop.fs.s3a.commit.magic.MagicS3GuardCommitterFactory",
        *[
            value
            for value in spark_s3a_conf(Bucket("any", "fra1")).values()
            if value.startswith(("org.", "software."))
        ],
    }
)
CLASS_CHECK = """
import sys
from pyspark.sql import SparkSession

spark = SparkSession.builder.master("local[1]").getOrCreate()
jvm = spark._jvm
hadoop = spark._jsc.hadoopConfiguration()
print("s3a", jvm.org.apache.hadoop.fs.FileSystem.getFileSystemClass("s3a", hadoop).getName())
for name in sys.argv[1:]:
    print("loaded", jvm.java.lang.Class.forName(name).getName())
spark.stop()
"""


def locked_down_flags() -> list[str]:
    """The driver's securityContext plus a read-only root, Spark's scratch space in /tmp."""
    return [*pod_security_flags(), "--read-only", "--tmpfs", "/tmp:rw,exec,size=1g"]


def test_spark_in_the_image_loads_s3a_and_the_magic_committer(
    trainer_image: str, tmp_path: Path
) -> None:
    script = tmp_path / "check_classes.py"
    script.write_text(CLASS_CHECK)
    script.chmod(0o644)
    run = docker(
        "run", "--rm", *locked_down_flags(), "--network", "none", "--hostname", "localhost",
        "--volume", f"{script}:/opt/check/check_classes.py:ro", trainer_image,
        "/opt/spark/bin/spark-submit", "/opt/check/check_classes.py", *S3A_CLASSES,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    lines = [line for line in run.stdout.splitlines() if line.startswith(("s3a ", "loaded "))]
    assert lines == [
        "s3a org.apache.hadoop.fs.s3a.S3AFileSystem",
        *[f"loaded {name}" for name in S3A_CLASSES],
    ]


@pytest.mark.s3a
def test_the_locked_down_image_trains_from_and_writes_to_s3a(
    trainer_image: str, tmp_path: Path
) -> None:
    bucket = Bucket("spark-doks-image-test", REGION)
    with versitygw(tmp_path / "versitygw") as gateway:
        client = gateway.client()
        client.create_bucket(Bucket=bucket.name)
        data = tmp_path / "data"
        generate_dataset(data, 2_000, "--seed", "7")
        for path in sorted(data.rglob("*.parquet")):
            client.upload_file(str(path), bucket.name, f"data/{path.name}")
        output = bucket.run_uri("image-run")
        conf = spark_s3a_conf(bucket, gateway.endpoint_url)
        command = [
            "/opt/spark/bin/spark-submit", "--master", "local[2]",
            MAIN_APPLICATION_FILE.removeprefix("local://"),
            "--input", f"s3a://{bucket.name}/data", "--output", output,
            *[arg for key, value in conf.items() for arg in ("--conf", f"{key}={value}")],
        ]  # fmt: skip
        # The keys go by name only: docker copies them from its own environment, so they never
        # appear on a command line.
        run = subprocess.run(
            [
                require_tool("docker"),
                "run",
                "--rm",
                *locked_down_flags(),
                "--network",
                "host",
                "--env",
                "SPARK_LOCAL_IP=127.0.0.1",
                *[item for name in gateway.root.env() for item in ("--env", name)],
                trainer_image,
                *command,
            ],
            env={**os.environ, **gateway.root.env()},
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        metrics = json.loads(
            client.get_object(Bucket=bucket.name, Key=f"{RUNS_PREFIX}image-run/{METRICS_FILE}")[
                "Body"
            ].read()
        )
        # The PipelineModel's stages each write their data through the committer.
        listing = client.list_objects_v2(
            Bucket=bucket.name, Prefix=f"{RUNS_PREFIX}image-run/model/"
        )
        successes = [
            json.loads(client.get_object(Bucket=bucket.name, Key=item["Key"])["Body"].read())
            for item in listing["Contents"]
            if item["Key"].endswith("/data/_SUCCESS")
        ]
    assert metrics["rows"] == 2_000
    assert metrics["input"] == f"s3a://{bucket.name}/data"
    assert successes and all(success["committer"] == "magic" for success in successes)
