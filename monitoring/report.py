"""Render the dashboard's Spark panels for one application to a PNG, without Grafana.

    python -m monitoring.report --prometheus http://127.0.0.1:9090 --app local-123 --output r.png

Runs every spark-executors and spark-driver query of the catalogue over the application's time
range (found from its samples) and draws one panel per query with matplotlib. The report is about
one application: its id is in the title, not in every legend. In local mode (the driver runs every
task) the panels that compare executors are left out and named at the bottom; lines that stay at
zero share one legend entry. Warnings and infos Prometheus returns with a query are returned too.
"""

import argparse
import itertools
import json
import math
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from monitoring import prometheus_api
from monitoring.prometheus_api import Annotation, PrometheusError
from monitoring.queries import BYTES, COUNT, FINISHED, RATIO, Query, render, spark_queries
from spark_job.atomic import share_like_new_files

# How far back to look for the application's samples.
LOOKBACK = "7d"
COLUMNS = 3
MAX_POINTS = 250
PNG_PANELS_KEY = "spark-doks panels"  # PNG text chunk listing the panel titles drawn
PNG_LEFT_OUT_KEY = "spark-doks cluster-only panels"  # ... and those left out in local mode


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
    annotations: tuple[Annotation, ...] = ()


@dataclass(frozen=True)
class Report:
    application_id: str
    time_range: TimeRange
    panels: list[Panel]
    local_mode: bool = False
    left_out: tuple[Query, ...] = ()  # cluster-only panels not drawn for a local-mode run

    @property
    def annotations(self) -> list[tuple[str, Annotation]]:
        """(panel title, annotation) for every warning and info Prometheus returned."""
        return [(panel.query.title, note) for panel in self.panels for note in panel.annotations]


def application_selector(application_id: str) -> str:
    return re.escape(application_id)


def _sample_times(prometheus: str, selector: str, application_id: str) -> list[float]:
    expr = render(selector, application_id=application_selector(application_id))
    return sorted(
        {time for series in prometheus_api.query(prometheus, expr) for time, _ in series.points}
    )


def application_time_range(prometheus: str, application_id: str) -> TimeRange:
    """First and last scrape of the application, and the scrape interval they were taken at.

    The range reaches the first scrape of the results the trainer pushed, if any: the panels that
    end on the pushed final counts need it.
    """
    samples = _sample_times(
        prometheus,
        f'metrics_executor_totalCores{{executor_id="driver", '
        f'application_id=~"$application_id"}}[{LOOKBACK}]',
        application_id,
    )
    if not samples:
        raise ReportError(
            f"--app: no samples of application {application_id!r} in {prometheus} within "
            f"{LOOKBACK}; pass the id Spark printed (e.g. local-1700000000000 or spark-...)"
        )
    gaps = [later - earlier for earlier, later in itertools.pairwise(samples)]
    interval = min(gaps) if gaps else 15.0
    pushed = _sample_times(
        prometheus, f'{FINISHED}{{application_id=~"$application_id"}}[{LOOKBACK}]', application_id
    )
    last = max(samples[-1], pushed[0]) if pushed else samples[-1]
    # Two steps past the last sample, so the last step of a range query is evaluated after it.
    step = TimeRange(samples[0] - interval, last + interval, interval).step
    return TimeRange(samples[0] - interval, last + 2 * step, interval)


def runs_tasks_on_the_driver(prometheus: str, application_id: str) -> bool:
    """Local mode: the driver is the one executor and has the task slots."""
    expr = render(
        f'max_over_time(metrics_executor_maxTasks{{executor_id="driver", '
        f'application_id=~"$application_id"}}[{LOOKBACK}]) > 0',
        application_id=application_selector(application_id),
    )
    return bool(prometheus_api.query(prometheus, expr))


def legend_text(template: str, labels: dict[str, str]) -> str:
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda match: labels.get(match.group(1), "?"), template)


def report_legend(template: str, labels: dict[str, str]) -> str:
    """The legend without the application id, which the report's title carries once."""
    return legend_text(re.sub(r"\{\{\s*application_id\s*\}\}\s*", "", template), labels).strip()


def collect(prometheus: str, application_id: str) -> Report:
    """Every Spark query of the catalogue over the application's lifetime, but those that only
    compare executors when the run was in local mode."""
    time_range = application_time_range(prometheus, application_id)
    local_mode = runs_tasks_on_the_driver(prometheus, application_id)
    queries = spark_queries()
    panels = []
    for query in queries:
        if local_mode and query.cluster_only:
            continue
        lines: list[Line] = []
        annotations: list[Annotation] = []
        for target in query.targets:
            expr = render(
                target.expr,
                application_id=application_selector(application_id),
                rate_interval=time_range.rate_window,
            )
            result = prometheus_api.query_range(
                prometheus, expr, time_range.start, time_range.end, time_range.step
            )
            lines += [
                Line(report_legend(target.legend, item.labels), item.points) for item in result
            ]
            annotations += result.annotations
        panels.append(Panel(query, lines, tuple(annotations)))
    left_out = tuple(query for query in queries if local_mode and query.cluster_only)
    return Report(application_id, time_range, panels, local_mode, left_out)


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


