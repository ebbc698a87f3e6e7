"""What a training run and the node pools cost on DigitalOcean Kubernetes.

Billing (DOKS pricing page, as documented in 2026): worker nodes are Droplets billed per second
at the Droplet price, where the per-second rate is the monthly price over 28 days (672 hours); a
node costs at most its monthly price in a month. A node pool's monthly usage is billed at least
60 seconds or $0.01 per node, aggregated over the month, so that minimum never applies to one run
on a pool that outlives it. The control plane is free (HA adds a flat monthly fee, not per run).

A run's cost is the nodes it needs (driver and executors packed by `spark_runs.sizing` by their
CPU and memory requests, so executors asking less CPU than their cores share nodes) times its
duration at that per-second rate. It leaves out the time an autoscaler takes to add nodes before
the run and to remove them after it, which are billed too but depend on the pool, not the run.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, ValidationError

from spark_runs.sizing import NODE_SIZES, nodes_needed

BILLED_HOURS_PER_MONTH = 672
SECONDS_PER_BILLED_MONTH = BILLED_HOURS_PER_MONTH * 3600

# US-dollar monthly list prices of regular (non-premium) Droplets per size slug, as set by
# DigitalOcean's July 2022 price change. Nothing here can reach DigitalOcean, so re-check with
# `doctl compute size list --format Slug,PriceMonthly` and override with a prices file.
PRICES_AS_OF = "2022-07-01"
PRICES_SOURCE = "https://www.digitalocean.com/pricing/droplets"
MONTHLY_PRICE_USD: dict[str, float] = {
    "s-1vcpu-2gb": 12.0,
    "s-2vcpu-2gb": 18.0,
    "s-2vcpu-4gb": 24.0,
    "s-4vcpu-8gb": 48.0,
    "s-8vcpu-16gb": 96.0,
    "c-2": 42.0,
    "c-4": 84.0,
    "c-8": 168.0,
    "g-2vcpu-8gb": 63.0,
    "g-4vcpu-16gb": 126.0,
    "m-2vcpu-16gb": 84.0,
}


@dataclass(frozen=True)
class PriceTable:
    as_of: str
    source: str
    monthly_usd: Mapping[str, float]

    def monthly_price_usd(self, size_slug: str) -> float:
        try:
            return self.monthly_usd[size_slug]
        except KeyError:
            known = ", ".join(sorted(self.monthly_usd))
            raise ValueError(
                f"no price for node size {size_slug!r}; "
                f"add it to a prices file or use one of {known}"
            ) from None

    def price_per_second_usd(self, size_slug: str) -> float:
        return self.monthly_price_usd(size_slug) / SECONDS_PER_BILLED_MONTH


DEFAULT_PRICES = PriceTable(PRICES_AS_OF, PRICES_SOURCE, MONTHLY_PRICE_USD)

# The Spaces subscription every DigitalOcean stack's bucket needs: $5 a month for the team, however
# many buckets (250 GiB stored and 1 TiB outbound transfer included, then $0.02/GiB and $0.01/GiB),
# prorated hourly. As answered by DigitalOcean on its community Q&A; re-check on
# https://www.digitalocean.com/pricing/spaces-object-storage before relying on it.
SPACES_PRICE_AS_OF = "2026-12-06"
SPACES_PRICE_SOURCE = "https://www.digitalocean.com/community/questions/prices-explanation-5-per-space-or-5-for-spaces"
SPACES_MONTHLY_USD = 5.0


class _PriceFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: str = Field(min_length=1)
    source: str = ""
    monthly_usd: dict[str, PositiveFloat] = Field(min_length=1)


def load_prices(path: Path) -> PriceTable:
    """The default table with the prices of a YAML file laid over it.

    The file has `as_of` (when the prices were read), optional `source`, and `monthly_usd`
    mapping size slugs to monthly prices; slugs it does not name keep the default price.
    """
    try:
        document = yaml.safe_load(path.read_text())
        prices = _PriceFile.model_validate(document)
    except OSError as error:
        raise ValueError(f"cannot read price file {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ValueError(f"price file {path} is not valid YAML: {error}") from None
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "file"
        raise ValueError(
            f"price file {path}: {field}: {first['msg']} "
            "(expected as_of: DATE, monthly_usd: {SLUG: PRICE, ...})"
        ) from None
    return PriceTable(
        as_of=prices.as_of,
        source=prices.source or str(path),
        monthly_usd={**DEFAULT_PRICES.monthly_usd, **prices.monthly_usd},
    )


@dataclass(frozen=True)
class RunCost:
    nodes: int
    cost_usd: float


def run_cost(
    prices: PriceTable,
    node_size: str,
    executor_instances: int,
    executor_cpu_millis: int,
    executor_memory: str,
    seconds: float,
) -> RunCost:
    """Nodes a run occupies and what they cost for its duration, billed per second."""
    if seconds < 0:
        raise ValueError(f"a run cannot last {seconds} s")
    if node_size not in NODE_SIZES:
        known = ", ".join(sorted(NODE_SIZES))
        raise ValueError(f"unknown node size {node_size!r}; use one of {known}")
    nodes = nodes_needed(
        NODE_SIZES[node_size], executor_instances, executor_cpu_millis, executor_memory
    )
    billed_seconds = math.ceil(seconds)
    return RunCost(nodes, nodes * billed_seconds * prices.price_per_second_usd(node_size))


@dataclass(frozen=True)
class MonthlyPoolCost:
    floor_usd: float
    ceiling_usd: float


def pool_monthly_cost(
    prices: PriceTable, node_size: str, min_nodes: int, max_nodes: int
) -> MonthlyPoolCost:
    """A month of the autoscaling pool at its lower and upper bound (each node capped at 672 h)."""
    if not 0 <= min_nodes <= max_nodes:
        raise ValueError(
            f"pool bounds must satisfy 0 <= minNodes <= maxNodes, got {min_nodes}..{max_nodes}"
        )
    monthly = prices.monthly_price_usd(node_size)
    return MonthlyPoolCost(min_nodes * monthly, max_nodes * monthly)


def platform_monthly_cost(
    prices: PriceTable,
    system_node_size: str,
    system_node_count: int,
    spark_pool: MonthlyPoolCost,
    spaces_usd: float = SPACES_MONTHLY_USD,
) -> MonthlyPoolCost:
    """A month of the whole platform: the fixed system pool plus the Spark pool at each bound,
    plus the Spaces subscription of its bucket.

    With the Spark pool at its floor of 0 nodes, an idle platform costs the system pool and Spaces.
    """
    system = pool_monthly_cost(prices, system_node_size, system_node_count, system_node_count)
    return MonthlyPoolCost(
        system.floor_usd + spark_pool.floor_usd + spaces_usd,
        system.ceiling_usd + spark_pool.ceiling_usd + spaces_usd,
    )


class CostedRun(Protocol):
    @property
    def executors(self) -> int: ...

    @property
    def total_seconds(self) -> float: ...

    @property
    def cost_usd(self) -> float: ...


Run = TypeVar("Run", bound=CostedRun)


def cheapest_within_deadline(runs: Sequence[Run], deadline_seconds: float) -> Run | None:
    """The cheapest run that finished within the deadline (fewer executors on a tie), if any."""
    in_time = [run for run in runs if run.total_seconds <= deadline_seconds]
    if not in_time:
        return None
    return min(in_time, key=lambda run: (run.cost_usd, run.executors))


def best_cost_time(runs: Sequence[Run]) -> Run:
    """The run with the smallest cost x time (fewer executors on a tie)."""
    if not runs:
        raise ValueError("no runs to compare")
    return min(runs, key=lambda run: (run.cost_usd * run.total_seconds, run.executors))
