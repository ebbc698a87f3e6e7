"""Two real local training runs scraped by one real Prometheus, with a real Pushgateway.

Run "cluster" uses `local-cluster` (two executor JVMs besides the driver, as on Kubernetes), run
"local" uses `local[2]` (the driver runs the tasks, as in `make demo`). Every Spark query of the
catalogue must return data for each, the two must not be confused on any panel, the runs table
must keep both after the Pushgateway restarts with the chart's persistence, and the report must
draw one panel per Spark query.
"""

import json
import re
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from infra.observability import prometheus_values
from monitoring import local_stack, prometheus_api
from monitoring.demo import ObservedRun, Scraping, generate_data, train_scraped
from monitoring.queries import (
    ALERTS,
    APPLICATION_ID_FROM_RESULT,
    APPLICATIONS_LATEST_FIRST,
    FINISHED_AT,
    RUN_RESULT_METRICS,
    RUNS,
    SUMMARY,
    by_name,
    render,
    spark_queries,
)
from monitoring.report import (
    PNG_LEFT_OUT_KEY,
    PNG_PANELS_KEY,
    application_time_range,
    collect,
    legend_text,
    make_report,
)
from monitoring.scrape import PUSHGATEWAY_JOB, local_prometheus_config
from tests.prometheus_tools import require_chart_version

pytestmark = pytest.mark.slow

ROWS = 5_000
CLUSTER_MASTER = "local-cluster[2,1,1024]"
CLUSTER_EXECUTORS = {"0", "1"}
# Memory panels show the driver too; task panels only executors that run tasks (in local mode
# that is the driver).
WITH_DRIVER = {"peak_jvm_heap", "storage_memory", "process_memory"}
# Short on purpose (see docs/decisions.md): each run lasts tens of seconds.
SCRAPE_INTERVAL = "1s"


@dataclass
class Stack:
    workdir: Path
    prometheus: str
    pushgateway: str
    pushgateway_port: int
    persistence_file: Path
    services: ExitStack
    runs: dict[str, ObservedRun]


def chart_persistence_file(directory: Path) -> Path:
    """The chart's --persistence.file, moved from its volume's mount path into `directory`."""
    values = prometheus_values("spark-jobs", "spark-operator", alerting=False)
    pushgateway = values["prometheus-pushgateway"]
    (flag,) = [arg for arg in pushgateway["extraArgs"] if arg.startswith("--persistence.file=")]
    in_volume = Path(flag.removeprefix("--persistence.file="))
    return directory / in_volume.relative_to(pushgateway["persistentVolume"]["mountPath"])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    prometheus_binary = require_chart_version("prometheus")
    pushgateway_binary = require_chart_version("pushgateway")
    workdir = tmp_path_factory.mktemp("end-to-end")
    data = generate_data(workdir, ROWS)
    ui_ports = {"cluster": local_stack.free_port(), "local": local_stack.free_port()}
    gateway_port = local_stack.free_port()
    persistence = chart_persistence_file(workdir)
    with ExitStack() as services:
        pushgateway = services.enter_context(
            local_stack.pushgateway(pushgateway_binary, gateway_port, persistence)
        )
        config = local_prometheus_config(
            [f"{local_stack.LOOPBACK}:{port}" for port in ui_ports.values()],
            f"{local_stack.LOOPBACK}:{gateway_port}",
            SCRAPE_INTERVAL,
        )
        prometheus = services.enter_context(local_stack.prometheus(config, prometheus_binary))
        scraping = Scraping(prometheus, pushgateway, SCRAPE_INTERVAL)
        masters = {"cluster": CLUSTER_MASTER, "local": "local[2]"}
        runs = {
            name: train_scraped(
                workdir / name,
                workdir / f"{name}.log",
                data,
                ui_ports[name],
                scraping,
                ("--master", master),
            )
            for name, master in masters.items()
        }
        yield Stack(workdir, prometheus, pushgateway, gateway_port, persistence, services, runs)


def expected_executors(mode: str, query: str) -> set[str]:
    if mode == "local":
        return {"driver"}
    return CLUSTER_EXECUTORS | {"driver"} if query in WITH_DRIVER else CLUSTER_EXECUTORS


def series_of(stack: Stack, expr_template: str, application_id: str) -> list[prometheus_api.Series]:
    time_range = application_time_range(stack.prometheus, application_id)
    expr = render(
        expr_template,
        application_id=re.escape(application_id),
        rate_interval=time_range.rate_window,
    )
    return prometheus_api.query_range(
        stack.prometheus, expr, time_range.start, time_range.end, time_range.step
    )


@pytest.mark.parametrize("mode", ["cluster", "local"])
@pytest.mark.parametrize(
    ("name", "target_index"),
    [(query.name, index) for query in spark_queries() for index in range(len(query.targets))],
)
def test_every_spark_query_returns_data_for_each_run(
    stack: Stack, mode: str, name: str, target_index: int
) -> None:
    run = stack.runs[mode]
    expr = by_name(name).targets[target_index].expr
    series = series_of(stack, expr, run.application_id)
    assert series, f"{name}: no series for {run.application_id}: {expr}"
    assert {item.labels.get("application_id") for item in series} == {run.application_id}
    executors = {item.labels["executor_id"] for item in series if "executor_id" in item.labels}
    if executors:
        assert executors == expected_executors(mode, name)