def _drawn_lines(panel: Panel) -> list[Line]:
    """The panel's lines with finite values; those at zero throughout merged into one, labelled
    so, so that none hides under another or under the axis (e.g. failed and killed tasks)."""
    finite = [
        Line(line.label, [(t, v) for t, v in line.points if math.isfinite(v)])
        for line in panel.lines
    ]
    finite = [line for line in finite if line.points]
    zero = [line for line in finite if all(value == 0 for _, value in line.points)]
    if not zero:
        return finite
    times = sorted({time for line in zero for time, _ in line.points})
    merged = Line(
        f"{', '.join(line.label for line in zero)}: 0 throughout", [(t, 0.0) for t in times]
    )
    return [line for line in finite if line not in zero] + [merged]


def draw(report: Report) -> Figure:
    time_range, panels = report.time_range, report.panels
    rows = math.ceil(len(panels) / COLUMNS)
    footer = 0.5 if report.left_out else 0.0
    figure = Figure(figsize=(6 * COLUMNS, 3.4 * rows + 1 + footer), layout="constrained")
    started = datetime.fromtimestamp(time_range.start, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    duration = time_range.end - time_range.start
    mode = " (local mode)" if report.local_mode else ""
    figure.suptitle(
        f"Spark application {report.application_id}{mode}: started {started}, "
        f"{duration:.0f} s shown, scraped every {time_range.scrape_interval:.0f} s",
        fontsize=14,
    )
    if report.left_out:
        figure.supxlabel(
            "Only on a cluster (they compare executors; in local mode the driver is the one "
            f"executor): {', '.join(query.title for query in report.left_out)}.",
            fontsize=11,
            color="dimgray",
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
        lines = _drawn_lines(panel)
        for line in lines:
            axes.plot(
                [time - time_range.start for time, _ in line.points],
                [value / divisor for _, value in line.points],
                label=line.label,
                linewidth=1.8,
                marker="." if len(line.points) < 20 else None,
            )
        if lines:
            peak = max(value for line in lines for _, value in line.points)
            # An all-zero panel (e.g. no failed tasks) reads best on a 0..1 axis.
            axes.set_ylim(bottom=0, top=None if peak > 0 else 1)
            axes.legend(fontsize=9, loc="best")
        else:
            axes.text(0.5, 0.5, "no data", transform=axes.transAxes, ha="center", color="gray")
    for unused in list(axes_grid.flat)[len(panels) :]:
        unused.set_visible(False)
    return figure


def write_png(
    figure: Figure, titles: list[str], output: Path, left_out: Sequence[str] = ()
) -> None:
    """Save atomically: a reader never sees a half-written file."""
    output.parent.mkdir(parents=True, exist_ok=True)
    metadata = {PNG_PANELS_KEY: json.dumps(titles), PNG_LEFT_OUT_KEY: json.dumps(list(left_out))}
    with tempfile.NamedTemporaryFile(dir=output.parent, suffix=".png", delete=False) as staging:
        figure.savefig(staging, format="png", dpi=90, metadata=metadata)
    share_like_new_files(Path(staging.name))
    os.replace(staging.name, output)


def make_report(prometheus: str, application_id: str, output: Path) -> Report:
    """Write the PNG; returns what it shows."""
    report = collect(prometheus, application_id)
    figure = draw(report)
    titles = [axes.get_title() for axes in figure.axes if axes.get_visible()]
    write_png(figure, titles, output, [query.title for query in report.left_out])
    return report


def describe_annotations(report: Report) -> list[str]:
    """One line per warning or info Prometheus returned, naming its panel."""
    return [
        f"Prometheus {note.kind} on {title!r}: {note.text}" for title, note in report.annotations
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m monitoring.report", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--prometheus", required=True, help="Prometheus base URL")
    parser.add_argument("--app", required=True, help="Spark application id")
    parser.add_argument("--output", type=Path, default=Path("report.png"), help="PNG to write")
    arguments = parser.parse_args(argv)
    try:
        report = make_report(arguments.prometheus, arguments.app, arguments.output)
    except ReportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except PrometheusError as error:
        print(f"error: --prometheus: {error}", file=sys.stderr)
        return 2
    for line in describe_annotations(report):
        print(f"warning: {line}", file=sys.stderr)
    print(f"wrote {arguments.output} ({len(report.panels)} panels)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
