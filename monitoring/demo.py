"""`make demo`: one training run on this machine, scraped by a local Prometheus, then reported.

Generates a small dataset, starts Prometheus (and the Pushgateway) from the OS packages when they
are installed, trains with Spark in local mode with the project's metric settings, waits for the
final scrape, writes the report PNG and prints the run's results. Stops everything it started.
"""

import argparse
import json
import shutil
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from monitoring import local_stack, prometheus_api
from monitoring.queries import FINISHED_AT, RUN_RESULT_METRICS, Unit
from monitoring.report import make_report
from monitoring.scrape import local_prometheus_config
from monitoring.spark_metrics import spark_metrics_conf
from spark_job.pushgateway import GAUGES

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_ROWS = 20_000
# A local run lasts tens of seconds; the cluster's 15 s would leave two or three samples of it.
DEMO_SCRAPE_INTERVAL = "2s"
PROMETHEUS = "prometheus"
PUSHGATEWAY = "prometheus-pushgateway"


class DemoError(RuntimeError):
    """A step of the demo failed; the message names the step and where its log is."""


@dataclass
class ObservedRun:
    application_id: str
    summary: dict[str, Any]
    prometheus: str | None
    pushgateway: str | None
    seconds: dict[str, float] = field(default_factory=dict)


def _python_module(module: str, arguments: list[str], log: Path) -> str:
    """Run `python -m module` from the repository root; stdout returned, stderr to `log`."""
    with log.open("w") as log_file:
        result = subprocess.run(
            [sys.executable, "-m", module, *arguments],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-15:])
        raise DemoError(f"{module} failed (exit {result.returncode}); log {log}:\n{tail}")
    return result.stdout


def generate_data(workdir: Path, rows: int) -> Path:
    data = workdir / "data"
    arguments = ["--rows", str(rows), "--output", str(data)]
    _python_module("spark_job.datagen", arguments, workdir / "datagen.log")
    return data


def _summary(stdout: str) -> dict[str, Any]:
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            summary: dict[str, Any] = json.loads(line)
            return summary
    raise DemoError(f"the trainer printed no JSON summary; its stdout was: {stdout[-500:]!r}")


def _wait_for_results(prometheus: str, application_id: str, timeout: float) -> None:
    """Block until Prometheus has scraped the results the trainer pushed."""
    expr = f'spark_doks_run_accuracy{{application_id="{application_id}"}}'
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if prometheus_api.query(prometheus, expr):
            return
        time.sleep(0.5)
    raise DemoError(f"Prometheus did not scrape the pushed results within {timeout:.0f} s")


@contextmanager
def observed_training_run(
    workdir: Path, data: Path, scrape_interval: str, trainer_args: tuple[str, ...] = ()
) -> Iterator[ObservedRun]:
    """Train once with both Spark endpoints scraped; Prometheus stays up inside the block."""
    with ExitStack() as services:
        prometheus = pushgateway = None
        ui_port = local_stack.free_port()
        if local_stack.installed(PROMETHEUS):
            if local_stack.installed(PUSHGATEWAY):
                pushgateway = services.enter_context(local_stack.pushgateway())
            config = local_prometheus_config(
                [f"{local_stack.LOOPBACK}:{ui_port}"],
                urllib.parse.urlsplit(pushgateway).netloc if pushgateway else None,
                scrape_interval,
            )
            prometheus = services.enter_context(local_stack.prometheus(config))
        yield train_scraped(
            workdir / "model",
            workdir / "train.log",
            data,
            ui_port,
            Scraping(prometheus, pushgateway, scrape_interval),
            trainer_args,
        )


@dataclass(frozen=True)
class Scraping:
    prometheus: str | None
    pushgateway: str | None
    interval: str


def train_scraped(
    output: Path,
    log: Path,
    data: Path,
    ui_port: int,
    scraping: Scraping,
    trainer_args: tuple[str, ...] = (),
) -> ObservedRun:
    """One training run with its UI on `ui_port`; returns once its pushed results are scraped.

    A previous run in `output` is removed first: the trainer never replaces a complete run.
    """
    shutil.rmtree(output, ignore_errors=True)
    conf = {**spark_metrics_conf(), "spark.ui.port": str(ui_port)}
    arguments = ["--input", str(data), "--output", str(output), *trainer_args]
    for key, value in conf.items():
        arguments += ["--conf", f"{key}={value}"]
    if scraping.pushgateway is not None:
        arguments += ["--pushgateway", scraping.pushgateway]
    started = time.monotonic()
    summary = _summary(_python_module("spark_job.train", arguments, log))
    run = ObservedRun(
        str(summary["application_id"]), summary, scraping.prometheus, scraping.pushgateway
    )
    run.seconds["train (process)"] = time.monotonic() - started
    if scraping.prometheus is not None and scraping.pushgateway is not None:
        waited = time.monotonic()
        interval = float(scraping.interval.removesuffix("s"))
        _wait_for_results(scraping.prometheus, run.application_id, timeout=4 * interval + 10)
        run.seconds["wait for final scrape"] = time.monotonic() - waited
    return run


def _cell(value: object, unit: Unit) -> str:
    if unit is FINISHED_AT and isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def results_table(run: ObservedRun, output: Path) -> Table:
    """The results the Grafana runs table shows (the rest is in metrics.json)."""
    table = Table(title=f"Training run {run.application_id}")
    table.add_column("result")
    table.add_column("value", justify="right")
    field_of_gauge = {gauge: field for field, gauge in GAUGES.items()}
    for column in RUN_RESULT_METRICS:
        field = field_of_gauge.get(column.metric)
        if field is not None:  # a column of results this trainer does not push stays empty
            table.add_row(column.title, _cell(run.summary[field], column.unit))
    table.add_row("All results", str(output / "metrics.json"))
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m monitoring.demo", description=__doc__)
    parser.add_argument("--workdir", type=Path, default=REPO_ROOT / "out" / "demo")
    arguments = parser.parse_args(argv)
    workdir: Path = arguments.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    console = Console()
    timings: dict[str, float] = {}
    try:
        with console.status(f"Generating {DEMO_ROWS} rows"):
            started = time.monotonic()
            data = generate_data(workdir, DEMO_ROWS)
            timings["generate data"] = time.monotonic() - started
        if not local_stack.installed(PROMETHEUS):
            console.print("[yellow]prometheus is not installed: training without scraping[/]")
        with (
            console.status("Training with Spark (local mode), scraped by Prometheus"),
            observed_training_run(workdir, data, DEMO_SCRAPE_INTERVAL) as run,
        ):
            timings.update(run.seconds)
            report = workdir / "report.png"
            if run.prometheus is not None:
                started = time.monotonic()
                make_report(run.prometheus, run.application_id, report)
                timings["report"] = time.monotonic() - started
    except DemoError as error:
        console.print(f"[red]error:[/] {error}")
        return 1
    console.print(results_table(run, workdir / "model"))
    if run.prometheus is not None:
        console.print(f"Report of the Spark panels: {report}")
    console.print(
        "Timings: " + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in timings.items()),
        soft_wrap=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
