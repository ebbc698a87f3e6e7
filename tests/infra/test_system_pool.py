"""The system pool's fit rule counts every pod the platform puts there (issue 20, point 11)."""

from infra import history_server
from spark_runs import sizing


def test_the_history_servers_request_is_counted_on_the_system_pool() -> None:
    # The history server has no Spark-pool toleration, so it lands on the system pool.
    pod = sizing.SYSTEM_PODS["spark-history-server"]
    assert f"{pod.cpu_millis}m" == history_server.CPU_REQUEST
    assert pod.memory_mib == sizing.parse_spark_memory_mib(history_server.MEMORY.removesuffix("i"))


def test_a_pool_that_held_the_platform_without_the_history_server_needs_another_node() -> None:
    # Room for everything but the history server's 1 GiB on one node.
    others = sum(
        pod.memory_mib for name, pod in sizing.SYSTEM_PODS.items() if name != "spark-history-server"
    )
    roomy = sizing.NodeSize("test-2vcpu", 2, 4, 4000, others + sizing.DAEMONSET_MEMORY_MIB + 100)
    assert sizing.system_nodes_needed(roomy) == 2
