import json
import os
import stat
from pathlib import Path

import pytest
from PIL import Image

from monitoring.local_stack import free_port
from monitoring.queries import by_name, spark_queries
from monitoring.report import PNG_PANELS_KEY, Line, Panel, TimeRange, draw, main, write_png


def test_draws_one_titled_panel_per_query_with_units(tmp_path: Path) -> None:
    time_range = TimeRange(start=1000.0, end=1060.0, scrape_interval=5.0)
    heap = [(1000.0 + 5 * step, 300 * 2**20 + step) for step in range(12)]
    panels = [Panel(query, []) for query in spark_queries()]
    panels[0] = Panel(by_name("peak_jvm_heap"), [Line("executor 1", heap)])
    figure = draw("local-1", time_range, panels)
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
    figure = draw("local-1", TimeRange(start=1000.0, end=1060.0, scrape_interval=5.0), panels)
    previous = os.umask(0o022)
    try:
        write_png(figure, [], tmp_path / "report.png")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "report.png").stat().st_mode) == 0o644
