"""What the live test creates, in which order, within which time, and what that may cost.

Printed before anything starts, so whoever runs `make test-live` sees the bill before paying it.
Node prices come from the project's cost model (spark_runs/cost.py, billed per second); the other
billable items are priced here from DigitalOcean's pricing pages and marked as estimates.
"""

import math
from dataclasses import dataclass

from spark_runs.cost import DEFAULT_PRICES, PriceTable, run_cost
from spark_runs.live import contract
from spark_runs.sizing import NODE_SIZES, nodes_needed, parse_cpu_millis

REGION = "sfo3"  # has both DOKS and Spaces
NODE_SIZE = "s-2vcpu-4gb"
# The Spark pool is created at 0, as the stack files do: the live test is the evidence that the
# account accepts scale to zero (docs/decisions.md, issue 20 point 10).
SPARK_POOL_MIN_NODES = 0
SYSTEM_NODE_SIZE = "s-2vcpu-4gb"
SYSTEM_NODE_COUNT = 2  # what infra's system-pool fit rule asks of s-2vcpu-4gb
EXECUTOR_CORES = 1
# What each executor pod requests (the program's executorCoreRequest); nodes are counted by it.
EXECUTOR_CORE_REQUEST = "800m"
EXECUTOR_MEMORY = "1g"
DRIVER_MEMORY = "1g"
FIRST_EXECUTORS = 2
SECOND_EXECUTORS = 3
DATA_FRACTION = 0.05
RUN_TIMEOUT_SECONDS = 900
EXPECTED_RUN_SECONDS = 600  # one small run with pod start-up and image pull, for the estimate

# Time budget: the whole test ends within HARD_LIMIT_SECONDS, of which the destroy keeps its own
# share even when everything before it used up theirs.
HARD_LIMIT_SECONDS = 100 * 60
DESTROY_RESERVE_SECONDS = 25 * 60
FIRST_UP_SECONDS = 45 * 60
SECOND_UP_SECONDS = 20 * 60
CHECK_SECONDS = 2 * 60

# Prometheus server keeps its TSDB on a PersistentVolumeClaim (the chart's default, 8 GiB),
# which DOKS provisions as a block storage volume.
PROMETHEUS_VOLUME_GIB = 8
# Estimates from DigitalOcean's pricing pages (checked 2026-11): volumes are billed hourly at
# $0.10 per GiB-month; DOCR basic and the Spaces subscription are flat monthly fees an account
# pays once, whatever the number of stacks, so they are listed, not added per hour.
VOLUME_USD_PER_GIB_MONTH = 0.10
REGISTRY_BASIC_USD_PER_MONTH = 5.0
SPACES_SUBSCRIPTION_USD_PER_MONTH = 5.0
HOURS_PER_MONTH = 672


def _max_nodes() -> int:
    return max(
        nodes_needed(
            NODE_SIZES[NODE_SIZE],
            executors,
            parse_cpu_millis(EXECUTOR_CORE_REQUEST),
            EXECUTOR_MEMORY,
        )
        for executors in (FIRST_EXECUTORS, SECOND_EXECUTORS)
    )


def stack_config(executor_instances: int) -> dict[str, str]:
    """Flat `spark-doks:` config of the live stack (keys without the project prefix)."""
    return {
        "target": "digitalocean",
        "region": REGION,
        "haControlPlane": "false",
        "nodeSize": NODE_SIZE,
        "minNodes": str(SPARK_POOL_MIN_NODES),
        "maxNodes": str(_max_nodes()),
        "systemNodeSize": SYSTEM_NODE_SIZE,
        "systemNodeCount": str(SYSTEM_NODE_COUNT),
        "executorInstances": str(executor_instances),
        "executorCores": str(EXECUTOR_CORES),
        "executorCoreRequest": EXECUTOR_CORE_REQUEST,
        "executorMemory": EXECUTOR_MEMORY,
        "driverMemory": DRIVER_MEMORY,
        "dataFraction": str(DATA_FRACTION),
        "waitForRun": "true",
        "runTimeoutSeconds": str(RUN_TIMEOUT_SECONDS),
        "alerting": "false",
    }


