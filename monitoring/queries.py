"""The one catalogue of PromQL queries: dashboards, alert rules, the report and the tests read it.

Expressions carry Grafana-style variables so the same text serves both consumers:
`$application_id` (Spark's application id), `$namespace` (the Spark job namespace, cAdvisor panels)
and `$__rate_interval` (the window of `rate()`). `render()` fills them for Prometheus' HTTP API.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from monitoring.scrape import SPARK_ENDPOINTS
from monitoring.spark_metrics import METRICS_NAMESPACE


class Source(StrEnum):
    """Where a query's series come from, which decides where it can return data."""

    SPARK_EXECUTORS = "spark-executors"  # /metrics/executors/prometheus/ on the driver
    SPARK_DRIVER = "spark-driver"  # /metrics/prometheus/ (PrometheusServlet sink) on the driver
    CADVISOR = "cadvisor"  # kubelet cAdvisor (+ kube-state-metrics for nodes): on a cluster only
    KUBE_STATE_METRICS = "kube-state-metrics"  # pod objects: on a cluster only
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
FINISHED_AT = Unit("dateTimeAsIso", "time")  # Grafana wants milliseconds since the epoch


def format_value(value: object, unit: Unit) -> str:
    """One runs-table cell as a person reads it outside Grafana (the demo, the results command)."""
    if unit is FINISHED_AT and isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if unit is SECONDS and isinstance(value, int | float):
        return f"{value:.1f} s"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


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
    # Only informative with several executors (e.g. balance across them); the local report
    # leaves it out and names it instead.
    cluster_only: bool = False


APP = 'application_id=~"$application_id"'
RATE = "$__rate_interval"
RANGE = "$__range"
SPARK_CONTAINERS = 'container=~"spark-kubernetes-driver|spark-kubernetes-executor"'
NAMESPACE = 'namespace="$namespace"'
POD_SERIES = f"{NAMESPACE}, {SPARK_CONTAINERS}"
EXECUTOR_CONTAINER = "spark-kubernetes-executor"
OOM_KILLED = f'{POD_SERIES}, reason="OOMKilled"'
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

# Spark sets spark-app-selector (the application id) on its driver and executor pods;
# kube-state-metrics exports it once allowed (infra/observability_prometheus_values.yaml).
POD_APPLICATION_LABEL = "label_spark_app_selector"
_POD_OF_APPLICATION = (
    f"label_replace(max by (namespace, pod, {POD_APPLICATION_LABEL}) "
    f'(kube_pod_labels{{{NAMESPACE}, {POD_APPLICATION_LABEL}=~"$application_id"}}), '
    '"application_id", "$1", '
    f'"{POD_APPLICATION_LABEL}", "(.+)")'
)
_OF_POD_APPLICATION = f" * on (namespace, pod) group_left (application_id) {_POD_OF_APPLICATION}"


# Dashboard variables. Applications seen in the range, latest first: Spark's application ids on
# Kubernetes are random, so their alphabetical order means nothing.
APPLICATIONS_LATEST_FIRST = (
    "query_result(sort_desc(max by (application_id) (max_over_time(timestamp("
    'metrics_executor_totalCores{executor_id="driver"})[$__range:]))))'
)
APPLICATION_ID_FROM_RESULT = '/application_id="([^"]+)"/'
JOB_NAMESPACES = (
    'label_values(kube_pod_container_info{container="spark-kubernetes-driver"}, namespace)'
)


def _driver(metric: str) -> str:
    return f"{DRIVER_METRIC_PREFIX}{metric}{_OF_APPLICATION}"


def _tasks_then_pushed(counter: str, pushed: str) -> str:
    """The driver's task counter while the UI serves it, then the final count the trainer pushed.

    The UI stops before the last tasks' counters are scraped (a quiet 16 s run ended the panel at
    98 of 201 tasks); the pushed count, lost executors included, is the run's own total.
    """
    return (
        f"sum by (application_id) ({_driver(counter)}) or on (application_id) "
        f"max by (application_id) ({pushed}{{{APP}}})"
    )


