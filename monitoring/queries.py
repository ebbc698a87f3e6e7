"""The one catalogue of PromQL queries: dashboards, alert rules, the report and the tests read it.

Expressions carry Grafana-style variables so the same text serves both consumers:
`$application_id` (Spark's application id), `$namespace` (the Spark job namespace, cAdvisor panels)
and `$__rate_interval` (the window of `rate()`). `render()` fills them for Prometheus' HTTP API.
"""

from dataclasses import dataclass
from enum import StrEnum

from monitoring.spark_metrics import METRICS_NAMESPACE


class Source(StrEnum):
    """Where a query's series come from, which decides where it can return data."""

    SPARK_EXECUTORS = "spark-executors"  # /metrics/executors/prometheus/ on the driver
    SPARK_DRIVER = "spark-driver"  # /metrics/prometheus/ (PrometheusServlet sink) on the driver
    CADVISOR = "cadvisor"  # kubelet cAdvisor (+ kube-state-metrics): on a cluster only
    RESULTS = "results"  # run results pushed by the trainer to the Pushgateway


SPARK_SOURCES = (Source.SPARK_EXECUTORS, Source.SPARK_DRIVER)


@dataclass(frozen=True)
class Unit:
    grafana: str  # Grafana's unit id
    label: str  # axis label for the report


BYTES = Unit("bytes", "bytes")
SECONDS = Unit("s", "seconds")
RATIO = Unit("percentunit", "share (%)")
COUNT = Unit("short", "count")
CORES = Unit("short", "CPU cores")
TASKS_PER_SECOND = Unit("suffix: tasks/s", "tasks / second")
TIMES_MEAN = Unit("suffix: x mean", "busiest / mean")


@dataclass(frozen=True)
class Target:
    expr: str
    legend: str  # Grafana legend format, e.g. "executor {{executor_id}}"


@dataclass(frozen=True)
class Query:
    name: str
    title: str
    description: str
    unit: Unit
    source: Source
    targets: tuple[Target, ...]


APP = 'application_id=~"$application_id"'
RATE = "$__rate_interval"
SPARK_CONTAINERS = 'container=~"spark-kubernetes-driver|spark-kubernetes-executor"'
POD_SERIES = f'namespace="$namespace", {SPARK_CONTAINERS}'
DRIVER_METRIC_PREFIX = f"metrics_{METRICS_NAMESPACE}_driver_"

# The PrometheusServlet sink has no application label. Both endpoints are served by the same
# driver UI (same `instance`), so the executors endpoint's driver row lends its application_id.
_OF_APPLICATION = (
    " * on (instance) group_left (application_id) group by (instance, application_id) "
    f'(metrics_executor_totalCores{{executor_id="driver", {APP}}})'
)
# Executors that run tasks. In cluster mode the driver row has no task slots, yet reports task
# and GC time of its own (seen in a local-cluster run), which would skew task and GC panels.
_TASK_EXECUTORS = f"on (application_id, executor_id) metrics_executor_maxTasks{{{APP}}} > 0"


def _driver(metric: str) -> str:
    return f"{DRIVER_METRIC_PREFIX}{metric}{_OF_APPLICATION}"


def _per_executor(metric: str) -> str:
    return f"sum by (application_id, executor_id) ({metric}{{{APP}}})"


def _task_executors(metric: str) -> str:
    """`metric` of the executors with task slots only."""
    return f"{metric}{{{APP}}} and {_TASK_EXECUTORS}"


_PER_EXECUTOR = "executor {{executor_id}}"

# Nodes that run a Running pod of the job namespace (kube-state-metrics), so node capacity is
# counted for those nodes only and each node once.
_SPARK_NODES = (
    'and on (node) (kube_pod_info{namespace="$namespace"} * on (namespace, pod) group_left () '
    '(kube_pod_status_phase{namespace="$namespace", phase="Running"} == 1))'
)

