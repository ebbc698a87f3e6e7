"""A real local training run scraped by a real Prometheus with the project's scrape settings.

One run (small data) serves every test in this module: each Spark query of the catalogue must
return data for that application, the pushed results must be scraped, and the report must draw
one panel per Spark query.
"""

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from monitoring import prometheus_api
from monitoring.demo import ObservedRun, generate_data, observed_training_run
from monitoring.queries import RUNS, render, spark_queries
from monitoring.report import PNG_PANELS_KEY, application_time_range, make_report
from tests.support import require_tool

pytestmark = pytest.mark.slow

ROWS = 5_000
# Two executors besides the driver, as on a cluster: the driver row has no task slots there.
MASTER = "local-cluster[2,1,1024]"
EXECUTOR_IDS = {"0", "1"}
MEMORY_PER_EXECUTOR = {"peak_jvm_heap", "storage_memory"}
# Short on purpose (see docs/decisions.md): the run lasts tens of seconds.
SCRAPE_INTERVAL = "1s"


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObservedRun]:
    require_tool("prometheus")
    require_tool("prometheus-pushgateway")
    workdir = tmp_path_factory.mktemp("end-to-end")
    data = generate_data(workdir, ROWS)
    with observed_training_run(workdir, data, SCRAPE_INTERVAL, ("--master", MASTER)) as run:
        yield run


@pytest.mark.parametrize(
    ("name", "target_index"),
    [(query.name, index) for query in spark_queries() for index in range(len(query.targets))],
)
def test_every_spark_query_returns_data_for_the_application(
    observed: ObservedRun, name: str, target_index: int
) -> None:
    assert observed.prometheus is not None
    (query,) = [query for query in spark_queries() if query.name == name]
    time_range = application_time_range(observed.prometheus, observed.application_id)
    expr = render(
        query.targets[target_index].expr,
        application_id=re.escape(observed.application_id),
        rate_interval=time_range.rate_window,
    )
    series = prometheus_api.query_range(
        observed.prometheus, expr, time_range.start, time_range.end, time_range.step
    )
    assert series, f"{name}: no series for {observed.application_id}: {expr}"
    assert {item.labels.get("application_id") for item in series} == {observed.application_id}
    executors = {item.labels["executor_id"] for item in series if "executor_id" in item.labels}
    if executors:
        # Memory panels show the driver too; task panels only executors that run tasks.
        with_driver = name in MEMORY_PER_EXECUTOR
        assert executors == (EXECUTOR_IDS | {"driver"} if with_driver else EXECUTOR_IDS)


def test_executors_alive_counts_the_executors_with_task_slots(observed: ObservedRun) -> None:
    assert observed.prometheus is not None
    (query,) = [query for query in spark_queries() if query.name == "executors_alive"]
    time_range = application_time_range(observed.prometheus, observed.application_id)
    expr = render(query.targets[0].expr, application_id=re.escape(observed.application_id))
    (series,) = prometheus_api.query_range(
        observed.prometheus, expr, time_range.start, time_range.end, time_range.step
    )
    assert max(value for _, value in series.points) == len(EXECUTOR_IDS)


def test_pushed_results_are_scraped_with_the_application_id(observed: ObservedRun) -> None:
    assert observed.prometheus is not None
    for target in RUNS.targets:
        series = prometheus_api.query(observed.prometheus, target.expr)
        assert [item.labels["application_id"] for item in series] == [observed.application_id]
    (accuracy,) = prometheus_api.query(observed.prometheus, "spark_doks_run_accuracy")
    assert accuracy.points[0][1] == pytest.approx(observed.summary["accuracy"])


def test_report_draws_one_panel_per_spark_query(observed: ObservedRun, tmp_path: Path) -> None:
    assert observed.prometheus is not None
    output = tmp_path / "report.png"
    titles = make_report(observed.prometheus, observed.application_id, output)
    expected = [query.title for query in spark_queries()]
    assert titles == expected
    with Image.open(output) as image:
        assert json.loads(image.info[PNG_PANELS_KEY]) == expected
        assert image.width >= 1200