# Spark's activeTasks goes above the slots: a local[2] demo's driver row read 3 and 4 on 2 slots.
# A finished task's slot is freed and offered again before its result is deserialized
# (LocalSchedulerBackend's StatusUpdate; TaskResultGetter), so the listener sees the next task
# start before the previous one ends. Not a slot miscount, and only the executors endpoint is read.
_ACTIVE_TASKS_IN_SLOTS = (
    f"sum by (application_id) ((metrics_executor_activeTasks{{{APP}}} <= on (application_id, "
    f"executor_id) metrics_executor_maxTasks{{{APP}}}) or on (application_id, executor_id) "
    f"metrics_executor_maxTasks{{{APP}}})"
)


def _per_executor(metric: str) -> str:
    return f"sum by (application_id, executor_id) ({metric}{{{APP}}})"


def _per_application(metric: str) -> str:
    return f"sum by (application_id) ({metric}{{{APP}}})"


def _task_seconds(endpoint_metric: str, executor_source_metric: str, window: str = "") -> str:
    """Seconds of task (or task GC) time per application and executor, right in both modes.

    Cluster mode: the executors endpoint's rows of executors with task slots. Local mode: the
    driver runs the tasks, but its row's totalDuration is application uptime (it grew 6.1 s over
    6 idle s on pyspark 4.0.4) and its totalGCTime is the whole JVM's; the ExecutorSource Spark
    registers on the driver in local mode only counts task run and GC time in milliseconds.
    With `window`, the increase over that window instead of the running total.
    """

    def counted(selector: str) -> str:
        return f"increase({selector}[{window}])" if window else selector

    executors = counted(f'{endpoint_metric}{{{APP}, executor_id!="driver"}}')
    cluster = f"sum by (application_id, executor_id) ({executors} and {_TASK_EXECUTORS})"
    local_counter = counted(f"{DRIVER_METRIC_PREFIX}executor_{executor_source_metric}_Count")
    local = (
        f"label_replace(sum by (application_id) ({local_counter}{_OF_APPLICATION}) / 1000, "
        '"executor_id", "driver", "", "")'
    )
    return f"({cluster}) or ({local})"


_DURATION = "metrics_executor_totalDuration_seconds_total"
_GC = "metrics_executor_totalGCTime_seconds_total"
TASK_SECONDS = _task_seconds(_DURATION, "runTime")
TASK_GC_SECONDS = _task_seconds(_GC, "jvmGCTime")


def _gc_share(window: str = "") -> str:
    """GC time over task time per application, since the start or over `window`."""
    gc = _task_seconds(_GC, "jvmGCTime", window)
    task = _task_seconds(_DURATION, "runTime", window)
    return f"sum by (application_id) ({gc}) / sum by (application_id) ({task})"


PER_EXECUTOR = "{{application_id}} executor {{executor_id}}"
PER_POD = "{{application_id}} {{pod}}"


def _per_app(legend: str) -> str:
    return "{{application_id}} " + legend


# Nodes that run a Running pod of the selected applications (kube-state-metrics), so node
# capacity is counted for those nodes only and each node once.
_SPARK_NODES = (
    f"and on (node) (kube_pod_info{{{NAMESPACE}}} * on (namespace, pod) group_left () "
    f'(kube_pod_status_phase{{{NAMESPACE}, phase="Running"}} == 1){_OF_POD_APPLICATION})'
)


def _pod_seconds_after_creation(timestamp: str) -> str:
    """Seconds from each Spark pod's creation to `timestamp` (a kube-state-metrics selector)."""
    return (
        f"(max by (namespace, pod) ({timestamp}) - "
        f"max by (namespace, pod) (kube_pod_created{{{NAMESPACE}}})) "
        f"* on (namespace, pod) group_left (node) max by (namespace, pod, node) "
        f"(kube_pod_info{{{NAMESPACE}}}){_OF_POD_APPLICATION}"
    )