CATALOGUE: tuple[Query, ...] = (
    # Executors endpoint: one series per application and executor.
    Query(
        "executors_alive",
        "Executors alive",
        "Executors with task slots registered with the driver.",
        COUNT,
        Source.SPARK_EXECUTORS,
        (
            Target(
                f"count by (application_id) (metrics_executor_maxTasks{{{APP}}} > 0)", "executors"
            ),
        ),
    ),
    Query(
        "active_tasks_vs_slots",
        "Active tasks vs task slots",
        "Tasks running now against the slots (cores) the executors offer.",
        COUNT,
        Source.SPARK_EXECUTORS,
        (
            Target(f"sum by (application_id) (metrics_executor_activeTasks{{{APP}}})", "active"),
            Target(f"sum by (application_id) (metrics_executor_maxTasks{{{APP}}})", "slots"),
        ),
    ),
    Query(
        "completed_task_share",
        "Completed-task share per executor",
        "Each executor's share of the application's completed tasks.",
        RATIO,
        Source.SPARK_EXECUTORS,
        (
            Target(
                "sum by (application_id, executor_id) "
                f"({_task_executors('metrics_executor_completedTasks_total')}) / "
                "on (application_id) group_left () sum by (application_id) "
                f"({_task_executors('metrics_executor_completedTasks_total')})",
                _PER_EXECUTOR,
            ),
        ),
    ),
    Query(
        "task_throughput",
        "Task throughput per executor",
        "Completed tasks per second.",
        TASKS_PER_SECOND,
        Source.SPARK_EXECUTORS,
        (
            Target(
                "sum by (application_id, executor_id) "
                f"(rate(metrics_executor_completedTasks_total{{{APP}}}[{RATE}]) "
                f"and {_TASK_EXECUTORS})",
                _PER_EXECUTOR,
            ),
        ),
    ),
    Query(
        "task_balance",
        "Task time balance across executors",
        "Task time of the busiest executor over the mean executor (1 = perfectly even).",
        TIMES_MEAN,
        Source.SPARK_EXECUTORS,
        (
            Target(
                "max by (application_id) "
                f"({_task_executors('metrics_executor_totalDuration_seconds_total')}) / "
                "avg by (application_id) "
                f"({_task_executors('metrics_executor_totalDuration_seconds_total')})",
                "busiest / mean",
            ),
        ),
    ),
    Query(
        "task_time",
        "Total task duration per executor",
        "Cumulative time spent running tasks.",
        SECONDS,
        Source.SPARK_EXECUTORS,
        (
            Target(
                "sum by (application_id, executor_id) "
                f"({_task_executors('metrics_executor_totalDuration_seconds_total')})",
                _PER_EXECUTOR,
            ),
        ),
    ),
    Query(
        "gc_time",
        "GC time per executor",
        "Cumulative JVM garbage-collection time during tasks.",
        SECONDS,
        Source.SPARK_EXECUTORS,
        (
            Target(
                "sum by (application_id, executor_id) "
                f"({_task_executors('metrics_executor_totalGCTime_seconds_total')})",
                _PER_EXECUTOR,
            ),
        ),
    ),
    Query(
        "gc_share",
        "GC time as a share of task time",
        "Above 10 % the executors need more memory (alert SparkHighGcShare).",
        RATIO,
        Source.SPARK_EXECUTORS,
        (
            Target(
                "sum by (application_id) "
                f"({_task_executors('metrics_executor_totalGCTime_seconds_total')}) / "
                "sum by (application_id) "
                f"({_task_executors('metrics_executor_totalDuration_seconds_total')})",
                "GC / task time",
            ),
        ),
    ),
    Query(
        "total_tasks",
        "Total tasks",
        "Tasks started by all executors (active, completed and failed).",
        COUNT,
        Source.SPARK_EXECUTORS,
        (Target(f"sum by (application_id) (metrics_executor_totalTasks_total{{{APP}}})", "tasks"),),
    ),
    Query(
        "failed_tasks",
        "Failed tasks",
        "Task attempts that failed.",
        COUNT,
        Source.SPARK_EXECUTORS,
        (
            Target(
                f"sum by (application_id) (metrics_executor_failedTasks_total{{{APP}}})",
                "failed tasks",
            ),
        ),
    ),
    Query(
        "peak_jvm_heap",
        "Peak JVM heap per executor",
        "Highest JVM heap use seen so far (Spark reports lifetime peaks here).",
        BYTES,
        Source.SPARK_EXECUTORS,
        (Target(_per_executor("metrics_executor_JVMHeapMemory_bytes"), _PER_EXECUTOR),),
    ),
    Query(
        "storage_memory",
        "On-heap storage memory per executor",
        "Memory holding cached blocks and broadcasts.",
        BYTES,
        Source.SPARK_EXECUTORS,
        (Target(_per_executor("metrics_executor_usedOnHeapStorageMemory_bytes"), _PER_EXECUTOR),),
    ),
    # Driver endpoint (PrometheusServlet sink), labelled with the application by _OF_APPLICATION.
    Query(
        "driver_jvm_heap",
        "Driver JVM heap",
        "Heap in use now against the heap limit (JvmSource).",
        BYTES,
        Source.SPARK_DRIVER,
        (
            Target(_driver("jvm_heap_used_Value"), "used"),
            Target(_driver("jvm_heap_max_Value"), "max"),
        ),
    ),
    Query(
        "stages",
        "Stages completed and failed",
        "Stages finished by the DAG scheduler (appStatus source).",
        COUNT,
        Source.SPARK_DRIVER,
        (
            Target(_driver("appStatus_stages_completedStages_Count"), "completed"),
            Target(_driver("appStatus_stages_failedStages_Count"), "failed"),
        ),
    ),
    Query(
        "jobs",
        "Spark jobs succeeded and failed",
        "Spark jobs (actions) finished by the application (appStatus source).",
        COUNT,
        Source.SPARK_DRIVER,
        (
            Target(_driver("appStatus_jobs_succeededJobs_Count"), "succeeded"),
            Target(_driver("appStatus_jobs_failedJobs_Count"), "failed"),
        ),
    ),
    # cAdvisor: container series only (container!="" and not the pause container), so a pod's
    # usage is not counted twice with its pod-level cgroup.
    Query(
        "cpu_by_pod",
        "CPU by pod",
        "CPU cores used by each Spark driver and executor container.",
        CORES,
        Source.CADVISOR,
        (
            Target(
                "sum by (namespace, pod) "
                f"(rate(container_cpu_usage_seconds_total{{{POD_SERIES}}}[{RATE}]))",
                "{{pod}}",
            ),
        ),
    ),
    Query(
        "memory_by_pod",
        "Working-set memory by pod",
        "Memory the kernel counts against each Spark container's limit.",
        BYTES,
        Source.CADVISOR,
        (
            Target(
                f"sum by (namespace, pod) (container_memory_working_set_bytes{{{POD_SERIES}}})",
                "{{pod}}",
            ),
        ),
    ),
    Query(
        "memory_share_of_nodes",
        "Spark memory as a share of node memory",
        "Working set of Spark containers over the memory of the nodes they run on.",
        RATIO,
        Source.CADVISOR,
        (
            Target(
                f"sum (container_memory_working_set_bytes{{{POD_SERIES}}}) / "
                f"sum (max by (node) (machine_memory_bytes) {_SPARK_NODES})",
                "Spark / node memory",
            ),
        ),
    ),
    Query(
        "cpu_share_of_nodes",
        "Spark CPU as a share of node cores",
        "CPU used by Spark containers over the cores of the nodes they run on.",
        RATIO,
        Source.CADVISOR,
        (
            Target(
                f"sum (rate(container_cpu_usage_seconds_total{{{POD_SERIES}}}[{RATE}])) / "
                f"sum (max by (node) (machine_cpu_cores) {_SPARK_NODES})",
                "Spark / node cores",
            ),
        ),
    ),
)

