"""Executor sweep: train once per executor count, then tabulate and plot time and cost.

    python -m spark_runs.sweep --backend local --executors 1,2 --input data/ --output sweep/

Writes results.csv, results.md and sweep.png to the output directory, with each run's trainer
output under runs/ and its log under logs/. The directory appears only when every run finished:
the sweep works in a hidden sibling directory and renames it at the end, and an interrupt
(Ctrl-C or SIGTERM) stops every process and SparkApplication it started and removes that directory.
"""

import argparse
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import NoReturn, Protocol

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from spark_job.atomic import share_like_new_files
from spark_runs.cost import DEFAULT_PRICES, PriceTable, load_prices, run_cost
from spark_runs.run_result import RunFailed, RunMetrics
from spark_runs.sizing import NODE_SIZES, parse_cpu_millis, parse_spark_memory_mib
from spark_runs.sweep_report import (
    SweepContext,
    SweepRow,
    executors_phrase,
    recommendation_lines,
    write_reports,
)

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
DEFAULT_NODE_SIZE = "s-2vcpu-4gb"


class Backend(Protocol):
    def describe(self, executor_counts: list[int]) -> str: ...

    def run(self, executors: int, run_dir: Path, log_path: Path) -> RunMetrics: ...


class UsageError(ValueError):
    """Bad command-line input: one line, exit status 2."""


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def executor_counts(text: str) -> list[int]:
    counts = []
    for part in text.split(","):
        if not part.strip().isdigit() or int(part) < 1:
            raise argparse.ArgumentTypeError(
                f"{part.strip()!r} is not a positive whole number; use e.g. 1,2,4"
            )
        counts.append(int(part))
    if len(set(counts)) != len(counts):
        raise argparse.ArgumentTypeError(f"{text!r} repeats a count; list each count once")
    return sorted(counts)


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return value


def _fraction(text: str) -> float:
    value = _positive_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not in (0, 1]")
    return value


def _spark_memory(text: str) -> str:
    try:
        parse_spark_memory_mib(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _cpu_request(text: str) -> str:
    try:
        millis = parse_cpu_millis(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if millis < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0")
    return text


def parser() -> argparse.ArgumentParser:
    command = _OneLineParser(
        prog="python -m spark_runs.sweep",
        description="Run the trainer once per executor count; write a table, a CSV and a plot.",
    )
    command.add_argument("--backend", choices=("local", "cluster"), required=True)
    command.add_argument(
        "--executors", type=executor_counts, required=True, help="comma-separated, e.g. 1,2,4"
    )
    command.add_argument(
        "--input",
        help="dataset the trainer reads (local: a path here; cluster: a path or URL the driver "
        "can read, default the image's baked sample)",
    )
    command.add_argument("--output", type=Path, required=True, help="new directory for results")
    command.add_argument("--fraction", type=_fraction, default=1.0, help="share of the data used")
    command.add_argument("--executor-cores", type=_positive_int, default=1)
    command.add_argument(
        "--executor-core-request",
        type=_cpu_request,
        default="800m",
        help="CPU each executor requests, which packs the nodes the cost counts (as the stack's "
        "executorCoreRequest; at most --executor-cores)",
    )
    command.add_argument("--executor-memory", type=_spark_memory, default="640m")
    command.add_argument(
        "--node-size", default=DEFAULT_NODE_SIZE, help="droplet slug whose price the cost uses"
    )
    command.add_argument("--prices", type=Path, help="YAML file overriding the price table")
    command.add_argument(
        "--deadline", type=_positive_float, help="seconds a run may take, for the recommendation"
    )
    cluster = command.add_argument_group("cluster backend")
    cluster.add_argument(
        "--stack-outputs",
        type=Path,
        help="JSON from `pulumi stack output --json > FILE` (never --show-secrets: the file needs "
        "no secret); uses image, jobNamespace and sparkApplicationName",
    )
    cluster.add_argument("--image", help="trainer image (default: the stack's image output)")
    cluster.add_argument("--namespace", help="job namespace (default: the stack's jobNamespace)")
    cluster.add_argument(
        "--timeout", type=_positive_float, default=3600.0, help="seconds to wait for each run"
    )
    return command


@dataclass(frozen=True)
class SweepPlan:
    counts: list[int]
    output: Path
    prices: PriceTable
    node_size: str
    executor_cores: int
    executor_core_request: str
    executor_memory: str
    input_path: str
    deadline_seconds: float | None


def _check_output(output: Path) -> None:
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise UsageError(f"--output {output} already exists; choose a new directory or remove it")
    if not output.resolve().parent.is_dir():
        raise UsageError(f"--output {output}: the parent directory does not exist; create it first")


def plan(arguments: argparse.Namespace) -> SweepPlan:
    """Check everything that can be checked before the first run starts."""
    _check_output(arguments.output)
    if arguments.node_size not in NODE_SIZES:
        known = ", ".join(sorted(NODE_SIZES))
        raise UsageError(f"--node-size {arguments.node_size!r} is unknown; use one of {known}")
    if parse_cpu_millis(arguments.executor_core_request) > arguments.executor_cores * 1000:
        raise UsageError(
            f"--executor-core-request {arguments.executor_core_request} is more than "
            f"--executor-cores {arguments.executor_cores}; request at most the executor's cores"
        )
    try:
        prices = load_prices(arguments.prices) if arguments.prices else DEFAULT_PRICES
        for count in arguments.executors:
            run_cost(
                prices,
                arguments.node_size,
                count,
                parse_cpu_millis(arguments.executor_core_request),
                arguments.executor_memory,
                0,
            )
    except ValueError as error:
        raise UsageError(str(error)) from None
    if arguments.backend == "local":
        if not arguments.input:
            raise UsageError("--input is required with --backend local; pass a dataset path")
        if not Path(arguments.input.removeprefix("file://")).exists():
            raise UsageError(f"--input {arguments.input} does not exist; generate or point to data")
    return SweepPlan(
        counts=arguments.executors,
        output=arguments.output,
        prices=prices,
        node_size=arguments.node_size,
        executor_cores=arguments.executor_cores,
        executor_core_request=arguments.executor_core_request,
        executor_memory=arguments.executor_memory,
        input_path=arguments.input or "",
        deadline_seconds=arguments.deadline,
    )


@contextmanager
def _staging(output: Path) -> Iterator[Path]:
    """A hidden sibling of `output` that becomes `output` on success and vanishes otherwise."""
    parent = output.resolve().parent
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".partial", dir=parent))
    share_like_new_files(staging)
    try:
        yield staging
        if output.exists():
            output.rmdir()  # empty, checked by _check_output
        staging.rename(output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _interrupt_on_sigterm() -> None:
    def raise_interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, raise_interrupt)


