import json
import os
import stat
from pathlib import Path

import pytest
from PIL import Image

from monitoring import prometheus_api, report
from monitoring.local_stack import free_port
from monitoring.prometheus_api import Annotation, Result, Series
from monitoring.queries import by_name, spark_queries
from monitoring.report import (
    PNG_PANELS_KEY,
    Line,
    Panel,
    Report,
    TimeRange,
    draw,
    main,
    report_legend,
    write_png,
)

TIME_RANGE = TimeRange(start=1000.0, end=1060.0, scrape_interval=5.0)


def test_draws_one_titled_panel_per_query_with_units(tmp_path: Path) -> None:
    heap = [(1000.0 + 5 * step, 300 * 2**20 + step) for step in range(12)]
    panels = [Panel(query, []) for query in spark_queries()]
    panels[0] = Panel(by_name("peak_jvm_heap"), [Line("executor 1", heap)])
    figure = draw(Report("local-1", TIME_RANGE, panels))
    visible = [axes for axes in figure.axes if axes.get_visible()]
    assert [axes.get_title() for axes in visible] == [panel.query.title for panel in panels]
    assert visible[0].get_ylabel() == "MiB"
    assert max(visible[0].get_lines()[0].get_ydata()) == pytest.approx(300, abs=1)
    assert visible[0].get_legend().get_texts()[0].get_text() == "executor 1"

    output = tmp_path / "report.png"
    write_png(figure, [axes.get_title() for axes in visible], output)
    with Image.open(output) as image:
        assert json.loads(image.info[PNG_PANELS_KEY]) == [panel.query.title for panel in panels]
    assert [path.name for path in tmp_path.iterdir()] == ["report.png"]


def test_unreachable_prometheus_is_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    output = tmp_path / "report.png"
    assert main(["--prometheus", url, "--app", "local-1", "--output", str(output)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: --prometheus: cannot reach Prometheus")
    assert error.count("\n") == 1
    assert not output.exists()


def test_the_report_is_readable_by_teammates_under_a_group_umask(tmp_path: Path) -> None:
    panels = [Panel(query, []) for query in spark_queries()]
    figure = draw(Report("local-1", TIME_RANGE, panels))
    previous = os.umask(0o022)
    try:
        write_png(figure, [], tmp_path / "report.png")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "report.png").stat().st_mode) == 0o644


def test_legends_leave_the_application_id_to_the_title() -> None:
    labels = {"application_id": "local-1764990000000", "executor_id": "driver"}
    for query in spark_queries():
        for target in query.targets:
            assert "local-1764990000000" not in report_legend(target.legend, labels), query.name
    assert report_legend("{{application_id}} active", labels) == "active"
    assert report_legend("{{application_id}} executor {{executor_id}}", labels) == "executor driver"
    active = Line("active", [(1000.0, 1.0)])
    figure = draw(Report("local-1764990000000", TIME_RANGE, [Panel(by_name("jobs"), [active])]))
    assert figure.get_suptitle().count("local-1764990000000") == 1


def test_lines_at_zero_throughout_share_one_legend_entry() -> None:
    # Failed and killed at zero used to overlap, hiding "killed".
    points = [(1000.0 + 5 * step, float(step)) for step in range(12)]
    zeros = [(time, 0.0) for time, _ in points]
    lines = [Line("completed", points), Line("failed", zeros), Line("killed", zeros)]
    figure = draw(Report("local-1", TIME_RANGE, [Panel(by_name("total_tasks"), lines)]))
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert legend == ["completed", "failed, killed: 0 throughout"]
    alone = draw(Report("local-1", TIME_RANGE, [Panel(by_name("failed_tasks"), lines[1:2])]))
    assert alone.axes[0].get_legend().get_texts()[0].get_text() == "failed: 0 throughout"


class FakePrometheus:
    """Answers the report's queries for one application, run in local mode or on a cluster."""

    def __init__(self, local_mode: bool) -> None:
        self.local_mode = local_mode

    def query(self, base_url: str, expr: str, at: float | None = None) -> Result:
        if expr.startswith("max_over_time(metrics_executor_maxTasks"):
            return Result([Series({}, [(1060.0, 2.0)])] if self.local_mode else [])
        return Result([Series({}, [(1000.0 + 5 * step, 1.0) for step in range(12)])])

    def query_range(
        self, base_url: str, expr: str, start: float, end: float, step: float
    ) -> Result:
        labels = {"application_id": "app-1", "executor_id": "1"}
        info = Annotation("info", "PromQL info: metric might not be a counter")
        return Result([Series(labels, [(start, 1.0), (end, 2.0)])], [info])


@pytest.mark.parametrize("local_mode", [True, False])
def test_a_local_mode_report_names_the_cluster_only_panels_instead_of_drawing_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_mode: bool
) -> None:
    fake = FakePrometheus(local_mode)
    monkeypatch.setattr(prometheus_api, "query", fake.query)
    monkeypatch.setattr(prometheus_api, "query_range", fake.query_range)
    made = report.make_report("http://prometheus", "app-1", tmp_path / "report.png")
    cluster_only = [query.title for query in spark_queries() if query.cluster_only]
    assert {"Executors alive", "Task time balance across executors"} <= set(cluster_only)
    with Image.open(tmp_path / "report.png") as image:
        drawn = json.loads(image.info[PNG_PANELS_KEY])
        left_out = json.loads(image.info[report.PNG_LEFT_OUT_KEY])
    if local_mode:
        assert left_out == cluster_only
        assert not set(drawn) & set(cluster_only)
        footer = draw(made)._supxlabel
        assert footer is not None and all(title in footer.get_text() for title in cluster_only)
    else:
        assert left_out == []
        assert drawn == [query.title for query in spark_queries()]
    # Every panel's infos reach the caller, named by its panel.
    notes = report.describe_annotations(made)
    assert len(notes) == sum(len(panel.query.targets) for panel in made.panels)
    assert notes[0].startswith(f"Prometheus info on {made.panels[0].query.title!r}: PromQL info")
