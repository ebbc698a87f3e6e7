"""The stack's monthly pool cost outputs, from a run of the program under Pulumi's mocks."""

from infra.offline import run_offline


def test_digitalocean_stack_exports_the_pool_cost_floor_and_ceiling() -> None:
    # s-4vcpu-8gb is $48/month: 1 node at the floor, 3 at the ceiling.
    run = run_offline({"nodeSize": "s-4vcpu-8gb", "minNodes": "1", "maxNodes": "3"}, "dev")
    assert run.outputs["monthlyCostFloor"] == 48.0
    assert run.outputs["monthlyCostCeiling"] == 144.0


def test_local_stack_has_no_pool_to_price() -> None:
    run = run_offline({"target": "local"}, "local")
    assert "monthlyCostFloor" not in run.outputs
    assert "monthlyCostCeiling" not in run.outputs
