"""The stack's monthly pool cost outputs, from a run of the program under Pulumi's mocks."""

from collections.abc import Callable

from infra.offline import OfflineRun

Program = Callable[..., OfflineRun]


def test_digitalocean_stack_exports_the_cost_of_both_pools(program: Program) -> None:
    # Spark pool: s-4vcpu-8gb is $48/month, 1 node at the floor, 3 at the ceiling.
    # System pool: 1 fixed c-4 node ($84/month) at both bounds.
    run = program(
        nodeSize="s-4vcpu-8gb",
        minNodes="1",
        maxNodes="3",
        systemNodeSize="c-4",
        systemNodeCount="1",
    )
    # Plus the bucket's Spaces subscription, $5/month.
    assert run.outputs["monthlyCostFloor"] == 84.0 + 48.0 + 5.0
    assert run.outputs["monthlyCostCeiling"] == 84.0 + 144.0 + 5.0
    assert "monthlyCostFloor" not in run.secret_outputs


def test_an_idle_platform_costs_the_system_pool_and_the_spaces_subscription(
    program: Program,
) -> None:
    # 2 fixed s-2vcpu-4gb system nodes at $24/month; the Spark pool scales to 0; Spaces $5/month.
    run = program(minNodes="0", systemNodeSize="s-2vcpu-4gb", systemNodeCount="2")
    assert run.outputs["monthlyCostFloor"] == 2 * 24.0 + 5.0


def test_local_stack_has_no_pool_to_price(program: Program) -> None:
    run = program(stack="local", target="local")
    assert "monthlyCostFloor" not in run.outputs
    assert "monthlyCostCeiling" not in run.outputs
