"""The `pulumi.com/waitFor` expression, evaluated by an RFC 9535 JSONPath engine as
pulumi-kubernetes (4.24+) evaluates it: it must select the state once the run has ended either
way, and nothing while it runs."""

from typing import Any

import pytest
from jsonpath import JSONPathEnvironment

from infra.run_wait import WAIT_FOR

RFC9535 = JSONPathEnvironment(strict=True)


def selected(application: dict[str, Any]) -> list[object]:
    # pulumi-kubernetes takes what follows jsonpath=, strips the braces and roots it at $.
    path = WAIT_FOR.removeprefix("jsonpath=")
    assert path.startswith("{") and path.endswith("}") and "=" not in path.replace("==", "")
    return RFC9535.findall("$" + path[1:-1], application)


def status(state: str, **more: object) -> dict[str, Any]:
    return {"status": {"applicationState": {"state": state}, **more}}


@pytest.mark.parametrize("state", ["COMPLETED", "FAILED"])
def test_selects_the_state_of_an_ended_run(state: str) -> None:
    executors = {"executorState": {"train-1-exec-1": "FAILED"}, "driverInfo": {"podName": "d"}}
    assert selected(status(state, **executors)) == [state]


@pytest.mark.parametrize(
    "state", ["", "SUBMITTED", "RUNNING", "PENDING_RERUN", "FAILING", "SUCCEEDING"]
)
def test_selects_nothing_while_the_run_goes_on(state: str) -> None:
    assert selected(status(state, executorState={"train-1-exec-1": "FAILED"})) == []


def test_selects_nothing_before_the_operator_wrote_a_status() -> None:
    assert selected({"metadata": {"name": "train-1"}}) == []