# Run results pushed by the trainer (one series per run, kept by the Pushgateway).
RUN_RESULT_METRICS: tuple[tuple[str, str], ...] = (
    ("spark_doks_run_executors", "Executors"),
    ("spark_doks_run_rows", "Rows"),
    ("spark_doks_run_accuracy", "Accuracy"),
    ("spark_doks_run_f1", "F1"),
    ("spark_doks_run_weighted_precision", "Precision"),
    ("spark_doks_run_weighted_recall", "Recall"),
    ("spark_doks_run_train_seconds", "Train seconds"),
    ("spark_doks_run_total_seconds", "Total seconds"),
)

RUNS = Query(
    "runs",
    "Training runs",
    "One row per run pushed by the trainer: the executors-vs-time table.",
    COUNT,
    Source.RESULTS,
    tuple(
        Target(f"max by (application_id, application_name) ({metric})", column)
        for metric, column in RUN_RESULT_METRICS
    ),
)

ALL_QUERIES: tuple[Query, ...] = (*CATALOGUE, RUNS)


def spark_queries() -> tuple[Query, ...]:
    """Queries answered by a Spark driver's own endpoints (locally and on a cluster)."""
    return tuple(query for query in CATALOGUE if query.source in SPARK_SOURCES)


def by_name(name: str) -> Query:
    for query in ALL_QUERIES:
        if query.name == name:
            return query
    raise KeyError(name)


def promql_string(value: str) -> str:
    """`value` as the inside of a double-quoted PromQL string."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def render(
    expr: str, *, application_id: str = ".+", namespace: str = "", rate_interval: str = "1m"
) -> str:
    """The expression with its Grafana variables filled in, ready for Prometheus.

    `application_id` is a regular expression (Grafana's multi-value variable): pass
    `re.escape(app_id)` for one application, ".+" for all.
    """
    return (
        expr.replace("$application_id", promql_string(application_id))
        .replace("$namespace", promql_string(namespace))
        .replace("$__rate_interval", rate_interval)
    )


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    duration: str  # how long the condition must hold ("for")
    summary: str


def _gc_share_of_all_applications() -> str:
    (target,) = by_name("gc_share").targets
    return render(target.expr)


ALERTS: tuple[Alert, ...] = (
    Alert(
        "SparkDriverFailed",
        "max by (namespace, pod, reason) (kube_pod_container_status_terminated_reason"
        '{container="spark-kubernetes-driver", reason!="Completed"}) > 0',
        "0m",
        "Spark driver {{ $labels.namespace }}/{{ $labels.pod }} terminated: {{ $labels.reason }}",
    ),
    Alert(
        "SparkApplicationFailed",
        "max (increase(spark_application_failure_count[10m])) > 0",
        "0m",
        "The spark-operator marked a SparkApplication as failed in the last 10 minutes",
    ),
    # An executor seen in the last 10 minutes that is gone while its application still runs.
    Alert(
        "SparkExecutorsLost",
        "count by (application_id) "
        '(last_over_time(metrics_executor_maxTasks{executor_id!="driver"}[10m])) > '
        'count by (application_id) (metrics_executor_maxTasks{executor_id!="driver"})',
        "1m",
        "Application {{ $labels.application_id }} lost executors",
    ),
    Alert(
        "SparkHighGcShare",
        f"{_gc_share_of_all_applications()} > 0.1",
        "2m",
        "Application {{ $labels.application_id }} spends "
        "{{ $value | humanizePercentage }} of task time in GC",
    ),
)
