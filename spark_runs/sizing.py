"""How pods fit on the nodes of the two DigitalOcean Kubernetes pools.

One table of allocatable resources per droplet size slug and the fit rules built on it. The Spark
pool holds the driver and the executors of a run; the fixed system pool holds the platform
(spark-operator, Prometheus, Grafana and DOKS' own deployments). The stack settings use these
rules to reject pools that can never hold their pods, and the cost model uses them to count the
nodes a run needs, so both always agree.
"""

import math
import re
from dataclasses import dataclass

# DOKS reserves part of every node for the kubelet and the OS; these are the allocatable amounts
# DigitalOcean documents for Kubernetes worker nodes (checked 2026-11), per droplet size slug.
# Verify on a live cluster with:
#   kubectl get nodes -o custom-columns=CPU:.status.allocatable.cpu,MEM:.status.allocatable.memory


@dataclass(frozen=True)
class NodeSize:
    slug: str
    vcpus: int
    memory_gib: int
    allocatable_cpu_millis: int
    allocatable_memory_mib: int


NODE_SIZES: dict[str, NodeSize] = {
    size.slug: size
    for size in (
        NodeSize("s-1vcpu-2gb", 1, 2, 900, 1024),
        NodeSize("s-2vcpu-2gb", 2, 2, 1900, 1024),
        NodeSize("s-2vcpu-4gb", 2, 4, 1900, 2560),
        NodeSize("s-4vcpu-8gb", 4, 8, 3900, 6144),
        NodeSize("s-8vcpu-16gb", 8, 16, 7900, 13312),
        NodeSize("c-2", 2, 4, 1900, 2560),
        NodeSize("c-4", 4, 8, 3900, 6144),
        NodeSize("c-8", 8, 16, 7900, 13312),
        NodeSize("g-2vcpu-8gb", 2, 8, 1900, 6144),
        NodeSize("g-4vcpu-16gb", 4, 16, 3900, 13312),
        NodeSize("m-2vcpu-16gb", 2, 16, 1900, 13312),
    )
}

# Requests of the DaemonSets DOKS runs on every node (Cilium, CSI node plugin, do-node-agent,
# konnectivity agent); they come out of the allocatable amounts above before Spark gets any.
DAEMONSET_CPU_MILLIS = 250
DAEMONSET_MEMORY_MIB = 300

# Spark adds max(384 MiB, 10 %) of non-heap overhead to each driver and executor pod.
MIN_MEMORY_OVERHEAD_MIB = 384
MEMORY_OVERHEAD_FACTOR = 0.10

DRIVER_CORES = 1
DRIVER_MEMORY = "1g"

# Spark 4.0.4 refuses to start a driver or executor whose JVM reports less than 1.5 x its 300 MiB
# reserved memory, 450 MiB (UnifiedMemoryManager.getMaxMemory). The JVM reports less than -Xmx
# under the serial GC, which it picks in a pod below 1792 MiB or 2 CPUs: -Xmx465m reports
# 470351872 bytes (fails), -Xmx466m 472383488 (passes); docs/decisions.md has the measurements.
SPARK_MIN_SYSTEM_MEMORY_MIB = 450
MIN_HEAP_MIB = 466

_CPU_QUANTITY = re.compile(r"^(\d+(\.\d+)?)(m?)$")
_SPARK_MEMORY = re.compile(r"^(\d+)([kmgt]?)$", re.IGNORECASE)
_MIB_PER_UNIT = {"k": 1 / 1024, "m": 1, "": 1, "g": 1024, "t": 1024 * 1024}


def parse_spark_memory_mib(memory: str) -> int:
    """MiB in a Spark memory string such as ``512m`` or ``2g`` (no suffix means MiB, as Spark)."""
    match = _SPARK_MEMORY.match(memory.strip())
    if match is None:
        raise ValueError(
            f"{memory!r} is not a Spark memory size; use a number with k, m, g or t, e.g. 1g"
        )
    amount, unit = match.groups()
    return math.ceil(int(amount) * _MIB_PER_UNIT[unit.lower()])


def parse_cpu_millis(quantity: str) -> int:
    """Millicores in a Kubernetes CPU quantity such as ``800m``, ``1`` or ``0.5``."""
    match = _CPU_QUANTITY.match(quantity.strip())
    if match is None:
        raise ValueError(
            f"{quantity!r} is not a CPU quantity; use millicores such as 800m, or cores such as 1"
        )
    amount, _, milli = match.groups()
    return math.ceil(float(amount)) if milli else math.ceil(float(amount) * 1000)


def memory_overhead_mib(memory: str) -> int:
    return max(
        MIN_MEMORY_OVERHEAD_MIB, math.ceil(parse_spark_memory_mib(memory) * MEMORY_OVERHEAD_FACTOR)
    )