def _spark_pods(metric: str, container: str) -> str:
    return (
        f'max by (namespace, pod) ({metric}{{{NAMESPACE}, container="{container}"}})'
        f"{_OF_POD_APPLICATION}"
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
                f"count by (application_id) (metrics_executor_maxTasks{{{APP}}} > 0)",
                _per_app("executors"),
            ),
        ),
        cluster_only=True,
    ),
    Query(
        "active_tasks_vs_slots",
        "Active tasks vs task slots",
        "Tasks running now against the slots (cores) the executors offer. Spark counts a task "
        "active until the driver has processed its result, while its slot already runs the next "
        "one, so each executor's count is capped at its slots.",
        COUNT,
        Source.SPARK_EXECUTORS,
        (
            Target(_ACTIVE_TASKS_IN_SLOTS, _per_app("active")),
            Target(_per_application("metrics_executor_maxTasks"), _per_app("slots")),
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
                f"(metrics_executor_completedTasks_total{{{APP}}} and {_TASK_EXECUTORS}) / "
                "on (application_id) group_left () sum by (application_id) "
                f"(metrics_executor_completedTasks_total{{{APP}}} and {_TASK_EXECUTORS})",
                PER_EXECUTOR,
            ),
        ),
        cluster_only=True,
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
                PER_EXECUTOR,
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
                f"max by (application_id) ({TASK_SECONDS}) / "
                f"avg by (application_id) ({TASK_SECONDS})",
                _per_app("busiest / mean"),
            ),
        ),
        cluster_only=True,
    ),
    Query(
        "task_time",
        "Total task duration per executor",
        "Cumulative time spent running tasks.",
        SECONDS,
        Source.SPARK_EXECUTORS,
        (Target(TASK_SECONDS, PER_EXECUTOR),),
    ),
    Query(
        "gc_time",
        "GC time per executor",
        "Cumulative JVM garbage-collection time during tasks.",
        SECONDS,
        Source.SPARK_EXECUTORS,
        (Target(TASK_GC_SECONDS, PER_EXECUTOR),),
    ),
    Query(
        "gc_share",
        "GC time as a share of task time",
        "Above 10 % the executors need more memory (alert SparkHighGcShare).",
        RATIO,
        Source.SPARK_EXECUTORS,
        (Target(_gc_share(), _per_app("GC / task time")),),
    ),
    Query(
        "io_bytes",
        "Input and shuffle bytes",
        "Bytes read from input, and shuffled (written and read) by the application's tasks.",
        BYTES,
        Source.SPARK_EXECUTORS,
        (
            Target(
                _per_application("metrics_executor_totalInputBytes_bytes_total"), _per_app("input")
            ),
            Target(
                _per_application("metrics_executor_totalShuffleWrite_bytes_total"),
                _per_app("shuffle write"),
            ),
            Target(
                _per_application("metrics_executor_totalShuffleRead_bytes_total"),
                _per_app("shuffle read"),
            ),
        ),
    ),
    Query(
        "peak_jvm_heap",
        "Peak JVM heap per executor",
        "Highest JVM heap use seen so far (Spark reports lifetime peaks here).",
        BYTES,
        Source.SPARK_EXECUTORS,
        (Target(_per_executor("metrics_executor_JVMHeapMemory_bytes"), PER_EXECUTOR),),
    ),
    Query(
        "process_memory",
        "Peak off-heap, JVM RSS and Python RSS per executor",
        "Memory outside the heap that counts against the pod's limit: JVM off-heap, the JVM "
        "process tree's RSS and its Python workers' RSS (lifetime peaks; the Python workers are "
        "what gets PySpark pods OOM-killed).",
        BYTES,
        Source.SPARK_EXECUTORS,
        (
            Target(
                _per_executor("metrics_executor_JVMOffHeapMemory_bytes"), PER_EXECUTOR + " off-heap"
            ),
            Target(
                _per_executor("metrics_executor_ProcessTreeJVMRSSMemory_bytes"),
                PER_EXECUTOR + " JVM RSS",
            ),
            Target(
                _per_executor("metrics_executor_ProcessTreePythonRSSMemory_bytes"),
                PER_EXECUTOR + " Python RSS",
            ),
        ),
    ),
    Query(
        "storage_memory",
        "On-heap storage memory per executor",
        "Memory holding cached blocks and broadcasts.",
        BYTES,
        Source.SPARK_EXECUTORS,
        (Target(_per_executor("metrics_executor_usedOnHeapStorageMemory_bytes"), PER_EXECUTOR),),
    ),
    # Driver endpoint (PrometheusServlet sink), labelled with the application by _OF_APPLICATION.
    Query(
        "driver_jvm_heap",
        "Driver JVM heap",
        "Heap in use now against the heap limit (JvmSource).",
        BYTES,
        Source.SPARK_DRIVER,
        (
            Target(_driver("jvm_heap_used_Value"), _per_app("used")),
            Target(_driver("jvm_heap_max_Value"), _per_app("max")),
        ),
    ),
    # The driver's appStatus counters keep the tasks of executors that were lost since; the
    # executors endpoint drops a lost executor's row and, with it, its tasks.
    Query(
        "total_tasks",
        "Tasks finished",
        "Tasks completed, failed and killed, counted by the driver (appStatus source), "
        "including those of lost executors; after the run, the final counts the trainer pushed.",
        COUNT,
        Source.SPARK_DRIVER,
        (
            Target(
                _tasks_then_pushed(
                    "appStatus_tasks_completedTasks_Count", "spark_doks_run_completed_tasks"
                ),
                _per_app("completed"),
            ),
            Target(
                _tasks_then_pushed(
                    "appStatus_tasks_failedTasks_Count", "spark_doks_run_failed_tasks"
                ),
                _per_app("failed"),
            ),
            Target(
                f"sum by (application_id) ({_driver('appStatus_tasks_killedTasks_Count')})",
                _per_app("killed"),
            ),
        ),
    ),
    Query(
        "failed_tasks",
        "Failed tasks",
        "Task attempts that failed, including those of lost executors (appStatus source); after "
        "the run, the final count the trainer pushed.",
        COUNT,
        Source.SPARK_DRIVER,
        (
            Target(
                _tasks_then_pushed(
                    "appStatus_tasks_failedTasks_Count", "spark_doks_run_failed_tasks"
                ),
                _per_app("failed tasks"),
            ),
        ),
    ),
    Query(
        "stages",
        "Stages completed and failed",
        "Stages finished by the DAG scheduler (appStatus source).",
        COUNT,
        Source.SPARK_DRIVER,
        (
            Target(_driver("appStatus_stages_completedStages_Count"), _per_app("completed")),
            Target(_driver("appStatus_stages_failedStages_Count"), _per_app("failed")),
        ),
    ),
    Query(
        "jobs",
        "Spark jobs succeeded and failed",
        "Spark jobs (actions) finished by the application (appStatus source).",
        COUNT,
        Source.SPARK_DRIVER,
        (
            Target(_driver("appStatus_jobs_succeededJobs_Count"), _per_app("succeeded")),
            Target(_driver("appStatus_jobs_failedJobs_Count"), _per_app("failed")),
        ),
    ),
    # kube-state-metrics: the pods of the selected applications, by their spark-app-selector.
    Query(
        "pod_startup",
        "Pod scheduling and start after creation",
        "Seconds from each Spark pod's creation to being scheduled and to its container "
        "starting, with its node. Long scheduling on an autoscaling pool is the wait for a node.",
        SECONDS,
        Source.KUBE_STATE_METRICS,
        (
            Target(
                _pod_seconds_after_creation(f"kube_pod_status_scheduled_time{{{NAMESPACE}}}"),
                PER_POD + " scheduled on {{node}}",
            ),
            Target(
                _pod_seconds_after_creation(f"kube_pod_container_state_started{{{POD_SERIES}}}"),
                PER_POD + " started on {{node}}",
            ),
        ),
    ),
    Query(
        "submission_to_executors_running",
        "Submission to all executors running",
        "Seconds from the driver pod's creation to the last executor container starting: the "
        "wait the sweep's time and cost on an autoscaling pool depend on.",
        SECONDS,
        Source.KUBE_STATE_METRICS,
        (
            Target(
                "max by (application_id) ("
                f"{_spark_pods('kube_pod_container_state_started', EXECUTOR_CONTAINER)}) - "
                "min by (application_id) "
                f"(max by (namespace, pod) (kube_pod_created{{{NAMESPACE}}}) * on (namespace, pod) "
                f"group_left () max by (namespace, pod) (kube_pod_container_info{{{NAMESPACE}, "
                f'container="spark-kubernetes-driver"}}){_OF_POD_APPLICATION})',
                _per_app("submission to all executors running"),
            ),
        ),
    ),
    Query(
        "oom_killed",
        "OOM-killed Spark containers",
        "Driver and executor containers the kernel killed for exceeding their memory limit.",
        COUNT,
        Source.KUBE_STATE_METRICS,
        (
            Target(
                "count by (application_id) (((max by (namespace, pod) "
                f"(kube_pod_container_status_terminated_reason{{{OOM_KILLED}}}) "
                "or max by (namespace, pod) (kube_pod_container_status_last_terminated_reason"
                f"{{{OOM_KILLED}}})) == 1){_OF_POD_APPLICATION})",
                _per_app("OOM-killed containers"),
            ),
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
                f"(rate(container_cpu_usage_seconds_total{{{POD_SERIES}}}[{RATE}]))"
                f"{_OF_POD_APPLICATION}",
                PER_POD,
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
                f"sum by (namespace, pod) (container_memory_working_set_bytes{{{POD_SERIES}}})"
                f"{_OF_POD_APPLICATION}",
                PER_POD,
            ),
        ),
    ),
    Query(
        "memory_share_of_limit",
        "Memory headroom: working set as a share of the limit",
        "Near 100 % the container is about to be OOM-killed; raise spark.executor.memoryOverhead "
        "(Python workers and off-heap memory live there).",
        RATIO,
        Source.CADVISOR,
        (
            Target(
                f"(max by (namespace, pod) (container_memory_working_set_bytes{{{POD_SERIES}}}) / "
                "max by (namespace, pod) "
                f"(container_spec_memory_limit_bytes{{{POD_SERIES}}} > 0)){_OF_POD_APPLICATION}",
                PER_POD,
            ),
        ),
    ),
    Query(
        "cpu_throttling",
        "CPU throttling",
        "Share of CFS periods in which each Spark container was throttled at its CPU limit.",
        RATIO,
        Source.CADVISOR,
        (
            Target(
                "(sum by (namespace, pod) "
                f"(rate(container_cpu_cfs_throttled_periods_total{{{POD_SERIES}}}[{RATE}])) / "
                "sum by (namespace, pod) "
                f"(rate(container_cpu_cfs_periods_total{{{POD_SERIES}}}[{RATE}])))"
                f"{_OF_POD_APPLICATION}",
                PER_POD,
            ),
        ),
    ),
    Query(
        "memory_share_of_nodes",
        "Spark memory as a share of node memory",
        "Working set of the selected applications' containers over the memory of their nodes.",
        RATIO,
        Source.CADVISOR,
        (
            Target(
                "sum (sum by (namespace, pod) "
                f"(container_memory_working_set_bytes{{{POD_SERIES}}}){_OF_POD_APPLICATION}) / "
                f"sum (max by (node) (machine_memory_bytes) {_SPARK_NODES})",
                "Spark / node memory",
            ),
        ),
    ),
    Query(
        "cpu_share_of_nodes",
        "Spark CPU as a share of node cores",
        "CPU used by the selected applications' containers over the cores of their nodes.",
        RATIO,
        Source.CADVISOR,
        (
            Target(
                "sum (sum by (namespace, pod) "
                f"(rate(container_cpu_usage_seconds_total{{{POD_SERIES}}}[{RATE}]))"
                f"{_OF_POD_APPLICATION}) / "
                f"sum (max by (node) (machine_cpu_cores) {_SPARK_NODES})",
                "Spark / node cores",
            ),
        ),
    ),
)


