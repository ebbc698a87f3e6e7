"""What an executor sweep writes: results.csv, results.md and sweep.png."""

import csv
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from spark_runs.cost import best_cost_time, cheapest_within_deadline


@dataclass(frozen=True)
class SweepRow:
    executors: int
    scale_up_seconds: float
    train_seconds: float
    total_seconds: float
    accuracy: float
    weighted_precision: float
    weighted_recall: float
    f1: float
    executors_lost: int
    nodes: int
    cost_usd: float


@dataclass(frozen=True)
class SweepContext:
    """What the numbers depend on, printed above the table."""

    backend: str
    input_path: str
    node_size: str
    executor_cores: int
    executor_core_request: str
    executor_memory: str
    prices_as_of: str
    monthly_price_usd: float
    deadline_seconds: float | None
    machine_note: str


@dataclass(frozen=True)
class Scaling:
    executors: int
    speedup: float
    efficiency: float


def executors_phrase(count: int) -> str:
    return f"{count} executor" if count == 1 else f"{count} executors"


def scaling(rows: Sequence[SweepRow]) -> list[Scaling]:
    """Speedup and parallel efficiency of training time against the smallest executor count."""
    baseline = min(rows, key=lambda row: row.executors)
    result = []
    for row in sorted(rows, key=lambda row: row.executors):
        speedup = baseline.train_seconds / row.train_seconds
        result.append(Scaling(row.executors, speedup, speedup * baseline.executors / row.executors))
    return result


def write_csv(rows: Sequence[SweepRow], path: Path) -> None:
    by_count = {item.executors: item for item in scaling(rows)}
    columns = [field.name for field in fields(SweepRow)] + ["speedup", "parallel_efficiency"]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in sorted(rows, key=lambda row: row.executors):
            writer.writerow(
                {
                    **asdict(row),
                    "speedup": round(by_count[row.executors].speedup, 4),
                    "parallel_efficiency": round(by_count[row.executors].efficiency, 4),
                }
            )


def recommendation_lines(rows: Sequence[SweepRow], deadline_seconds: float | None) -> list[str]:
    best = best_cost_time(rows)
    lines = [
        f"Lowest cost x time: {executors_phrase(best.executors)} "
        f"({best.total_seconds:.1f} s, ${best.cost_usd:.4f} per run)."
    ]
    if deadline_seconds is None:
        lines.append("No deadline given (--deadline SECONDS): no cheapest-in-time pick.")
        return lines
    in_time = cheapest_within_deadline(rows, deadline_seconds)
    if in_time is None:
        fastest = min(rows, key=lambda row: row.total_seconds)
        lines.append(
            f"No executor count met the {deadline_seconds:g} s deadline "
            f"(fastest: {executors_phrase(fastest.executors)} in {fastest.total_seconds:.1f} s)."
        )
    else:
        lines.append(
            f"Cheapest within {deadline_seconds:g} s: {executors_phrase(in_time.executors)} "
            f"({in_time.total_seconds:.1f} s, ${in_time.cost_usd:.4f} per run)."
        )
    return lines


