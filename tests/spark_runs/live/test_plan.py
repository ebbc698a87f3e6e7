"""The live stack's config is one the program accepts; its printed cost follows the cost model."""

import pytest

from infra.settings import CONFIG_KEYS, load_settings
from spark_runs.cost import DEFAULT_PRICES, PriceTable
from spark_runs.live import contract, plan
from spark_runs.sizing import NODE_SIZES, nodes_needed, parse_cpu_millis


@pytest.mark.parametrize("executors", [plan.FIRST_EXECUTORS, plan.SECOND_EXECUTORS])
def test_the_live_config_passes_the_programs_validation(executors: int) -> None:
    config = plan.stack_config(executors)
    # Keys the parallel branches add are listed in the contract until they are declared here.
    assumed = set(config) - set(CONFIG_KEYS)
    assert assumed <= set(contract.ASSUMED_CONFIG_KEYS)
    settings = load_settings({key: value for key, value in config.items() if key in CONFIG_KEYS})
    assert settings.executor_instances == executors
    assert settings.data_fraction < 1


def test_the_live_stack_creates_the_spark_pool_at_zero_and_says_so() -> None:
    # The evidence for minNodes 0 (issue 20 point 10) can only come from a real account.
    assert plan.stack_config(plan.FIRST_EXECUTORS)["minNodes"] == "0"
    assert "autoscaling 0.." in plan.describe("live-x", "s3://state")


def test_the_second_up_changes_only_the_executor_count() -> None:
    first, second = (
        plan.stack_config(plan.FIRST_EXECUTORS),
        plan.stack_config(plan.SECOND_EXECUTORS),
    )
    assert {key for key in first if first[key] != second[key]} == {"executorInstances"}


@pytest.mark.parametrize(
    ("node_size", "executor_memory"),
    [(plan.NODE_SIZE, plan.EXECUTOR_MEMORY), ("s-4vcpu-8gb", "512m")],
)
def test_the_pool_holds_the_larger_run_as_the_program_counts_it(
    node_size: str, executor_memory: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Counted from what the program's settings read (CPU millis of the core request), not from
    # the Spark cores: a 4-vCPU node holds 4 executors requesting 800m, not 6 by memory alone.
    monkeypatch.setattr(plan, "NODE_SIZE", node_size)
    monkeypatch.setattr(plan, "EXECUTOR_MEMORY", executor_memory)
    monkeypatch.setattr(plan, "SECOND_EXECUTORS", 8)
    config = plan.stack_config(plan.SECOND_EXECUTORS)
    settings = load_settings({key: value for key, value in config.items() if key in CONFIG_KEYS})
    needed = nodes_needed(
        NODE_SIZES[settings.node_size],
        settings.executor_instances,
        parse_cpu_millis(settings.executor_core_request),
        settings.executor_memory,
    )
    assert int(config["maxNodes"]) == needed


def test_the_estimate_scales_with_the_price_table() -> None:
    doubled = PriceTable(
        "test", "test", {slug: 2 * price for slug, price in DEFAULT_PRICES.monthly_usd.items()}
    )
    base, expensive = plan.estimate(DEFAULT_PRICES), plan.estimate(doubled)
    assert expensive.runs_usd == pytest.approx(2 * base.runs_usd)
    # Droplet prices double; the Prometheus volume's price is not in the table and stays.
    volume_usd = 2 * base.ceiling_usd - expensive.ceiling_usd
    hours = -(-plan.HARD_LIMIT_SECONDS // 3600)
    assert volume_usd == pytest.approx(
        plan.PROMETHEUS_VOLUME_GIB * plan.VOLUME_USD_PER_GIB_MONTH * hours / plan.HOURS_PER_MONTH
    )
    assert base.ceiling_usd > base.runs_usd > 0


def test_the_ceiling_is_every_node_for_the_whole_limit() -> None:
    estimate = plan.estimate()
    nodes = int(plan.stack_config(plan.FIRST_EXECUTORS)["maxNodes"]) + plan.SYSTEM_NODE_COUNT
    per_second = DEFAULT_PRICES.price_per_second_usd(plan.NODE_SIZE)
    assert estimate.ceiling_usd >= nodes * per_second * plan.HARD_LIMIT_SECONDS


def test_the_printed_plan_names_the_stack_the_limit_and_the_cost() -> None:
    text = plan.describe("live-3f9c01ab", "file:///tmp/state")
    estimate = plan.estimate()
    assert "stack live-3f9c01ab" in text
    assert "tagged spark-doks-live-3f9c01ab" in text
    assert f"hard time limit: {plan.HARD_LIMIT_SECONDS // 60} min" in text
    assert f"${estimate.ceiling_usd:.2f}" in text and f"${estimate.runs_usd:.2f}" in text
    assert DEFAULT_PRICES.as_of in text


def test_the_step_budgets_fit_the_hard_limit() -> None:
    work = plan.FIRST_UP_SECONDS + plan.SECOND_UP_SECONDS + 5 * plan.CHECK_SECONDS
    assert work + plan.DESTROY_RESERVE_SECONDS <= plan.HARD_LIMIT_SECONDS