def _final_or_over_range(pushed: str, scraped: str) -> str:
    """The value the trainer pushed at the end of the run, else the highest scraped in range.

    The UI stops before the last tasks' counters are scraped, so only the push has final values.
    """
    return (
        f"max by (application_id) (last_over_time({pushed}{{{APP}}}[{RANGE}])) or "
        f"sum by (application_id) (max_over_time({scraped}{{{APP}}}[{RANGE}]))"
    )


# One figure per application over the dashboard's range: the max or increase over the range, so
# scrape gaps (and a last scrape that missed the end) do not hide it.
SUMMARY: tuple[Query, ...] = (
    Query(
        "summary_completed_tasks",
        "Completed tasks",
        "Tasks completed by the run (final count pushed by the trainer; while it runs, the "
        "highest count scraped, lost executors included).",
        COUNT,
        Source.SPARK_EXECUTORS,
        (
            Target(
                _final_or_over_range(
                    "spark_doks_run_completed_tasks", "metrics_executor_completedTasks_total"
                ),
                "{{application_id}}",
            ),
        ),
    ),
    Query(
        "summary_failed_tasks",
        "Failed tasks",
        "Task attempts that failed (final count pushed by the trainer, else scraped).",
        COUNT,
        Source.SPARK_EXECUTORS,
        (
            Target(
                _final_or_over_range(
                    "spark_doks_run_failed_tasks", "metrics_executor_failedTasks_total"
                ),
                "{{application_id}}",
            ),
        ),
    ),
    Query(
        "summary_executors",
        "Most executors alive",
        "Highest number of executors with task slots at any scrape in range.",
        COUNT,
        Source.SPARK_EXECUTORS,
        (
            Target(
                "max by (application_id) (max_over_time((count by (application_id) "
                f"(metrics_executor_maxTasks{{{APP}}} > 0))[{RANGE}:]))",
                "{{application_id}}",
            ),
        ),
    ),
    Query(
        "summary_gc_share",
        "GC share of task time",
        "GC time over task time across the range.",
        RATIO,
        Source.SPARK_EXECUTORS,
        (Target(_gc_share(RANGE), "{{application_id}}"),),
    ),
)


