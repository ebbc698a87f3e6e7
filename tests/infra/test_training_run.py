"""The training run under Pulumi's mocks: executor wait, `up` waiting for the run, its name,
how it packs the nodes it pays for, and the operator's CRDs upgrading with its chart."""

import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pulumi
import pytest
import yaml

from infra.offline import OfflineRun, PlatformMocks, run_offline
from infra.run_wait import WAIT_FOR, RunFailedError
from spark_runs import sizing
from spark_runs.cost import DEFAULT_PRICES
from tests.support import schema_file

Program = Callable[..., OfflineRun]

APPLICATION = "kubernetes:sparkoperator.k8s.io/v1beta2:SparkApplication"
RELEASE = "kubernetes:helm.sh/v3:Release"


def application(run: OfflineRun) -> dict[str, Any]:
    inputs: dict[str, Any] = run.one(APPLICATION).inputs
    return inputs


def test_training_waits_for_every_executor_as_long_as_configured(program: Program) -> None:
    conf = application(program(executorWaitSeconds="420"))["spec"]["sparkConf"]
    assert conf["spark.scheduler.minRegisteredResourcesRatio"] == "1.0"
    assert conf["spark.scheduler.maxRegisteredResourcesWaitingTime"] == "420s"
    default = application(program())["spec"]["sparkConf"]
    assert default["spark.scheduler.maxRegisteredResourcesWaitingTime"] == "600s"


def test_up_waits_for_either_end_of_the_run_within_the_timeout(program: Program) -> None:
    annotations = application(program(runTimeoutSeconds="5400"))["metadata"]["annotations"]
    assert annotations == {"pulumi.com/waitFor": WAIT_FOR, "pulumi.com/timeoutSeconds": "5400"}
    assert "COMPLETED" in WAIT_FOR and "FAILED" in WAIT_FOR


def test_without_wait_for_run_up_returns_once_the_application_exists(program: Program) -> None:
    run = program(waitForRun="false")
    assert "annotations" not in application(run)["metadata"]
    assert "runState" not in run.outputs


def test_run_id_is_part_of_the_name_and_changes_it(program: Program) -> None:
    plain = application(program())["metadata"]["name"]
    second = application(program(runId="2"))["metadata"]["name"]
    assert second.startswith("train-2-") and plain.startswith("train-") and second != plain
    assert application(program(runId="2"))["metadata"]["name"] == second  # stable per runId


def test_default_run_packs_two_executors_per_dev_node_and_costs_those_nodes(
    program: Program,
) -> None:
    run = program()
    executor = application(run)["spec"]["executor"]
    size = sizing.NODE_SIZES["s-2vcpu-4gb"]
    cores, instances = int(executor["cores"]), int(executor["instances"])  # mocks send floats
    request = sizing.parse_cpu_millis(executor["coreRequest"])
    assert request < cores * 1000 and executor["coreLimit"] == str(cores)
    executor_nodes = math.ceil(instances * request / sizing.schedulable_cpu_millis(size))
    # Memory does not bind: two executor pods (heap plus overhead) fit in one node's memory.
    pod_memory = sizing.parse_spark_memory_mib(executor["memory"]) + int(
        executor["memoryOverhead"].removesuffix("m")
    )
    assert 2 * pod_memory <= sizing.schedulable_memory_mib(size)
    # The driver (one whole core) has a node of its own.
    assert run.outputs["runNodes"] == 1 + executor_nodes == 3
    hourly = run.outputs["runNodes"] * DEFAULT_PRICES.price_per_second_usd(size.slug) * 3600
    assert run.outputs["runCostPerHour"] == pytest.approx(hourly, abs=1e-4)


def test_operator_chart_upgrades_its_crds_and_cleans_up_a_failed_release(
    program: Program,
) -> None:
    (release,) = [r for r in program().of_type(RELEASE) if r.inputs["chart"] == "spark-operator"]
    assert release.inputs["values"]["hook"]["upgradeCrd"] is True
    assert release.inputs["atomic"] is True and release.inputs["cleanupOnFail"] is True
    defaults = yaml.safe_load(schema_file("spark-operator/chart/values.yaml").read_text())
    assert defaults["hook"]["upgradeCrd"] is False  # what the chart would leave in place


class EndingMocks(PlatformMocks):
    """Stand-ins whose SparkApplication has ended in ``state`` by the time `up` reads it back.

    ``ended_ago`` set: the status is from state, written by an earlier `up` that long ago.
    """

    def __init__(self, state: str, ended_ago: timedelta | None = None) -> None:
        super().__init__()
        self.state = state
        self.ended_ago = ended_ago

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        resource_id, state = super().new_resource(args)
        if args.typ == APPLICATION:
            ended = datetime.now(UTC) - (self.ended_ago or timedelta())
            state["status"] = {
                "applicationState": {"state": self.state, "errorMessage": "driver exited 1"},
                # The operator's metav1.Time: RFC 3339, whole seconds.
                "terminationTime": ended.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        return resource_id, state


def test_a_failed_run_fails_up_and_names_the_driver_log_command() -> None:
    with pytest.raises(RunFailedError) as failed:
        run_offline({}, "dev", EndingMocks("FAILED"))
    message = str(failed.value)
    assert "FAILED: driver exited 1" in message
    assert "kubectl -n spark-jobs logs train-" in message and "-driver" in message
    assert "spark-doks:runId" in message and "--replace" in message


def test_a_completed_run_is_reported_in_the_stack_outputs() -> None:
    assert run_offline({}, "dev", EndingMocks("COMPLETED")).outputs["runState"] == "COMPLETED"


def test_a_failed_run_does_not_fail_up_that_did_not_wait_for_it() -> None:
    run = run_offline({"waitForRun": "false"}, "dev", EndingMocks("FAILED"))
    assert "runState" not in run.outputs


def test_a_run_that_failed_before_this_update_is_reported_and_fails_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # An unchanged SparkApplication: the engine hands back its status from state, in a preview
    # or in an update of something else. Neither may fail for that old run.
    with caplog.at_level(logging.WARNING):
        run = run_offline({}, "dev", EndingMocks("FAILED", ended_ago=timedelta(days=1)))
    assert run.outputs["runState"] == "FAILED"
    (warning,) = [r.message for r in caplog.records if "FAILED" in r.message]
    assert "earlier run" in warning and "spark-doks:runId" in warning


def test_a_preview_never_fails_for_a_failed_run_however_recently_it_ended(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A preview creates nothing: a FAILED status in it comes from state, even one written in the
    # same second the preview started (the engine suite's preview right after a FAILED `up`).
    with caplog.at_level(logging.WARNING):
        run = run_offline({}, "dev", EndingMocks("FAILED"), preview=True)
    assert run.outputs["runState"] == "FAILED"
    assert any("earlier run" in r.message for r in caplog.records)