def test_two_runs_give_distinct_series_and_legends_on_every_spark_panel(stack: Stack) -> None:
    applications = {run.application_id for run in stack.runs.values()}
    start = min(application_time_range(stack.prometheus, a).start for a in applications)
    end = max(application_time_range(stack.prometheus, a).end for a in applications)
    for query in spark_queries():
        legends = []
        for target in query.targets:
            expr = render(target.expr, rate_interval="4s")  # every application
            series = prometheus_api.query_range(stack.prometheus, expr, start, end, 1.0)
            assert {item.labels["application_id"] for item in series} == applications, query.name
            legends += [legend_text(target.legend, item.labels) for item in series]
        assert len(legends) == len(set(legends)), f"{query.name}: {legends}"
        for application_id in applications:
            assert any(application_id in legend for legend in legends), query.name


def test_the_application_variable_lists_the_latest_run_first(stack: Stack) -> None:
    inner = APPLICATIONS_LATEST_FIRST.removeprefix("query_result(").removesuffix(")")
    result = prometheus_api.query(stack.prometheus, render(inner, time_range="1h"))
    # Grafana applies the variable's regex to each result as text: {labels} value timestamp.
    texts = [
        "{" + ", ".join(f'{key}="{value}"' for key, value in item.labels.items()) + "}"
        for item in result
    ]
    listed = [re.search(APPLICATION_ID_FROM_RESULT.strip("/"), text) for text in texts]
    # The "local" run was trained after the "cluster" one.
    assert [match.group(1) for match in listed if match] == [
        stack.runs["local"].application_id,
        stack.runs["cluster"].application_id,
    ]


def test_process_tree_memory_is_reported(stack: Stack) -> None:
    (jvm_rss,) = [t for t in by_name("process_memory").targets if "JVMRSS" in t.expr]
    series = series_of(stack, jvm_rss.expr, stack.runs["cluster"].application_id)
    assert all(max(value for _, value in item.points) > 0 for item in series)


def test_local_mode_task_time_is_not_uptime(stack: Stack) -> None:
    # With two task slots, task time cannot exceed twice the application's lifetime; the driver
    # row's totalDuration (the old figure) is the lifetime itself and keeps growing when idle.
    run = stack.runs["local"]
    (target,) = by_name("task_time").targets
    (series,) = series_of(stack, target.expr, run.application_id)
    final_task_seconds = series.points[-1][1]
    time_range = application_time_range(stack.prometheus, run.application_id)
    (uptime,) = series_of(
        stack,
        'metrics_executor_totalDuration_seconds_total{executor_id="driver", '
        'application_id=~"$application_id"}',
        run.application_id,
    )
    assert 0 < final_task_seconds < uptime.points[-1][1]
    assert final_task_seconds <= 2 * (time_range.end - time_range.start)


@pytest.mark.parametrize("mode", ["cluster", "local"])
def test_summary_completed_tasks_equal_the_run_total(stack: Stack, mode: str) -> None:
    run = stack.runs[mode]
    (summary,) = by_name("summary_completed_tasks").targets
    expr = render(summary.expr, application_id=re.escape(run.application_id), time_range="1h")
    (result,) = prometheus_api.query(stack.prometheus, expr)
    assert result.points[0][1] == run.summary["completed_tasks"] > 0
    # The UI stops before the last counters are scraped: the push is what makes this exact.
    (scraped,) = series_of(
        stack, by_name("total_tasks").targets[0].expr, run.application_id
    )  # appStatus completed tasks
    assert max(value for _, value in scraped.points) <= run.summary["completed_tasks"]


def runs_table(prometheus: str) -> dict[str, dict[str, float]]:
    """Application id -> column -> value, as the Grafana runs table shows it."""
    rows: dict[str, dict[str, float]] = {}
    for target in RUNS.targets:
        for series in prometheus_api.query(prometheus, render(target.expr, time_range="1h")):
            row = rows.setdefault(series.labels["application_id"], {})
            row[target.legend] = series.points[0][1]
    return rows


def test_runs_table_shows_each_run_with_its_finish_time(stack: Stack) -> None:
    rows = runs_table(stack.prometheus)
    finished = next(column for column in RUN_RESULT_METRICS if column.unit is FINISHED_AT)
    for run in stack.runs.values():
        row = rows[run.application_id]
        assert row[finished.title] == pytest.approx(
            run.summary["finished_timestamp_seconds"] * 1000
        )
        assert row[finished.title] / 1000 <= time.time()
        assert row["Accuracy"] == pytest.approx(run.summary["accuracy"])