@dataclass(frozen=True)
class RunColumn:
    metric: str
    title: str
    unit: Unit


# Run results pushed by the trainer (one series per run, kept by the Pushgateway).
RUN_RESULT_METRICS: tuple[RunColumn, ...] = (
    RunColumn("spark_doks_run_finished_timestamp_seconds", "Finished", FINISHED_AT),
    RunColumn("spark_doks_run_executors", "Executors", COUNT),
    RunColumn("spark_doks_run_executor_wait_seconds", "Executor wait", SECONDS),
    RunColumn("spark_doks_run_executors_lost", "Executors lost", COUNT),
    RunColumn("spark_doks_run_rows", "Rows", COUNT),
    RunColumn("spark_doks_run_accuracy", "Accuracy", RATIO),
    RunColumn("spark_doks_run_f1", "F1", RATIO),
    RunColumn("spark_doks_run_weighted_precision", "Precision", RATIO),
    RunColumn("spark_doks_run_weighted_recall", "Recall", RATIO),
    RunColumn("spark_doks_run_train_seconds", "Train time", SECONDS),
    RunColumn("spark_doks_run_total_seconds", "Total time", SECONDS),
    RunColumn("spark_doks_run_completed_tasks", "Completed tasks", COUNT),
    RunColumn("spark_doks_run_failed_tasks", "Failed tasks", COUNT),
)
RUN_KEY = "by (application_id, application_name)"
FINISHED = "spark_doks_run_finished_timestamp_seconds"
RUN_STARTED_MS = "Started (ms)"
RUN_FINISHED_MS = "Finished (ms)"