@dataclass(frozen=True)
class Estimate:
    run_nodes: tuple[int, int]  # Spark nodes the first and the second run occupy
    runs_usd: float  # both runs at their expected duration
    ceiling_usd: float  # every node and the volume for the whole hard limit
    monthly_fees: tuple[str, ...]


def estimate(prices: PriceTable = DEFAULT_PRICES) -> Estimate:
    runs = [
        run_cost(
            prices,
            NODE_SIZE,
            executors,
            parse_cpu_millis(EXECUTOR_CORE_REQUEST),
            EXECUTOR_MEMORY,
            EXPECTED_RUN_SECONDS,
        )
        for executors in (FIRST_EXECUTORS, SECOND_EXECUTORS)
    ]
    node_seconds = HARD_LIMIT_SECONDS
    nodes_usd = node_seconds * (
        _max_nodes() * prices.price_per_second_usd(NODE_SIZE)
        + SYSTEM_NODE_COUNT * prices.price_per_second_usd(SYSTEM_NODE_SIZE)
    )
    volume_usd = (
        PROMETHEUS_VOLUME_GIB
        * VOLUME_USD_PER_GIB_MONTH
        * math.ceil(node_seconds / 3600)
        / HOURS_PER_MONTH
    )
    return Estimate(
        run_nodes=(runs[0].nodes, runs[1].nodes),
        runs_usd=sum(run.cost_usd for run in runs),
        ceiling_usd=nodes_usd + volume_usd,
        monthly_fees=(
            f"DOCR basic registry ${REGISTRY_BASIC_USD_PER_MONTH:.2f}/month, if the account "
            "has no registry yet",
            f"Spaces subscription ${SPACES_SUBSCRIPTION_USD_PER_MONTH:.2f}/month, if the "
            "account has none yet",
        ),
    )


def describe(stack: str, backend: str, prices: PriceTable = DEFAULT_PRICES) -> str:
    """The plan as printed before the live test starts."""
    cost = estimate(prices)
    prefix = contract.resource_prefix(stack)
    lines = [
        f"live test: stack {stack} of project {contract.PROJECT}, state in {backend}",
        "creates, in region " + REGION + ":",
        f"  DOKS cluster {prefix} (free control plane), tagged {contract.stack_tag(stack)}",
        f"  system pool: {SYSTEM_NODE_COUNT} x {SYSTEM_NODE_SIZE}",
        f"  Spark pool: {NODE_SIZE}, autoscaling {SPARK_POOL_MIN_NODES}..{_max_nodes()} "
        "(created at min_nodes 0: the test reports whether DOKS scales it to zero)",
        f"  block storage volume for Prometheus: {PROMETHEUS_VOLUME_GIB} GiB",
        "  DOCR registry (or the account's) with the trainer image",
        "  Spaces bucket with the runs, models and event logs",
        "runs:",
        f"  1. {FIRST_EXECUTORS} executors ({cost.run_nodes[0]} Spark nodes), "
        f"data fraction {DATA_FRACTION}",
        f"  2. {SECOND_EXECUTORS} executors ({cost.run_nodes[1]} Spark nodes) after a second up",
        "then destroys the stack and checks DigitalOcean's API for leftovers.",
        f"hard time limit: {HARD_LIMIT_SECONDS // 60} min "
        f"(of which {DESTROY_RESERVE_SECONDS // 60} min reserved for the destroy)",
        f"estimated cost: ${cost.runs_usd:.2f} for the two runs, at most "
        f"${cost.ceiling_usd:.2f} if every node runs for the whole limit "
        f"(Droplet prices as of {prices.as_of}, {prices.source})",
        *(f"  plus {fee}" for fee in cost.monthly_fees),
    ]
    return "\n".join(lines)
