"""The sweep's cluster backend: one SparkApplication per executor count through the Kubernetes API.

Each run copies what the stack's own SparkApplication uses (service account, pull secret, Spark
conf, driver memory, tree depth); the executor count, executor size, input and fraction are the
sweep's, and the partitioning follows the executor count (spark_job.tuning). It waits for the
application to finish, reads the run's metrics.json from the stack's bucket (the driver log's JSON
summary on a stack without one), and deletes the application; on exit, interrupted or not, it
deletes every application it created that still exists.
"""

import argparse
import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol, cast

from kubernetes.client.exceptions import ApiException

from spark_job.tuning import spark_tuning_conf
from spark_runs.application import TrainingRun, spark_application
from spark_runs.run_result import RunFailed, RunMetrics, parse_metrics, summary_from_log

GROUP = "sparkoperator.k8s.io"
VERSION = "v1beta2"
PLURAL = "sparkapplications"
DRIVER_CONTAINER = "spark-kubernetes-driver"
POLL_SECONDS = 5.0
NOT_FOUND = 404


class CustomObjects(Protocol):
    """The part of kubernetes.client.CustomObjectsApi the sweep uses."""

    def create_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, body: dict[str, Any]
    ) -> Any: ...

    def get_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str
    ) -> Any: ...

    def delete_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str
    ) -> Any: ...


class PodLogs(Protocol):
    """The part of kubernetes.client.CoreV1Api the sweep uses."""

    def read_namespaced_pod_log(self, name: str, namespace: str, container: str) -> str: ...


class RunStore(Protocol):
    """Where runs leave their metrics.json (spark_runs.results.RunsInBucket)."""

    def metrics_text(self, run_name: str, attempt: str) -> str | None: ...


class ClusterBackend:
    def __init__(
        self,
        custom_objects: CustomObjects,
        pod_logs: PodLogs,
        template: TrainingRun,
        timeout_seconds: float,
        sleep: Callable[[float], None] = time.sleep,
        run_store: RunStore | None = None,
    ) -> None:
        self.custom_objects = custom_objects
        self.pod_logs = pod_logs
        self.template = template
        self.timeout_seconds = timeout_seconds
        self.sleep = sleep
        self.run_store = run_store
        self.sweep_id = uuid.uuid4().hex[:8]
        self.created: list[str] = []

    def describe(self, executor_counts: list[int]) -> str:
        return (
            f"SparkApplications in namespace {self.template.namespace}, image "
            f"{self.template.image}; the pool's autoscaler adds nodes as runs need them."
        )

    def training_run(self, executors: int) -> TrainingRun:
        """This sweep's run with `executors` executors: same settings, a name of its own."""
        return replace(
            self.template,
            name_salt=self.sweep_id,
            executor_instances=executors,
            spark_conf={
                **self.template.spark_conf,
                **spark_tuning_conf(executors, self.template.executor_cores),
            },
        )

    def run(self, executors: int, run_dir: Path, log_path: Path) -> RunMetrics:
        run = self.training_run(executors)
        self.custom_objects.create_namespaced_custom_object(
            GROUP, VERSION, run.namespace, PLURAL, spark_application(run)
        )
        self.created.append(run.name)
        status = self._wait(run)
        driver_pod = status.get("driverInfo", {}).get("podName")
        if not driver_pod:
            raise RunFailed(f"SparkApplication {run.name} finished without a driver pod")
        log = self.pod_logs.read_namespaced_pod_log(driver_pod, run.namespace, DRIVER_CONTAINER)
        log_path.write_text(log)
        metrics = self._metrics(run, status, log)
        run_dir.mkdir(parents=True)
        (run_dir / "metrics.json").write_text(metrics.model_dump_json(indent=2) + "\n")
        self._delete(run.name)
        return metrics

    def _metrics(self, run: TrainingRun, status: dict[str, Any], log: str) -> RunMetrics:
        if not run.runs_uri or self.run_store is None:
            return summary_from_log(log, f"the driver log of {run.name}")
        # The attempt that completed: the operator's status names its Spark application id,
        # which is the folder that attempt wrote (earlier, failed attempts have others).
        attempt = str(status.get("sparkApplicationId") or "")
        text = self.run_store.metrics_text(run.name, attempt) if attempt else None
        output = f"{run.output}/{attempt or '<no sparkApplicationId in the status>'}"
        if text is None:
            raise RunFailed(
                f"SparkApplication {run.name} completed but {output}/metrics.json does not "
                "exist, so the run is incomplete; see its driver log"
            )
        return parse_metrics(text, f"{output}/metrics.json")

    def _wait(self, run: TrainingRun) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout_seconds
        while True:
            application = self.custom_objects.get_namespaced_custom_object(
                GROUP, VERSION, run.namespace, PLURAL, run.name
            )
            status: dict[str, Any] = application.get("status") or {}
            state = (status.get("applicationState") or {}).get("state", "")
            if state == "COMPLETED":
                return status
            if state == "FAILED":
                message = (status.get("applicationState") or {}).get("errorMessage", "")
                raise RunFailed(
                    f"SparkApplication {run.name} failed: {message or 'no message'}; "
                    f"see kubectl -n {run.namespace} describe sparkapplication {run.name}"
                )
            if time.monotonic() > deadline:
                raise RunFailed(
                    f"SparkApplication {run.name} did not finish within "
                    f"{self.timeout_seconds:.0f} s (state {state or 'not yet submitted'})"
                )
            self.sleep(POLL_SECONDS)

    def _delete(self, name: str) -> None:
        try:
            self.custom_objects.delete_namespaced_custom_object(
                GROUP, VERSION, self.template.namespace, PLURAL, name
            )
        except ApiException as error:
            if error.status != NOT_FOUND:
                raise
        self.created.remove(name)

    def delete_created(self) -> None:
        """Delete every SparkApplication this sweep created that is still there."""
        for name in list(self.created):
            self._delete(name)