def _run_value(metric: str) -> str:
    # Over the dashboard's range rather than at its end: the row stays while the range covers it.
    return f"max {RUN_KEY} (last_over_time({metric}[{RANGE}]))"


RUNS = Query(
    "runs",
    "Training runs",
    "One row per run pushed by the trainer: the executors-vs-time table.",
    COUNT,
    Source.RESULTS,
    (
        *(
            Target(
                f"{_run_value(column.metric)} * 1000"
                if column.unit is FINISHED_AT
                else _run_value(column.metric),
                column.title,
            )
            for column in RUN_RESULT_METRICS
        ),
        # The run's time range in ms, for the link to its application dashboard.
        Target(
            f"({_run_value(FINISHED)} - {_run_value('spark_doks_run_total_seconds')}) * 1000",
            RUN_STARTED_MS,
        ),
        Target(f"{_run_value(FINISHED)} * 1000", RUN_FINISHED_MS),
    ),
)

ALL_QUERIES: tuple[Query, ...] = (*CATALOGUE, *SUMMARY, RUNS)


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
    expr: str,
    *,
    application_id: str = ".+",
    namespace: str = "",
    rate_interval: str = "1m",
    time_range: str = "1h",
) -> str:
    """The expression with its Grafana variables filled in, ready for Prometheus.

    `application_id` is a regular expression (Grafana's multi-value variable): pass
    `re.escape(app_id)` for one application, ".+" for all.
    """
    return (
        expr.replace("$application_id", promql_string(application_id))
        .replace("$namespace", promql_string(namespace))
        .replace("$__rate_interval", rate_interval)
        .replace("$__range", time_range)
    )


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    duration: str  # how long the condition must hold ("for")
    summary: str


_EXECUTOR_SLOTS = 'metrics_executor_maxTasks{executor_id!="driver"}'
LOST_EXECUTOR_WINDOW = "5m"
GC_SHARE_WINDOW = "1m"
DRIVER_FAILED_WINDOW = "30m"
# kube-state-metrics exports the operator's pod label once allowed (see POD_APPLICATION_LABEL).
SPARK_APPLICATION_LABEL = "label_sparkoperator_k8s_io_app_name"