@pytest.mark.parametrize("mode", ["cluster", "local"])
def test_report_draws_the_panels_that_say_something_in_the_run_s_mode(
    stack: Stack, tmp_path: Path, mode: str
) -> None:
    run = stack.runs[mode]
    output = tmp_path / "report.png"
    report = make_report(stack.prometheus, run.application_id, output)
    cluster_only = [query.title for query in spark_queries() if query.cluster_only]
    left_out = cluster_only if mode == "local" else []
    expected = [query.title for query in spark_queries() if query.title not in left_out]
    assert report.local_mode is (mode == "local")
    with Image.open(output) as image:
        assert json.loads(image.info[PNG_PANELS_KEY]) == expected
        assert json.loads(image.info[PNG_LEFT_OUT_KEY]) == left_out
        assert image.width >= 1200
    legends = [line.label for panel in report.panels for line in panel.lines]
    assert legends and not [legend for legend in legends if run.application_id in legend]


@pytest.mark.parametrize("mode", ["cluster", "local"])
def test_tasks_finished_ends_on_the_pushed_final_counts(stack: Stack, mode: str) -> None:
    run = stack.runs[mode]
    (panel,) = [
        panel
        for panel in collect(stack.prometheus, run.application_id).panels
        if panel.query.name == "total_tasks"
    ]
    last = {line.label: line.points[-1][1] for line in panel.lines}
    assert last["completed"] == run.summary["completed_tasks"] > 0
    assert last["failed"] == run.summary["failed_tasks"]


# Spark's PrometheusServlet names its counters ..._Count with a type="counters" label, which
# Prometheus 3.x's name check cannot see (promql/engine.go:2396-2401 at v0.314.0).
EXPECTED_INFO = re.compile(
    r"PromQL info: metric might not be a counter, name does not end in "
    r'_total/_sum/_count/_bucket: "metrics_spark_doks_driver_executor_\w+_Count"'
)


def test_no_query_draws_an_unexpected_warning_or_info(stack: Stack) -> None:
    applications = {run.application_id for run in stack.runs.values()}
    start = min(application_time_range(stack.prometheus, a).start for a in applications)
    end = max(application_time_range(stack.prometheus, a).end for a in applications)
    expressions = [target.expr for query in spark_queries() for target in query.targets]
    expressions += [target.expr for query in (*SUMMARY, RUNS) for target in query.targets]
    expressions += [alert.expr for alert in ALERTS]
    unexpected = []
    for template in expressions:
        expr = render(template, rate_interval="4s", time_range=f"{end - start:.0f}s")
        for note in prometheus_api.query_range(stack.prometheus, expr, start, end, 1.0).annotations:
            if not (note.kind == "info" and EXPECTED_INFO.search(note.text)):
                unexpected.append(f"{note.kind}: {note.text} in {expr}")
    assert unexpected == []


def pushgateway_scrapes(prometheus: str) -> set[str]:
    """The start times of Prometheus' successful scrapes of the Pushgateway seen so far."""
    with urllib.request.urlopen(f"{prometheus}/api/v1/targets", timeout=60) as response:
        targets = json.load(response)["data"]["activeTargets"]
    return {
        target["lastScrape"]
        for target in targets
        if target["labels"]["job"] == PUSHGATEWAY_JOB and target["health"] == "up"
    }


def pushed_groups(pushgateway: str) -> str:
    with urllib.request.urlopen(f"{pushgateway}/metrics", timeout=10) as response:
        text: str = response.read().decode()
    return text


def test_runs_survive_a_pushgateway_restart_with_the_chart_persistence(stack: Stack) -> None:
    assert stack.persistence_file.parent == stack.workdir
    # Stop the Pushgateway the fixture started (it saves its groups on shutdown) and start
    # another on the same port and file, as a rescheduled pod with the chart's volume would.
    stack.services.close()
    assert stack.persistence_file.stat().st_size > 0
    restarted_at = time.time()
    with (
        local_stack.pushgateway(
            require_chart_version("pushgateway"), stack.pushgateway_port, stack.persistence_file
        ) as pushgateway,
        local_stack.prometheus(
            local_prometheus_config(
                [], f"{local_stack.LOOPBACK}:{stack.pushgateway_port}", SCRAPE_INTERVAL
            ),
            require_chart_version("prometheus"),
        ) as fresh_prometheus,
    ):
        text = pushed_groups(pushgateway)
        for run in stack.runs.values():
            assert f'application_id="{run.application_id}"' in text
        # A Prometheus with an empty database sees every run: only the Pushgateway had them.
        # Asked until it has them, or until it has scraped the Pushgateway twice: the first
        # scrape's samples are stored before the second starts, so then they must be there.
        scrapes: set[str] = set()
        while True:
            scrapes |= pushgateway_scrapes(fresh_prometheus)
            rows = runs_table(fresh_prometheus)
            if len(rows) == len(stack.runs) or len(scrapes) >= 2:
                break
            time.sleep(0.5)
        assert set(rows) == {run.application_id for run in stack.runs.values()}
        assert restarted_at > max(
            run.summary["finished_timestamp_seconds"] for run in stack.runs.values()
        )
