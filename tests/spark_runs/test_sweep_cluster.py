"""The sweep's cluster backend against a stand-in Kubernetes API (no cluster exists here)."""

import json
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from kubernetes.client.exceptions import ApiException

from spark_runs import sweep
from spark_runs.application import TrainingRun, spark_application
from spark_runs.run_result import RunFailed
from spark_runs.sweep_cluster import (
    DRIVER_CONTAINER,
    GROUP,
    PLURAL,
    VERSION,
    ClusterBackend,
    cleaning_up,
    template_from_application,
)
from tests.support import schema_file

NAMESPACE = "spark-jobs"
STACK_APPLICATION = TrainingRun(
    namespace=NAMESPACE,
    image="registry.digitalocean.com/spark-doks/trainer@sha256:" + "a" * 64,
    service_account="spark-driver",
    image_pull_secret="registry-spark-doks",
    executor_instances=4,
    executor_cores=1,
    executor_core_request="800m",
    executor_memory="1g",
    driver_memory="1g",
    input_path="",
    max_depth=7,
    spark_conf={"spark.metrics.namespace": "spark_doks"},
    # Sweep runs land on the stack's Spark pool too.
    node_selector={"spark-doks/pool": "spark"},
    tolerations=(
        {"key": "spark-doks/pool", "operator": "Equal", "value": "spark", "effect": "NoSchedule"},
    ),
)


class FakeKubernetes:
    """SparkApplications in memory: each runs for one poll, then ends in its scripted state."""

    def __init__(
        self, final_state: dict[int, str] | None = None, interrupt_at: int | None = None
    ) -> None:
        self.final_state = final_state or {}
        self.interrupt_at = interrupt_at
        self.applications: dict[str, dict[str, Any]] = {}
        self.created: list[dict[str, Any]] = []
        self.deleted: list[str] = []
        self.polls: dict[str, int] = {}

    def _check(self, group: str, version: str, namespace: str, plural: str) -> None:
        assert (group, version, namespace, plural) == (GROUP, VERSION, NAMESPACE, PLURAL)

    def create_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        self._check(group, version, namespace, plural)
        name = body["metadata"]["name"]
        if name in self.applications:
            raise ApiException(status=409, reason="AlreadyExists")
        self.applications[name] = body
        self.created.append(body)
        return body

    def get_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str
    ) -> dict[str, Any]:
        self._check(group, version, namespace, plural)
        application = self.applications[name]
        executors = application["spec"]["executor"]["instances"]
        if executors == self.interrupt_at:
            raise KeyboardInterrupt
        self.polls[name] = self.polls.get(name, 0) + 1
        state = "RUNNING" if self.polls[name] == 1 else self.final_state.get(executors, "COMPLETED")
        return {
            **application,
            "status": {
                "applicationState": {"state": state, "errorMessage": "driver exited 1"},
                "driverInfo": {"podName": f"{name}-driver"},
                # The operator's id of the last submission (the driver pod's spark-app-selector).
                "sparkApplicationId": LAST_ATTEMPT,
            },
        }

    def delete_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str
    ) -> None:
        self._check(group, version, namespace, plural)
        if self.applications.pop(name, None) is None:
            raise ApiException(status=404, reason="NotFound")
        self.deleted.append(name)

    def read_namespaced_pod_log(self, name: str, namespace: str, container: str) -> str:
        assert container == DRIVER_CONTAINER
        application = self.applications[name.removesuffix("-driver")]
        executors = application["spec"]["executor"]["instances"]
        summary = {
            "accuracy": 0.8,
            "weighted_precision": 0.81,
            "weighted_recall": 0.8,
            "f1": 0.79,
            "train_seconds": 120.0 / executors,
            "total_seconds": 60 + 120.0 / executors,
            "rows": 1000,
            "executors": executors,
            "executor_wait_seconds": 30.0,
            "executors_lost": 0,
            "spark_version": "4.0.4",
        }
        return "INFO SparkContext: Running Spark\n" + json.dumps(summary) + "\nINFO stopped\n"


def backend_for(fake: FakeKubernetes) -> ClusterBackend:
    return ClusterBackend(fake, fake, STACK_APPLICATION, timeout_seconds=60, sleep=lambda _: None)


def run_sweep(
    monkeypatch: pytest.MonkeyPatch, fake: FakeKubernetes, tmp_path: Path, counts: str
) -> int:
    def fake_backend(*_: object) -> AbstractContextManager[ClusterBackend]:
        return cleaning_up(backend_for(fake))

    monkeypatch.setattr(sweep, "_backend", fake_backend)
    argv = ["--backend", "cluster", "--executors", counts, "--output", str(tmp_path / "out")]
    return sweep.main(argv)