# Weekly node recycling re-pulls the trainer, so pull credentials that expire break an idle
# stack's history server and next run: warn this long before, while `pulumi up` still fixes it.
PULL_CREDENTIALS_WARNING_DAYS = 14


def pull_credentials_alert(expires_at: datetime) -> Alert:
    """Fires from ``PULL_CREDENTIALS_WARNING_DAYS`` before the stack's pull credentials expire."""
    warn_from = expires_at.timestamp() - PULL_CREDENTIALS_WARNING_DAYS * 86400
    return Alert(
        "RegistryPullCredentialsExpiring",
        f"vector(time()) > {warn_from:.0f}",
        "0m",
        f"The registry pull credentials expire at {expires_at:%Y-%m-%d %H:%M} UTC; after that "
        "pods cannot pull the trainer (ImagePullBackOff). Run `pulumi up` on this stack: it "
        "renews them",
    )


ALERTS: tuple[Alert, ...] = (
    # One alert per SparkApplication however many attempts fail: each retry is a new driver pod
    # (and a new Spark application id), so the failure is remembered over a window.
    Alert(
        "SparkDriverFailed",
        "max by (namespace, spark_application) ("
        f"max_over_time(kube_pod_container_status_terminated_reason"
        f'{{container="spark-kubernetes-driver", reason!="Completed"}}[{DRIVER_FAILED_WINDOW}]) '
        "* on (namespace, pod) group_left (spark_application) "
        f"label_replace(max by (namespace, pod, {SPARK_APPLICATION_LABEL}) (max_over_time("
        f'kube_pod_labels{{{SPARK_APPLICATION_LABEL}!=""}}[{DRIVER_FAILED_WINDOW}])), '
        f'"spark_application", "$1", "{SPARK_APPLICATION_LABEL}", "(.+)")) > 0',
        "0m",
        "SparkApplication {{ $labels.namespace }}/{{ $labels.spark_application }}: "
        "a driver terminated abnormally",
    ),
    # The operator creates the counter on its first failure, so after a (re)start the series
    # appears at 1 and increase() over it is 0: a series new within the window counts too.
    Alert(
        "SparkApplicationFailed",
        "max ((spark_application_failure_count unless spark_application_failure_count "
        "offset 10m) or increase(spark_application_failure_count[10m])) > 0",
        "0m",
        "The spark-operator marked a SparkApplication as failed in the last 10 minutes",
    ),
    # An executor seen in the window that is gone while its driver still serves metrics, unless
    # as many executors are back as at any time in the window (it was replaced).
    Alert(
        "SparkExecutorsLost",
        "count by (application_id) ("
        f"last_over_time({_EXECUTOR_SLOTS}[{LOST_EXECUTOR_WINDOW}]) "
        "unless metrics_executor_maxTasks) "
        'and on (application_id) metrics_executor_maxTasks{executor_id="driver"} '
        f"unless on (application_id) (count by (application_id) ({_EXECUTOR_SLOTS}) >= "
        f"max_over_time(count by (application_id) ({_EXECUTOR_SLOTS})[{LOST_EXECUTOR_WINDOW}:]))",
        "0m",
        "Application {{ $labels.application_id }} lost executors",
    ),
    # Over a short window, so a burst of GC in a run of a few minutes shows.
    Alert(
        "SparkHighGcShare",
        f"{render(_gc_share(GC_SHARE_WINDOW))} > 0.1",
        "30s",
        "Application {{ $labels.application_id }} spends "
        "{{ $value | humanizePercentage }} of task time in GC",
    ),
    # A Running driver pod that Prometheus does not scrape on both endpoints: a NetworkPolicy
    # that no longer admits Prometheus, or discovery whose pod-label assumption broke.
    Alert(
        "SparkMetricsScrapeFailing",
        "max by (namespace, pod) ("
        'kube_pod_container_info{container="spark-kubernetes-driver"} '
        "* on (namespace, pod) group_left () "
        '(max by (namespace, pod) (kube_pod_status_phase{phase="Running"}) == 1)) '
        "unless on (namespace, pod) (count by (namespace, pod) "
        f'(up{{job=~"{"|".join(SPARK_ENDPOINTS)}"}} == 1) == {len(SPARK_ENDPOINTS)})',
        "1m",
        "Prometheus cannot scrape Spark driver {{ $labels.namespace }}/{{ $labels.pod }}",
    ),
)
