"""Render the dashboard's Spark panels for one application to a PNG, without Grafana.

    python -m monitoring.report --prometheus http://127.0.0.1:9090 --app local-123 --output r.png

Runs every spark-executors and spark-driver query of the catalogue over the application's time
range (found from its samples) and draws one panel per query with matplotlib.
"""

import argparse
import itertools
import json
import math
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from monitoring import prometheus_api
from monitoring.prometheus_api import PrometheusError, Series
from monitoring.queries import BYTES, COUNT, RATIO, Query, render, spark_queries

# How far back to look for the application's samples.
LOOKBACK = "7d"
COLUMNS = 3
MAX_POINTS = 250
PNG_PANELS_KEY = "spark-doks panels"  # PNG text chunk listing the panel titles drawn


class ReportError(Exception):
    """The report cannot be made; the message says what to fix."""


@dataclass(frozen=True)
class TimeRange:
    start: float
    end: float
    scrape_interval: float

    @property
    def step(self) -> float:
        return max(self.scrape_interval, (self.end - self.start) / MAX_POINTS)

    @property
    def rate_window(self) -> str:
        # Like Grafana's $__rate_interval: at least four scrapes, so rate() always has two samples.
        return f"{math.ceil(max(4 * self.scrape_interval, self.step + self.scrape_interval))}s"


@dataclass(frozen=True)
class Line:
    label: str
    points: list[tuple[float, float]]


@dataclass(frozen=True)
class Panel:
    query: Query
    lines: list[Line]


def application_selector(application_id: str) -> str:
    return re.escape(application_id)


def application_time_range(prometheus: str, application_id: str) -> TimeRange:
    """First and last scrape of the application, and the scrape interval they were taken at."""
    selector = render(
        f'metrics_executor_totalCores{{executor_id="driver", '
        f'application_id=~"$application_id"}}[{LOOKBACK}]',
        application_id=application_selector(application_id),
    )
    samples = sorted(
        {time for series in prometheus_api.query(prometheus, selector) for time, _ in series.points}
    )
    if not samples:
        raise ReportError(
            f"--app: no samples of application {application_id!r} in {prometheus} within "
            f"{LOOKBACK}; pass the id Spark printed (e.g. local-1700000000000 or spark-...)"
        )
    gaps = [later - earlier for earlier, later in itertools.pairwise(samples)]
    interval = min(gaps) if gaps else 15.0
    return TimeRange(samples[0] - interval, samples[-1] + interval, interval)


def legend_text(template: str, labels: dict[str, str]) -> str:
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda match: labels.get(match.group(1), "?"), template)


def collect(prometheus: str, application_id: str) -> tuple[TimeRange, list[Panel]]:
    """Every Spark query of the catalogue over the application's lifetime."""
    time_range = application_time_range(prometheus, application_id)
    panels = []
    for query in spark_queries():
        lines = []
        for target in query.targets:
            expr = render(
                target.expr,
                application_id=application_selector(application_id),
                rate_interval=time_range.rate_window,
            )
            result: list[Series] = prometheus_api.query_range(
                prometheus, expr, time_range.start, time_range.end, time_range.step
            )
            lines += [Line(legend_text(target.legend, item.labels), item.points) for item in result]
        panels.append(Panel(query, lines))
    return time_range, panels


BYTE_SCALES = ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"), (1, "bytes"))


def _scale(panel: Panel) -> tuple[float, str]:
    """Divisor and axis label, so ticks read as plain numbers (e.g. 412 MiB, 35 %)."""
    if panel.query.unit == BYTES:
        values = [value for line in panel.lines for _, value in line.points]
        largest = max((abs(value) for value in values if math.isfinite(value)), default=0.0)
        return next((size, name) for size, name in BYTE_SCALES if largest >= 4 * size or size == 1)
    if panel.query.unit == RATIO:
        return 0.01, "%"
    return 1.0, panel.query.unit.label


def draw(application_id: str, time_range: TimeRange, panels: list[Panel]) -> Figure:
    rows = math.ceil(len(panels) / COLUMNS)
    figure = Figure(figsize=(6 * COLUMNS, 3.4 * rows + 1), layout="constrained")
    started = datetime.fromtimestamp(time_range.start, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    duration = time_range.end - time_range.start
    figure.suptitle(
        f"Spark application {application_id}: started {started}, {duration:.0f} s shown, "
        f"scraped every {time_range.scrape_interval:.0f} s",
        fontsize=14,
    )
    axes_grid = figure.subplots(rows, COLUMNS, squeeze=False)
    for axes, panel in zip(axes_grid.flat, panels, strict=False):
        axes.set_title(panel.query.title, fontsize=12, fontweight="bold")
        divisor, unit_label = _scale(panel)
        axes.set_ylabel(unit_label)
        axes.set_xlabel("seconds since start")
        axes.set_xlim(0, duration)
        axes.grid(alpha=0.3)
        axes.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=panel.query.unit == COUNT))
        peaks = []
        for line in panel.lines:
            finite = [(time, value) for time, value in line.points if math.isfinite(value)]
            if not finite:
                continue
            axes.plot(
                [time - time_range.start for time, _ in finite],
                [value / divisor for _, value in finite],
                label=line.label,
                linewidth=1.8,
                marker="." if len(finite) < 20 else None,
            )
            peaks.append(max(value for _, value in finite))
        if peaks:
            # An all-zero panel (e.g. no failed tasks) reads best on a 0..1 axis.
            axes.set_ylim(bottom=0, top=None if max(peaks) > 0 else 1)
            axes.legend(fontsize=9, loc="best")
        else:
            axes.text(0.5, 0.5, "no data", transform=axes.transAxes, ha="center", color="gray")
    for unused in list(axes_grid.flat)[len(panels) :]:
        unused.set_visible(False)
    return figure


def write_png(figure: Figure, titles: list[str], output: Path) -> None:
    """Save atomically: a reader never sees a half-written file."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=output.parent, suffix=".png", delete=False) as staging:
        figure.savefig(staging, format="png", dpi=90, metadata={PNG_PANELS_KEY: json.dumps(titles)})
    os.replace(staging.name, output)


def make_report(prometheus: str, application_id: str, output: Path) -> list[str]:
    """Write the PNG; returns the panel titles drawn."""
    time_range, panels = collect(prometheus, application_id)
    figure = draw(application_id, time_range, panels)
    titles = [axes.get_title() for axes in figure.axes if axes.get_visible()]
    write_png(figure, titles, output)
    return titles


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m monitoring.report", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--prometheus", required=True, help="Prometheus base URL")
    parser.add_argument("--app", required=True, help="Spark application id")
    parser.add_argument("--output", type=Path, default=Path("report.png"), help="PNG to write")
    arguments = parser.parse_args(argv)
    try:
        titles = make_report(arguments.prometheus, arguments.app, arguments.output)
    except ReportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except PrometheusError as error:
        print(f"error: --prometheus: {error}", file=sys.stderr)
        return 2
    print(f"wrote {arguments.output} ({len(titles)} panels)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