@pytest.fixture(scope="module")
def crd_schema() -> dict[str, Any]:
    crd_path = schema_file("spark-operator/sparkoperator.k8s.io_sparkapplications.yaml")
    crd = yaml.load(crd_path.read_text(), Loader=yaml.CSafeLoader)
    (version,) = [item for item in crd["spec"]["versions"] if item["name"] == VERSION]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def test_a_sweep_creates_one_valid_application_per_count_and_deletes_each(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, crd_schema: dict[str, Any]
) -> None:
    fake = FakeKubernetes()
    assert run_sweep(monkeypatch, fake, tmp_path, "1,2,4") == 0
    validator = jsonschema.Draft7Validator(crd_schema)
    for body in fake.created:
        validator.validate(body)
    assert [body["spec"]["executor"]["instances"] for body in fake.created] == [1, 2, 4]
    names = [body["metadata"]["name"] for body in fake.created]
    assert len(set(names)) == 3
    assert STACK_APPLICATION.name not in names
    assert fake.deleted == names
    assert fake.applications == {}
    rows = (tmp_path / "out" / "results.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["1", "2", "4"]


def test_runs_keep_the_stack_applications_settings_but_count_and_partitioning() -> None:
    backend = backend_for(FakeKubernetes())
    spec = spark_application(backend.training_run(2))["spec"]
    stack_spec = spark_application(STACK_APPLICATION)["spec"]
    labels = {"labels": spec["executor"]["labels"]}
    assert spec["executor"] == {**stack_spec["executor"], "instances": 2, **labels}
    assert spec["driver"]["serviceAccount"] == "spark-driver"
    assert spec["imagePullSecrets"] == ["registry-spark-doks"]
    assert spec["sparkConf"] == {
        **stack_spec["sparkConf"],
        "spark.sql.shuffle.partitions": "4",  # 2 executors x 1 core x 2 tasks per core
        "spark.default.parallelism": "4",
        "spark.sql.files.minPartitionNum": "4",
        "spark.ui.showConsoleProgress": "false",
    }
    assert spec["arguments"] == stack_spec["arguments"]


def test_two_sweeps_never_share_an_application_name() -> None:
    first, second = backend_for(FakeKubernetes()), backend_for(FakeKubernetes())
    assert first.training_run(2).name != second.training_run(2).name


def test_the_template_is_read_back_from_the_stack_application() -> None:
    template = template_from_application(
        spark_application(STACK_APPLICATION),
        image=STACK_APPLICATION.image,
        namespace=NAMESPACE,
        input_path="",
        fraction=1.0,
    )
    assert template == STACK_APPLICATION


def test_an_interrupt_deletes_the_application_in_flight(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = FakeKubernetes(interrupt_at=2)
    assert run_sweep(monkeypatch, fake, tmp_path, "1,2,4") == 130
    assert len(fake.created) == 2
    assert fake.deleted == [body["metadata"]["name"] for body in fake.created]
    assert fake.applications == {}
    assert not (tmp_path / "out").exists()


def test_a_failed_application_fails_the_sweep_and_is_deleted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeKubernetes(final_state={2: "FAILED"})
    assert run_sweep(monkeypatch, fake, tmp_path, "1,2") == 1
    assert "failed: driver exited 1" in capsys.readouterr().err
    assert fake.applications == {}
    assert not (tmp_path / "out").exists()


def test_cleanup_skips_applications_someone_else_already_deleted() -> None:
    fake = FakeKubernetes()
    backend = backend_for(fake)
    cleanup = cleaning_up(backend)
    with pytest.raises(KeyboardInterrupt), cleanup:
        body = spark_application(backend.training_run(1))
        fake.create_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, body)
        backend.created.append(body["metadata"]["name"])
        fake.applications.clear()  # deleted by hand meanwhile
        raise KeyboardInterrupt
    assert backend.created == []


def test_the_cli_reads_the_stack_outputs_and_the_stacks_application(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import kubernetes

    fake = FakeKubernetes()
    fake.applications[STACK_APPLICATION.name] = spark_application(STACK_APPLICATION)
    monkeypatch.setattr(kubernetes.config, "load_kube_config", lambda: None)
    monkeypatch.setattr(kubernetes.client, "CustomObjectsApi", lambda: fake)
    monkeypatch.setattr(kubernetes.client, "CoreV1Api", lambda: fake)
    stack_outputs = tmp_path / "stack.json"
    stack_outputs.write_text(
        json.dumps(
            {
                "image": STACK_APPLICATION.image,
                "jobNamespace": NAMESPACE,
                "sparkApplicationName": STACK_APPLICATION.name,
                "kubeconfig": "[secret]",
            }
        )
    )
    argv = ["--backend", "cluster", "--executors", "2", "--stack-outputs", str(stack_outputs)]
    argv += ["--executor-memory", "512m", "--output", str(tmp_path / "out")]
    assert sweep.main(argv) == 0
    (body,) = fake.created
    assert body["spec"]["executor"]["memory"] == "512m"
    assert body["spec"]["driver"]["serviceAccount"] == STACK_APPLICATION.service_account
    assert list(fake.applications) == [STACK_APPLICATION.name]  # the stack's own run is untouched


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "--stack-outputs FILE is required"),
        ("not json", "is not JSON"),
        ('{"image": "x"}', "lacks jobNamespace, sparkApplicationName"),
    ],
)
def test_bad_stack_outputs_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    argv = ["--backend", "cluster", "--executors", "1", "--output", str(tmp_path / "out")]
    if content is not None:
        (tmp_path / "stack.json").write_text(content)
        argv += ["--stack-outputs", str(tmp_path / "stack.json")]
    assert sweep.main(argv) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert message in line


