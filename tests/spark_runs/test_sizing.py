import pytest
import yaml

from infra.spark import OPERATOR_VALUES_FILE
from spark_runs.sizing import (
    NODE_SIZES,
    SYSTEM_PODS,
    nodes_needed,
    parse_cpu_millis,
    parse_spark_memory_mib,
    pod_memory_mib,
    schedulable_memory_mib,
    system_nodes_needed,
)


@pytest.mark.parametrize(
    ("memory", "mib"),
    [("512m", 512), ("1g", 1024), ("2G", 2048), ("1536", 1536), ("1048576k", 1024)],
)
def test_parses_spark_memory_notation(memory: str, mib: int) -> None:
    assert parse_spark_memory_mib(memory) == mib


@pytest.mark.parametrize("memory", ["", "1gb", "-1g", "one"])
def test_rejects_what_spark_would_not_accept(memory: str) -> None:
    with pytest.raises(ValueError, match=r"e\.g\. 1g"):
        parse_spark_memory_mib(memory)


def test_pod_memory_adds_spark_overhead() -> None:
    assert pod_memory_mib("1g") == 1024 + 384  # the 384 MiB floor
    assert pod_memory_mib("8g") == 8192 + 820  # 10 % above the floor, rounded up


def test_one_whole_core_executor_per_small_node_next_to_nothing_else() -> None:
    # s-2vcpu-4gb: 1650m and 2260 MiB for pods; a 1000m 1g executor (1408 MiB) fits once.
    size = NODE_SIZES["s-2vcpu-4gb"]
    assert nodes_needed(size, 1, 1000, "1g") == 2  # the driver fills the first node
    assert nodes_needed(size, 4, 1000, "1g") == 5


def test_executors_share_the_driver_node_when_there_is_room() -> None:
    # s-4vcpu-8gb: 3650m, 5844 MiB; driver 1000m/1408 MiB leaves room for two more 1-core pods.
    size = NODE_SIZES["s-4vcpu-8gb"]
    assert nodes_needed(size, 2, 1000, "1g") == 1
    assert nodes_needed(size, 3, 1000, "1g") == 2
    assert nodes_needed(size, 8, 1000, "1g") == 3


def test_executor_larger_than_any_node_is_named_with_numbers() -> None:
    with pytest.raises(ValueError, match=r"2000m CPU and 2432 MiB.*s-2vcpu-4gb node has 1650m CPU"):
        nodes_needed(NODE_SIZES["s-2vcpu-4gb"], 1, 2000, "2g")


def test_system_pool_counts_the_operator_requests_its_chart_values_set() -> None:
    values = yaml.safe_load(OPERATOR_VALUES_FILE.read_text())
    for part in ("controller", "webhook"):
        requests = values[part]["resources"]["requests"]
        pod = SYSTEM_PODS[f"spark-operator-{part}"]
        assert f"{pod.cpu_millis}m" == requests["cpu"]
        assert f"{pod.memory_mib}Mi" == requests["memory"]


def test_system_pods_spill_onto_a_second_node_when_one_cannot_hold_them() -> None:
    small, large = NODE_SIZES["s-2vcpu-4gb"], NODE_SIZES["s-4vcpu-8gb"]
    total_memory = sum(pod.memory_mib for pod in SYSTEM_PODS.values())
    assert system_nodes_needed(small) == -(-total_memory // schedulable_memory_mib(small))
    assert system_nodes_needed(large) == 1


def test_a_system_pod_that_fits_no_node_is_reported() -> None:
    with pytest.raises(ValueError, match="prometheus-server"):
        system_nodes_needed(NODE_SIZES["s-1vcpu-2gb"])


@pytest.mark.parametrize(("quantity", "millis"), [("800m", 800), ("1", 1000), ("0.5", 500)])
def test_parses_kubernetes_cpu_quantities(quantity: str, millis: int) -> None:
    assert parse_cpu_millis(quantity) == millis


@pytest.mark.parametrize("quantity", ["", "1 core", "-1", "800M"])
def test_rejects_what_is_not_a_cpu_quantity(quantity: str) -> None:
    with pytest.raises(ValueError, match="800m"):
        parse_cpu_millis(quantity)


def test_executors_requesting_less_than_a_core_share_a_small_node() -> None:
    # 800m and 640m (1024 MiB with overhead): two per 1650m / 2260 MiB node, by CPU and memory.
    size = NODE_SIZES["s-2vcpu-4gb"]
    assert nodes_needed(size, 4, 800, "640m") == 1 + 2  # the driver's node, then two per node
    assert nodes_needed(size, 4, 1000, "640m") == 1 + 4  # a whole core each: one per node
    assert nodes_needed(size, 4, 800, "1g") == 1 + 4  # 1408 MiB each: memory allows one
