"""`pulumi up` waits for the training run and fails when the run fails.

pulumi-kubernetes (4.18+) waits for a resource until the JSONPath of its `pulumi.com/waitFor`
annotation selects something. Its awaiter has no failure branch, so waiting for COMPLETED alone
makes a FAILED run wait out the whole timeout. The annotation below selects the state once it is
either terminal (a JSONPath filter: RFC 9535 syntax, pulumi-kubernetes 4.24+); `run_outcome`
then fails the update when that state is FAILED and the run ended during this `up`.

The status also comes back from state for a run nobody waited for: an unchanged SparkApplication in
a preview or in an update that changes something else. A FAILED run from an earlier `up` is then
reported (stack output ``runState`` and a warning) and fails nothing, so one failed run does not
turn every later preview red or stop the engine from deleting what the program no longer declares.
"""

from datetime import datetime
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


def ended_at(status: dict[str, Any]) -> datetime | None:
    """When the operator ended the run: ``terminationTime``, set on every path to FAILED
    (spark-operator 2.5.2 internal/controller/sparkapplication/controller.go:448, 979, 989)."""
    for key in ("terminationTime", "lastSubmissionAttemptTime"):
        value = status.get(key)
        if value:
            return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return None


def run_outcome(
    status: dict[str, Any] | None, namespace: str, name: str, up_started: datetime
) -> str:
    """The run's final state.

    Raises RunFailedError when it FAILED after ``up_started`` (the run this `up` waited for);
    an earlier FAILED run only logs a warning.
    """
    state = (status or {}).get("applicationState") or {}
    if state.get("state") == FAILED:
        reason = state.get("errorMessage") or "no error message"
        message = (
            f"SparkApplication {namespace}/{name} FAILED: {reason}. "
            f"Read the driver's log: kubectl -n {namespace} logs {name}-driver. "
            "Fix the cause, then re-run with a new runId "
            "(pulumi config set spark-doks:runId NEW) or "
            "pulumi up --replace with the SparkApplication's URN."
        )
        ended = ended_at(status or {})
        # A preview creates nothing, so a FAILED status in it is always an earlier run's, handed
        # back from state. The time test alone misjudges a preview started within the second
        # that run ended (whole seconds: the operator writes RFC 3339 times without fractions).
        this_run = not pulumi.runtime.is_dry_run()
        if this_run and ended is not None and ended >= up_started.replace(microsecond=0):
            raise RunFailedError(message)
        pulumi.log.warn(f"an earlier run, not this update, ended FAILED (runState): {message}")
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
