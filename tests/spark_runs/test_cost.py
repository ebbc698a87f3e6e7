from dataclasses import dataclass
from pathlib import Path

import pytest

from spark_runs.cost import (
    DEFAULT_PRICES,
    SPACES_MONTHLY_USD,
    SPACES_PRICE_AS_OF,
    SPACES_PRICE_SOURCE,
    best_cost_time,
    cheapest_within_deadline,
    load_prices,
    platform_monthly_cost,
    pool_monthly_cost,
    run_cost,
)
from spark_runs.sizing import NODE_SIZES


def test_every_node_size_the_stack_accepts_has_a_price() -> None:
    assert set(NODE_SIZES) <= set(DEFAULT_PRICES.monthly_usd)


def test_a_partial_hour_is_billed_pro_rata_not_rounded_up() -> None:
    # s-2vcpu-4gb is $24/month = $24/672 per hour. One 1-core 1g executor needs 2 nodes (the driver
    # fills the first), so 90 minutes cost 2 nodes x 1.5 h x $24/672 = $0.107142..., not 2 x 2 h.
    cost = run_cost(DEFAULT_PRICES, "s-2vcpu-4gb", 1, 1000, "1g", seconds=90 * 60)
    assert cost.nodes == 2
    assert cost.cost_usd == pytest.approx(2 * 1.5 * 24 / 672)


def test_executors_sharing_the_driver_node_pay_for_one_node() -> None:
    # s-4vcpu-8gb ($48/month) holds the driver and two 1-core 1g executors: 45 min on one node.
    cost = run_cost(DEFAULT_PRICES, "s-4vcpu-8gb", 2, 1000, "1g", seconds=45 * 60)
    assert cost.nodes == 1
    assert cost.cost_usd == pytest.approx(0.75 * 48 / 672)


def test_a_started_second_is_billed_whole() -> None:
    whole = run_cost(DEFAULT_PRICES, "s-2vcpu-4gb", 4, 1000, "1g", seconds=60)
    started = run_cost(DEFAULT_PRICES, "s-2vcpu-4gb", 4, 1000, "1g", seconds=59.2)
    assert started == whole
    assert whole.cost_usd == pytest.approx(5 * 60 * 24 / (672 * 3600))


def test_pool_month_floor_and_ceiling_are_the_bounds_times_the_monthly_price() -> None:
    bounds = pool_monthly_cost(DEFAULT_PRICES, "s-2vcpu-4gb", min_nodes=2, max_nodes=10)
    assert (bounds.floor_usd, bounds.ceiling_usd) == (48.0, 240.0)


def test_inverted_pool_bounds_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"minNodes <= maxNodes, got 3\.\.2"):
        pool_monthly_cost(DEFAULT_PRICES, "s-2vcpu-4gb", min_nodes=3, max_nodes=2)


def test_unknown_node_size_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown node size 's-99'; use one of .*s-2vcpu-4gb"):
        run_cost(DEFAULT_PRICES, "s-99", 1, 1000, "1g", seconds=10)


def test_price_file_overrides_the_slugs_it_names(tmp_path: Path) -> None:
    prices_file = tmp_path / "prices.yaml"
    prices_file.write_text("as_of: '2027-01-01'\nmonthly_usd:\n  s-2vcpu-4gb: 30\n")
    prices = load_prices(prices_file)
    assert prices.as_of == "2027-01-01"
    assert run_cost(prices, "s-2vcpu-4gb", 1, 1000, "1g", 3600).cost_usd == pytest.approx(
        2 * 30 / 672
    )
    assert prices.monthly_price_usd("c-2") == DEFAULT_PRICES.monthly_price_usd("c-2")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "as_of: x\nmonthly_usd:\n  s-2vcpu-4gb: -1\n",
            r"monthly_usd\.s-2vcpu-4gb: .*greater than 0",
        ),
        ("monthly_usd:\n  s-2vcpu-4gb: 1\n", r"as_of: Field required"),
        ("as_of: x\nmonthly: {}\n", r"monthly_usd: Field required"),
        ("as_of: [\n", r"not valid YAML"),
    ],
)
def test_bad_price_file_names_the_field(tmp_path: Path, content: str, message: str) -> None:
    prices_file = tmp_path / "prices.yaml"
    prices_file.write_text(content)
    with pytest.raises(ValueError, match=message):
        load_prices(prices_file)


@dataclass(frozen=True)
class Run:
    executors: int
    total_seconds: float
    cost_usd: float


RUNS = [Run(1, 600, 0.10), Run(2, 330, 0.11), Run(4, 200, 0.13), Run(8, 150, 0.20)]


def test_cheapest_run_that_meets_the_deadline() -> None:
    assert cheapest_within_deadline(RUNS, deadline_seconds=400) == RUNS[1]
    assert cheapest_within_deadline(RUNS, deadline_seconds=600) == RUNS[0]
    assert cheapest_within_deadline(RUNS, deadline_seconds=100) is None


def test_smallest_cost_times_time() -> None:
    # 60, 36.3, 26, 30 dollar-seconds
    assert best_cost_time(RUNS) == RUNS[2]


def test_ties_go_to_fewer_executors() -> None:
    tied = [Run(3, 100, 0.2), Run(2, 200, 0.1)]
    assert best_cost_time(tied) == tied[1]
    assert cheapest_within_deadline([Run(3, 100, 0.1), Run(2, 100, 0.1)], 100) == Run(2, 100, 0.1)


def test_the_platform_costs_its_fixed_system_pool_plus_the_spark_pool_bounds() -> None:
    spark = pool_monthly_cost(DEFAULT_PRICES, "s-4vcpu-8gb", min_nodes=0, max_nodes=5)
    total = platform_monthly_cost(DEFAULT_PRICES, "s-2vcpu-4gb", 2, spark)
    system = 2 * DEFAULT_PRICES.monthly_price_usd("s-2vcpu-4gb")
    assert total.floor_usd == system + SPACES_MONTHLY_USD
    assert total.ceiling_usd == system + spark.ceiling_usd + SPACES_MONTHLY_USD


def test_the_spaces_subscription_is_the_dated_five_dollars_a_month() -> None:
    assert SPACES_MONTHLY_USD == 5.0
    assert SPACES_PRICE_AS_OF and SPACES_PRICE_SOURCE.startswith("https://www.digitalocean.com/")