def pod_memory_mib(memory: str) -> int:
    """Memory a driver or executor pod requests: the JVM heap plus Spark's overhead."""
    return parse_spark_memory_mib(memory) + memory_overhead_mib(memory)


@dataclass(frozen=True)
class PodRequest:
    cpu_millis: int
    memory_mib: int


# What the system pool must hold, as pod requests. The spark-operator's are the ones
# infra/spark_operator_values.yaml sets (a test keeps them equal); the Prometheus and Grafana
# charts set none, so theirs are budgets for a single training platform's series and dashboards,
# and "doks-system" covers CoreDNS, the Cilium operator and the konnectivity server. Verify with:
#   kubectl top pods -A --sort-by=memory
SYSTEM_PODS: dict[str, PodRequest] = {
    "spark-operator-controller": PodRequest(100, 512),
    "spark-operator-webhook": PodRequest(50, 128),
    "prometheus-server": PodRequest(200, 1024),
    "prometheus-alertmanager": PodRequest(20, 64),
    "kube-state-metrics": PodRequest(20, 64),
    "prometheus-pushgateway": PodRequest(20, 32),
    "grafana": PodRequest(100, 256),
    "doks-system": PodRequest(200, 256),
    # The Spark history server (infra/history_server.py): no Spark-pool toleration, so it is here.
    "spark-history-server": PodRequest(100, 1024),
}


def system_nodes_needed(size: NodeSize) -> int:
    """Nodes of ``size`` that hold every system pod, packed first-fit by decreasing memory.

    Raises ValueError when one system pod fits on no node of this size.
    """
    free: list[tuple[int, int]] = []
    for name, pod in sorted(SYSTEM_PODS.items(), key=lambda item: -item[1].memory_mib):
        if pods_per_node(size, pod) == 0:
            raise ValueError(f"{name} needs more than a {size.slug} node has for pods")
        for index, (cpu, memory) in enumerate(free):
            if cpu >= pod.cpu_millis and memory >= pod.memory_mib:
                free[index] = (cpu - pod.cpu_millis, memory - pod.memory_mib)
                break
        else:
            free.append(
                (
                    schedulable_cpu_millis(size) - pod.cpu_millis,
                    schedulable_memory_mib(size) - pod.memory_mib,
                )
            )
    return len(free)


def spark_pod(cpu_millis: int, memory: str) -> PodRequest:
    """What a driver or executor pod requests: its CPU request and its heap plus overhead."""
    return PodRequest(cpu_millis=cpu_millis, memory_mib=pod_memory_mib(memory))


def schedulable_cpu_millis(size: NodeSize) -> int:
    return size.allocatable_cpu_millis - DAEMONSET_CPU_MILLIS


def schedulable_memory_mib(size: NodeSize) -> int:
    return size.allocatable_memory_mib - DAEMONSET_MEMORY_MIB


def pods_per_node(size: NodeSize, pod: PodRequest) -> int:
    """How many such pods one empty node can hold (0 when even one does not fit)."""
    return min(
        schedulable_cpu_millis(size) // pod.cpu_millis,
        schedulable_memory_mib(size) // pod.memory_mib,
    )


def nodes_needed(
    size: NodeSize, executor_instances: int, executor_cpu_millis: int, executor_memory: str
) -> int:
    """Nodes that hold the driver and every executor of one run, packed first-fit.

    Executors are packed by what they request (``executor_cpu_millis``, the operator's
    ``coreRequest``), not by their Spark cores. The driver takes a slot on the first node;
    executors fill the remaining room of each node before a new node is counted. Raises
    ValueError when an executor fits on no node of this size.
    """
    executor = spark_pod(executor_cpu_millis, executor_memory)
    driver = spark_pod(DRIVER_CORES * 1000, DRIVER_MEMORY)
    if pods_per_node(size, driver) == 0:
        raise ValueError(
            f"the driver needs {driver.cpu_millis}m CPU and {driver.memory_mib} MiB, but a "
            f"{size.slug} node has {schedulable_cpu_millis(size)}m CPU and "
            f"{schedulable_memory_mib(size)} MiB for pods"
        )
    per_empty_node = pods_per_node(size, executor)
    if per_empty_node == 0:
        raise ValueError(
            f"an executor needs {executor.cpu_millis}m CPU and {executor.memory_mib} MiB, but a "
            f"{size.slug} node has {schedulable_cpu_millis(size)}m CPU and "
            f"{schedulable_memory_mib(size)} MiB for pods"
        )
    beside_driver = min(
        max(schedulable_cpu_millis(size) - driver.cpu_millis, 0) // executor.cpu_millis,
        max(schedulable_memory_mib(size) - driver.memory_mib, 0) // executor.memory_mib,
    )
    remaining = max(executor_instances - beside_driver, 0)
    return 1 + math.ceil(remaining / per_empty_node)
