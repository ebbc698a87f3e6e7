"""The SparkApplication manifest of one training run, as plain data (no Pulumi).

The Pulumi program and the sweep's cluster backend both build their manifests here, so a run
looks the same however it is submitted.
"""

import dataclasses
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from spark_runs.image import APP_DIR, MAIN_APPLICATION_FILE, spark_version
from spark_runs.sizing import memory_overhead_mib

API_VERSION = "sparkoperator.k8s.io/v1beta2"
KIND = "SparkApplication"

# Where the image keeps the sample dataset it generates when built with SAMPLE_ROWS > 0.
BAKED_SAMPLE_PATH = f"{APP_DIR}/data/sample"
# Scratch output inside the driver pod when the stack has no bucket (the local target).
OUTPUT_DIR = "/tmp/spark-doks/output"

# The apache/spark image's non-root user.
SPARK_UID = 185
DRIVER_CORES = 1

# Bounded retries: a failing run is retried twice, a failing submission three times, 30 s apart.
ON_FAILURE_RETRIES = 2
ON_SUBMISSION_FAILURE_RETRIES = 3
RETRY_INTERVAL_SECONDS = 30

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
# "train-<runId>-<12 hex>" plus the suffixes Spark and the operator add (-driver, -ui-svc, and
# the executor pods' -exec-N) stay within Kubernetes' 63 characters.
RUN_ID_MAX_LENGTH = 20
_RUN_ID = re.compile(rf"^[a-z0-9]([-a-z0-9]{{0,{RUN_ID_MAX_LENGTH - 2}}}[a-z0-9])?$")


def is_dns_label(name: str) -> bool:
    """Lowercase letters, digits and '-', starting with a letter, at most 63 characters."""
    return _DNS_LABEL.match(name) is not None


def is_run_id(run_id: str) -> bool:
    """A part of a run's DNS-label name: lowercase letters, digits and '-', alphanumeric ends."""
    return _RUN_ID.match(run_id) is not None


@dataclass(frozen=True)
class TrainingRun:
    """What defines one training run on Kubernetes; its name is derived from all of it."""

    namespace: str
    image: str
    service_account: str
    image_pull_secret: str | None
    executor_instances: int
    executor_cores: int
    executor_core_request: str
    executor_memory: str
    driver_memory: str
    input_path: str
    data_fraction: float = 1.0
    max_depth: int = 5
    spark_conf: Mapping[str, str] = field(default_factory=dict)
    trainer_args: tuple[str, ...] = ()
    # "Never" for an image loaded into a local cluster: it has no registry (and no repo digest),
    # and a pull attempt would look for the name on Docker Hub.
    image_pull_policy: str = "IfNotPresent"
    # Tells apart runs that are otherwise the same, e.g. the same count in two executor sweeps.
    name_salt: str = ""
    # Where driver and executors run: on DOKS the Spark pool's label and the taint that keeps
    # every other pod off it; empty on a local cluster, whose nodes carry neither.
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, str], ...] = ()
    # s3a://<bucket>/runs/: each attempt writes to <runs_uri><name>/<Spark application id>/;
    # empty keeps results in the pod.
    runs_uri: str = ""
    # Secret whose keys become the driver's and executors' environment (the bucket's key).
    credentials_secret: str | None = None
    # The user's handle to re-run the same settings (stack config runId); shown in the name.
    run_id: str = ""

    @property
    def output(self) -> str:
        return f"{self.runs_uri}{self.name}" if self.runs_uri else OUTPUT_DIR

    @property
    def name(self) -> str:
        return run_name(self)


def run_name(run: TrainingRun) -> str:
    """A DNS-label name that changes whenever anything that defines the run changes.

    ``run.image`` should be the digest reference, so a rebuilt trainer is a new run too.
    """
    definition = {
        key: dict(value) if isinstance(value, Mapping) else value
        for key, value in dataclasses.asdict(run).items()
    }
    digest = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()
    return "-".join(part for part in ("train", run.run_id, digest[:12]) if part)


def _security_context() -> dict[str, Any]:
    return {
        "runAsUser": SPARK_UID,
        "runAsGroup": SPARK_UID,
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _pod_security_context() -> dict[str, Any]:
    return {
        "runAsUser": SPARK_UID,
        "runAsNonRoot": True,
        "fsGroup": SPARK_UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def arguments(run: TrainingRun) -> list[str]:
    """The trainer's command line (design §5 flags) for this run."""
    return [
        "--input",
        run.input_path or BAKED_SAMPLE_PATH,
        "--output",
        run.output,
        "--fraction",
        str(run.data_fraction),
        "--max-depth",
        str(run.max_depth),
        # The operator resubmits the same arguments on every retry, and `pulumi up --replace` or
        # a new cluster submits the same run again: each submission gets a folder of its own.
        *(["--attempt-folder"] if run.runs_uri else []),
        *run.trainer_args,
    ]


def spark_application(run: TrainingRun) -> dict[str, Any]:
    """The SparkApplication manifest (sparkoperator.k8s.io/v1beta2) for ``run``."""
    labels = {
        "app.kubernetes.io/name": "spark-doks",
        "app.kubernetes.io/component": "training",
        "app.kubernetes.io/instance": run.name,
    }
    pod_common: dict[str, Any] = {
        "labels": labels,
        "serviceAccount": run.service_account,
        "securityContext": _security_context(),
        "podSecurityContext": _pod_security_context(),
    }
    if run.node_selector:
        pod_common["nodeSelector"] = dict(run.node_selector)
    if run.tolerations:
        pod_common["tolerations"] = [dict(toleration) for toleration in run.tolerations]
    if run.credentials_secret is not None:
        pod_common["envFrom"] = [{"secretRef": {"name": run.credentials_secret}}]
    spec: dict[str, Any] = {
        "type": "Python",
        "mode": "cluster",
        "image": run.image,
        "imagePullPolicy": run.image_pull_policy,
        "mainApplicationFile": MAIN_APPLICATION_FILE,
        "arguments": arguments(run),
        "sparkVersion": spark_version(),
        "sparkConf": dict(run.spark_conf),
        "restartPolicy": {
            "type": "OnFailure",
            "onFailureRetries": ON_FAILURE_RETRIES,
            "onFailureRetryInterval": RETRY_INTERVAL_SECONDS,
            "onSubmissionFailureRetries": ON_SUBMISSION_FAILURE_RETRIES,
            "onSubmissionFailureRetryInterval": RETRY_INTERVAL_SECONDS,
        },
        "driver": {
            **pod_common,
            "cores": DRIVER_CORES,
            "coreRequest": str(DRIVER_CORES),
            "coreLimit": str(DRIVER_CORES),
            "memory": run.driver_memory,
            # Explicit, so pods request exactly what spark_runs.sizing counts when fitting nodes.
            "memoryOverhead": f"{memory_overhead_mib(run.driver_memory)}m",
        },
        "executor": {
            **pod_common,
            "instances": run.executor_instances,
            "cores": run.executor_cores,
            "coreRequest": run.executor_core_request,
            "coreLimit": str(run.executor_cores),
            "memory": run.executor_memory,
            "memoryOverhead": f"{memory_overhead_mib(run.executor_memory)}m",
        },
    }
    if run.image_pull_secret is not None:
        spec["imagePullSecrets"] = [run.image_pull_secret]
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": run.name, "namespace": run.namespace, "labels": labels},
        "spec": spec,
    }
