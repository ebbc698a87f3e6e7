"""The SparkApplication manifest builder shared by the Pulumi program and the sweep."""

import dataclasses

import pytest

from spark_runs.application import (
    BAKED_SAMPLE_PATH,
    TrainingRun,
    is_dns_label,
    spark_application,
)
from spark_runs.image import MAIN_APPLICATION_FILE, spark_version


def training_run(**changes: object) -> TrainingRun:
    run = TrainingRun(
        namespace="spark-jobs",
        image="registry.digitalocean.com/r/trainer@sha256:" + "a" * 64,
        service_account="spark",
        image_pull_secret="registry-pull",
        executor_instances=3,
        executor_cores=2,
        executor_core_request="1500m",
        executor_memory="2g",
        driver_memory="1g",
        input_path="",
        spark_conf={"spark.ui.port": "4040"},
    )
    return dataclasses.replace(run, **changes)  # type: ignore[arg-type]


def test_run_name_is_a_stable_dns_label() -> None:
    name = training_run().name
    assert name == training_run(spark_conf={"spark.ui.port": "4040"}).name
    assert len(name) <= 63 and name.startswith("train-") and name == name.lower()


@pytest.mark.parametrize(
    "change",
    [
        {"image": "registry.digitalocean.com/r/trainer@sha256:" + "b" * 64},
        {"executor_instances": 4},
        {"executor_memory": "3g"},
        {"max_depth": 7},
        {"spark_conf": {"spark.ui.port": "4041"}},
        {"name_salt": "sweep-1"},
        {"executor_core_request": "1"},
        {"run_id": "2"},
    ],
)
def test_run_name_changes_with_anything_that_defines_the_run(change: dict[str, object]) -> None:
    assert training_run(**change).name != training_run().name


def test_run_id_shows_in_the_name_and_keeps_it_a_dns_label() -> None:
    name = training_run(run_id="retry-" + "9" * 14).name
    assert name.startswith("train-retry-99999999999999-") and is_dns_label(name)
    assert len(name + "-driver") <= 63


def test_manifest_maps_the_run() -> None:
    manifest = spark_application(training_run())
    spec = manifest["spec"]
    assert manifest["metadata"]["name"] == training_run().name
    assert manifest["metadata"]["namespace"] == "spark-jobs"
    assert spec["type"] == "Python"
    assert spec["mainApplicationFile"] == MAIN_APPLICATION_FILE
    assert spec["sparkVersion"] == spark_version()
    assert spec["image"].endswith("@sha256:" + "a" * 64)
    assert spec["imagePullSecrets"] == ["registry-pull"]
    assert spec["executor"]["instances"] == 3
    assert spec["executor"]["cores"] == 2
    assert spec["executor"]["memory"] == "2g"
    # Requests below the cores pack executors onto nodes; the limit stays at the cores.
    assert spec["executor"]["coreRequest"] == "1500m"
    assert spec["executor"]["coreLimit"] == "2"
    # What spark_runs.sizing counts when fitting pods on nodes: max(384 MiB, 10 %).
    assert spec["executor"]["memoryOverhead"] == "384m"
    assert (
        spark_application(training_run(executor_memory="8g"))["spec"]["executor"]["memoryOverhead"]
        == "820m"
    )
    assert spec["driver"]["serviceAccount"] == spec["executor"]["serviceAccount"] == "spark"
    assert spec["sparkConf"] == {"spark.ui.port": "4040"}


def test_empty_input_uses_the_sample_baked_into_the_image() -> None:
    args = spark_application(training_run())["spec"]["arguments"]
    assert args[args.index("--input") + 1] == BAKED_SAMPLE_PATH
    args = spark_application(training_run(input_path="s3a://b/data.parquet"))["spec"]["arguments"]
    assert args[args.index("--input") + 1] == "s3a://b/data.parquet"


def test_every_submission_writes_its_own_attempt_folder_under_the_run() -> None:
    # The operator resubmits the same arguments on a retry, and so does a replaced run: the
    # trainer names the folder after each submission's Spark application id.
    run = training_run(runs_uri="s3a://spark-doks-dev-a1b2c3/runs/")
    args = spark_application(run)["spec"]["arguments"]
    assert args[args.index("--output") + 1] == f"s3a://spark-doks-dev-a1b2c3/runs/{run.name}"
    assert "--attempt-folder" in args
    # Without a bucket the output is inside the driver pod, new with every attempt anyway.
    assert "--attempt-folder" not in spark_application(training_run())["spec"]["arguments"]


def test_trainer_settings_and_extra_arguments_reach_the_command_line() -> None:
    run = training_run(data_fraction=0.01, max_depth=7, trainer_args=("--pushgateway", "http://pg"))
    args = spark_application(run)["spec"]["arguments"]
    assert args[args.index("--fraction") + 1] == "0.01"
    assert args[args.index("--max-depth") + 1] == "7"
    assert args[-2:] == ["--pushgateway", "http://pg"]


def test_pods_run_restricted() -> None:
    spec = spark_application(training_run())["spec"]
    for role in ("driver", "executor"):
        context = spec[role]["securityContext"]
        assert context["runAsUser"] == 185 and context["runAsNonRoot"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}


def test_restarts_are_bounded() -> None:
    policy = spark_application(training_run())["spec"]["restartPolicy"]
    assert policy["type"] == "OnFailure"
    assert 0 < policy["onFailureRetries"] <= 5
    assert 0 < policy["onSubmissionFailureRetries"] <= 5
    assert policy["onFailureRetryInterval"] >= 1


def test_no_pull_secret_means_no_image_pull_secrets_field() -> None:
    assert "imagePullSecrets" not in spark_application(training_run(image_pull_secret=None))["spec"]