def sweep(
    sweep_plan: SweepPlan,
    backend: Backend,
    backend_name: str,
    console: Console,
) -> list[SweepRow]:
    note = backend.describe(sweep_plan.counts)
    console.print(note)
    rows: list[SweepRow] = []
    with _staging(sweep_plan.output) as staging:
        (staging / "runs").mkdir()
        (staging / "logs").mkdir()
        progress = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} runs"),
            TimeElapsedColumn(),
            console=console,
        )
        with progress:
            task = progress.add_task("sweep", total=len(sweep_plan.counts))
            for count in sweep_plan.counts:
                progress.update(task, description=f"training with {executors_phrase(count)}")
                name = f"executors-{count}"
                metrics = backend.run(
                    count, staging / "runs" / name, staging / "logs" / f"{name}.log"
                )
                if metrics.executors != count:
                    console.print(
                        f"[yellow]warning:[/] asked for {count} executors, "
                        f"the trainer fitted with {metrics.executors}"
                    )
                cost = run_cost(
                    sweep_plan.prices,
                    sweep_plan.node_size,
                    count,
                    parse_cpu_millis(sweep_plan.executor_core_request),
                    sweep_plan.executor_memory,
                    metrics.total_seconds,
                )
                rows.append(
                    SweepRow(
                        executors=count,
                        scale_up_seconds=metrics.executor_wait_seconds,
                        train_seconds=metrics.train_seconds,
                        total_seconds=metrics.total_seconds,
                        accuracy=metrics.accuracy,
                        weighted_precision=metrics.weighted_precision,
                        weighted_recall=metrics.weighted_recall,
                        f1=metrics.f1,
                        executors_lost=metrics.executors_lost,
                        nodes=cost.nodes,
                        cost_usd=cost.cost_usd,
                    )
                )
                progress.advance(task)
        context = SweepContext(
            backend=backend_name,
            input_path=sweep_plan.input_path or "(the image's baked sample)",
            node_size=sweep_plan.node_size,
            executor_cores=sweep_plan.executor_cores,
            executor_core_request=sweep_plan.executor_core_request,
            executor_memory=sweep_plan.executor_memory,
            prices_as_of=sweep_plan.prices.as_of,
            monthly_price_usd=sweep_plan.prices.monthly_price_usd(sweep_plan.node_size),
            deadline_seconds=sweep_plan.deadline_seconds,
            machine_note=note,
        )
        write_reports(rows, context, staging)
    return rows


def _backend(
    arguments: argparse.Namespace, sweep_plan: SweepPlan
) -> AbstractContextManager[Backend]:
    if arguments.backend == "local":
        from spark_runs.sweep_local import LocalBackend

        return nullcontext(
            LocalBackend(
                sweep_plan.input_path,
                sweep_plan.executor_cores,
                sweep_plan.executor_memory,
                arguments.fraction,
            )
        )
    from spark_runs.sweep_cluster import cluster_backend

    try:
        return cluster_backend(arguments, sweep_plan.input_path)
    except ValueError as error:
        raise UsageError(str(error)) from None


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    errors = Console(stderr=True)
    try:
        sweep_plan = plan(arguments)
        backend_context = _backend(arguments, sweep_plan)
    except UsageError as error:
        print(f"python -m spark_runs.sweep: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    _interrupt_on_sigterm()
    try:
        with backend_context as backend:
            rows = sweep(sweep_plan, backend, arguments.backend, errors)
    except KeyboardInterrupt:
        errors.print("interrupted: stopped what the sweep started; no output was written")
        return EXIT_INTERRUPTED
    except RunFailed as error:
        print(f"run failed: {error}\nno output was written", file=sys.stderr)
        return 1
    print(f"wrote {arguments.output}/results.csv, results.md and sweep.png")
    for line in recommendation_lines(rows, sweep_plan.deadline_seconds):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
