"""The stack's monthly pool cost outputs, from a run of the program under Pulumi's mocks."""

from collections.abc import Callable

from infra.offline import OfflineRun

Program = Callable[..., OfflineRun]


def test_digitalocean_stack_exports_the_pool_cost_floor_and_ceiling(program: Program) -> None:
    # s-4vcpu-8gb is $48/month: 1 node at the floor, 3 at the ceiling.
    run = program(nodeSize="s-4vcpu-8gb", minNodes="1", maxNodes="3")
    assert run.outputs["monthlyCostFloor"] == 48.0
    assert run.outputs["monthlyCostCeiling"] == 144.0
    assert "monthlyCostFloor" not in run.secret_outputs


def test_local_stack_has_no_pool_to_price(program: Program) -> None:
    run = program(stack="local", target="local")
    assert "monthlyCostFloor" not in run.outputs
    assert "monthlyCostCeiling" not in run.outputs