BUCKET_APPLICATION = replace(
    STACK_APPLICATION,
    runs_uri="s3a://spark-doks-dev-a1b2c3/runs/",
    credentials_secret="spaces-jobs",
)


LAST_ATTEMPT = "spark-" + "f" * 32


class FakeBucket:
    """metrics.json per run name and attempt, as the trainer leaves it in the bucket."""

    def __init__(self, texts: dict[tuple[str, str], str]) -> None:
        self.texts = texts
        self.read: list[tuple[str, str]] = []

    def metrics_text(self, run_name: str, attempt: str) -> str | None:
        self.read.append((run_name, attempt))
        return self.texts.get((run_name, attempt))


def bucket_metrics(executors: int) -> str:
    return json.dumps(
        {
            "accuracy": 0.9,
            "weighted_precision": 0.9,
            "weighted_recall": 0.9,
            "f1": 0.9,
            "train_seconds": 10.0,
            "total_seconds": 30.0,
            "executor_wait_seconds": 5.0,
            "executors": executors,
            "executors_lost": 0,
        }
    )


def test_with_a_bucket_the_result_is_the_runs_metrics_json_not_the_log(tmp_path: Path) -> None:
    fake, store = FakeKubernetes(), FakeBucket({})
    backend = ClusterBackend(
        fake, fake, BUCKET_APPLICATION, 60, sleep=lambda _: None, run_store=store
    )
    run = backend.training_run(3)
    # An earlier attempt of the run (a retry's predecessor) left metrics of its own.
    store.texts[(run.name, "spark-" + "e" * 32)] = bucket_metrics(1)
    store.texts[(run.name, LAST_ATTEMPT)] = bucket_metrics(3)
    metrics = backend.run(3, tmp_path / "run", tmp_path / "run.log")
    assert store.read == [(run.name, LAST_ATTEMPT)]
    assert metrics.accuracy == 0.9 and metrics.executors == 3  # the log's summary says 0.8
    (created,) = fake.created
    assert created["spec"]["arguments"][created["spec"]["arguments"].index("--output") + 1] == (
        f"s3a://spark-doks-dev-a1b2c3/runs/{run.name}"
    )
    assert created["spec"]["driver"]["envFrom"] == [{"secretRef": {"name": "spaces-jobs"}}]


def test_a_completed_application_without_metrics_json_is_an_incomplete_run(
    tmp_path: Path,
) -> None:
    fake = FakeKubernetes()
    backend = ClusterBackend(
        fake, fake, BUCKET_APPLICATION, 60, sleep=lambda _: None, run_store=FakeBucket({})
    )
    with pytest.raises(RunFailed, match=r"metrics\.json does not exist, so the run is incomplete"):
        backend.run(2, tmp_path / "run", tmp_path / "run.log")
    assert not (tmp_path / "run").exists()


def test_the_bucket_template_is_read_back_from_the_stack_application() -> None:
    template = template_from_application(
        spark_application(BUCKET_APPLICATION),
        image=BUCKET_APPLICATION.image,
        namespace=NAMESPACE,
        input_path="",
        fraction=1.0,
    )
    assert template == BUCKET_APPLICATION