@contextmanager
def cleaning_up(backend: ClusterBackend) -> Iterator[ClusterBackend]:
    try:
        yield backend
    finally:
        backend.delete_created()


def read_stack_outputs(path: Path) -> dict[str, Any]:
    try:
        outputs = json.loads(path.read_text())
    except OSError as error:
        raise ValueError(f"--stack-outputs {path}: {error.strerror}") from None
    except json.JSONDecodeError:
        raise ValueError(
            f"--stack-outputs {path} is not JSON; write it with `pulumi stack output --json`"
        ) from None
    if not isinstance(outputs, dict):
        raise ValueError(f"--stack-outputs {path} is not a JSON object of stack outputs")
    return outputs


def template_from_application(
    application: dict[str, Any], image: str, namespace: str, input_path: str, fraction: float
) -> TrainingRun:
    """The stack's SparkApplication as a TrainingRun, with the sweep's image, input and fraction."""
    spec = application["spec"]
    driver, executor = spec["driver"], spec["executor"]
    pull_secrets = spec.get("imagePullSecrets") or [None]
    trainer_arguments = list(spec.get("arguments") or [])
    max_depth = (
        int(trainer_arguments[trainer_arguments.index("--max-depth") + 1])
        if "--max-depth" in trainer_arguments
        else TrainingRun.max_depth
    )
    output = trainer_arguments[trainer_arguments.index("--output") + 1]
    secrets = [source["secretRef"]["name"] for source in driver.get("envFrom", [])]
    return TrainingRun(
        namespace=namespace,
        image=image,
        service_account=driver["serviceAccount"],
        image_pull_secret=pull_secrets[0],
        executor_instances=executor["instances"],
        executor_cores=executor["cores"],
        executor_core_request=executor.get("coreRequest") or str(executor["cores"]),
        executor_memory=executor["memory"],
        driver_memory=driver["memory"],
        input_path=input_path,
        data_fraction=fraction,
        max_depth=max_depth,
        spark_conf=dict(spec.get("sparkConf") or {}),
        node_selector=dict(driver.get("nodeSelector") or {}),
        tolerations=tuple(driver.get("tolerations") or ()),
        # s3a://<bucket>/runs/<name>: the sweep's runs go beside the stack's.
        runs_uri=output.rsplit("/", 1)[0] + "/" if output.startswith("s3a://") else "",
        credentials_secret=secrets[0] if secrets else None,
    )


def cluster_backend(
    arguments: argparse.Namespace, input_path: str
) -> AbstractContextManager[ClusterBackend]:
    """The backend for the CLI: Kubernetes clients from the kubeconfig, settings from the stack."""
    if arguments.stack_outputs is None:
        raise ValueError(
            "--stack-outputs FILE is required with --backend cluster; "
            "write it with `pulumi stack output --json > FILE`"
        )
    outputs = read_stack_outputs(arguments.stack_outputs)
    missing = [
        key for key in ("image", "jobNamespace", "sparkApplicationName") if key not in outputs
    ]
    if missing:
        raise ValueError(f"--stack-outputs {arguments.stack_outputs} lacks {', '.join(missing)}")
    from kubernetes import client, config

    try:
        config.load_kube_config()
    except config.ConfigException as error:
        raise ValueError(
            f"no usable kubeconfig ({error}); run `doctl kubernetes cluster kubeconfig save "
            f"{outputs.get('clusterName', 'CLUSTER')}` or set KUBECONFIG"
        ) from None
    custom_objects = client.CustomObjectsApi()
    namespace = arguments.namespace or outputs["jobNamespace"]
    try:
        stack_application = custom_objects.get_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, outputs["sparkApplicationName"]
        )
    except ApiException as error:
        raise ValueError(
            f"cannot read the stack's SparkApplication {outputs['sparkApplicationName']} in "
            f"{namespace} ({error.status} {error.reason}); run `pulumi up` first"
        ) from None
    template = replace(
        template_from_application(
            cast(dict[str, Any], stack_application),
            image=arguments.image or outputs["image"],
            namespace=namespace,
            input_path=input_path,
            fraction=arguments.fraction,
        ),
        # the executor size the sweep prices is the one it runs
        executor_cores=arguments.executor_cores,
        executor_core_request=arguments.executor_core_request,
        executor_memory=arguments.executor_memory,
    )
    run_store = None
    if "bucket" in outputs:
        from spark_runs.results import RunsInBucket, StoreError, spaces_client

        try:
            client_for_bucket = spaces_client(str(outputs["spacesRegion"]))
        except StoreError as error:
            raise ValueError(str(error)) from None
        run_store = RunsInBucket(client_for_bucket, str(outputs["bucket"]))
    backend = ClusterBackend(
        custom_objects,
        client.CoreV1Api(),
        template,
        arguments.timeout,
        run_store=run_store,
    )
    return cleaning_up(backend)