def markdown(rows: Sequence[SweepRow], context: SweepContext) -> str:
    by_count = {item.executors: item for item in scaling(rows)}
    baseline = min(row.executors for row in rows)
    header = (
        "| executors | scale-up time (s) | training time (s) | total time (s) | accuracy "
        "| precision | recall | F1 | speedup | efficiency | lost executors | nodes "
        "| cost per run (USD) |"
    )
    lines = [
        "# Executor sweep",
        "",
        f"- Backend: {context.backend}. {context.machine_note}".rstrip(),
        f"- Input: `{context.input_path}`",
        f"- Executors: {context.executor_cores} core(s) requesting "
        f"{context.executor_core_request} CPU, {context.executor_memory} each.",
        f"- Cost: {context.node_size} nodes at ${context.monthly_price_usd:g}/month "
        f"(prices as of {context.prices_as_of}), billed per second, nodes counted by the "
        "stack's fit rules (driver included).",
        "- Scale-up time: from the application's start until the last executor it trained with "
        "registered (training waits for every executor).",
        f"- Speedup and efficiency: training time relative to {executors_phrase(baseline)}.",
        "",
        header,
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in sorted(rows, key=lambda row: row.executors):
        scale = by_count[row.executors]
        lines.append(
            f"| {row.executors} | {row.scale_up_seconds:.1f} | {row.train_seconds:.1f} "
            f"| {row.total_seconds:.1f} | {row.accuracy:.4f} | {row.weighted_precision:.4f} "
            f"| {row.weighted_recall:.4f} | {row.f1:.4f} | {scale.speedup:.2f} "
            f"| {scale.efficiency:.0%} | {row.executors_lost} | {row.nodes} | {row.cost_usd:.4f} |"
        )
    lines += ["", "## Recommendation", ""]
    lines += [f"- {line}" for line in recommendation_lines(rows, context.deadline_seconds)]
    return "\n".join(lines) + "\n"


def _legend_below(axis: Axes, twin: Axes) -> None:
    """One legend under the plot for the lines of an axis and its twin (second y axis)."""
    handles, labels = axis.get_legend_handles_labels()
    twin_handles, twin_labels = twin.get_legend_handles_labels()
    axis.legend(
        handles + twin_handles,
        labels + twin_labels,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.16),
        ncol=4,
        fontsize=9,
    )


def plot(rows: Sequence[SweepRow], context: SweepContext, path: Path) -> None:
    ordered = sorted(rows, key=lambda row: row.executors)
    counts = [row.executors for row in ordered]
    scales = scaling(ordered)
    baseline = counts[0]

    figure, (time_axis, scale_axis) = plt.subplots(1, 2, figsize=(11, 4.8))
    time_axis.plot(counts, [row.scale_up_seconds for row in ordered], "v-", label="scale-up time")
    time_axis.plot(counts, [row.train_seconds for row in ordered], "o-", label="training time")
    time_axis.plot(counts, [row.total_seconds for row in ordered], "s-", label="total time")
    time_axis.set_xlabel("executors")
    time_axis.set_ylabel("seconds")
    time_axis.set_ylim(bottom=0)
    cost_axis = time_axis.twinx()
    cost_axis.plot(
        counts, [row.cost_usd for row in ordered], "d--", color="tab:red", label="cost per run"
    )
    cost_axis.set_ylabel(f"USD per run ({context.node_size})")
    cost_axis.set_ylim(bottom=0)
    _legend_below(time_axis, cost_axis)
    time_axis.set_title("Time and cost per run")

    scale_axis.plot(counts, [item.speedup for item in scales], "o-", label="speedup")
    scale_axis.plot(
        counts, [count / baseline for count in counts], ":", color="grey", label="ideal speedup"
    )
    scale_axis.set_xlabel("executors")
    scale_axis.set_ylabel(f"speedup vs {executors_phrase(baseline)}")
    scale_axis.set_ylim(bottom=0)
    efficiency_axis = scale_axis.twinx()
    efficiency_axis.plot(
        counts,
        [item.efficiency * 100 for item in scales],
        "^--",
        color="tab:green",
        label="parallel efficiency",
    )
    efficiency_axis.set_ylabel("parallel efficiency (%)")
    efficiency_axis.set_ylim(0, 110)
    _legend_below(scale_axis, efficiency_axis)
    scale_axis.set_title("Training speedup and efficiency")

    for axis in (time_axis, scale_axis):
        axis.set_xticks(counts)
    figure.suptitle(f"Executor sweep ({context.backend})")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def write_reports(rows: Sequence[SweepRow], context: SweepContext, directory: Path) -> None:
    write_csv(rows, directory / "results.csv")
    (directory / "results.md").write_text(markdown(rows, context))
    plot(rows, context, directory / "sweep.png")
