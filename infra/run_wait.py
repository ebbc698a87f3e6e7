"""`pulumi up` waits for the training run and fails when the run fails.

pulumi-kubernetes (4.18+) waits for a resource until the JSONPath of its `pulumi.com/waitFor`
annotation selects something. Its awaiter has no failure branch, so waiting for COMPLETED alone
makes a FAILED run wait out the whole timeout. The annotation below selects the state once it is
either terminal (a JSONPath filter: RFC 9535 syntax, pulumi-kubernetes 4.24+); `run_outcome`
then fails the update when that state is FAILED.
"""

from importlib.metadata import version
from typing import Any

import pulumi

from spark_runs.application import API_VERSION, KIND

COMPLETED = "COMPLETED"
FAILED = "FAILED"
# Filters the members of .status: only applicationState has a .state.
TERMINAL_STATE_PATH = f"{{.status[?@.state=='{COMPLETED}' || @.state=='{FAILED}'].state}}"
WAIT_FOR = f"jsonpath={TERMINAL_STATE_PATH}"


def wait_annotations(timeout_seconds: int) -> dict[str, str]:
    """Annotations that make `pulumi up` wait until the run ends, for at most the timeout."""
    return {"pulumi.com/waitFor": WAIT_FOR, "pulumi.com/timeoutSeconds": str(timeout_seconds)}


class RunFailedError(pulumi.RunError):
    """The SparkApplication ended FAILED; the message says how to read why and how to re-run.

    A RunError, so `pulumi up` prints just the message, without a Python traceback.
    """


def run_outcome(status: dict[str, Any] | None, namespace: str, name: str) -> str:
    """The run's final state; raises RunFailedError when it FAILED."""
    state = (status or {}).get("applicationState") or {}
    if state.get("state") == FAILED:
        reason = state.get("errorMessage") or "no error message"
        raise RunFailedError(
            f"SparkApplication {namespace}/{name} FAILED: {reason}. "
            f"Read the driver's log: kubectl -n {namespace} logs {name}-driver. "
            "Fix the cause, then re-run with a new runId "
            "(pulumi config set spark-doks:runId NEW) or "
            "pulumi up --replace with the SparkApplication's URN."
        )
    return str(state.get("state", ""))


class SparkApplication(pulumi.CustomResource):
    """A SparkApplication whose `status` (written by the operator) is an output.

    `apiextensions.CustomResource` declares no status output, and Pulumi's Python SDK drops
    outputs it has no declared property for.
    """

    status: pulumi.Output[dict[str, Any] | None]

    def __init__(
        self,
        name: str,
        metadata: pulumi.Input[Any],
        spec: pulumi.Input[Any],
        opts: pulumi.ResourceOptions,
    ) -> None:
        super().__init__(
            f"kubernetes:{API_VERSION}:{KIND}",
            name,
            {
                "apiVersion": API_VERSION,
                "kind": KIND,
                "metadata": metadata,
                "spec": spec,
                "status": None,
            },
            pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(version=version("pulumi-kubernetes"))
            ),
        )
