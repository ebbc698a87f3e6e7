"""Waiting with deadlines (on a fake clock) and the hard limit's interrupt (on a real process)."""

import signal
import subprocess
import time
from pathlib import Path

import pytest

from spark_runs.live.deadline import Deadline, DeadlineExceeded, Pending, interrupt_at, wait_for


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_wait_returns_the_first_value_and_sleeps_between_probes() -> None:
    clock = FakeClock()
    answers: list[str | Pending] = [Pending("PENDING"), Pending("RUNNING"), "COMPLETED"]
    result = wait_for("run", lambda: answers.pop(0), Deadline(60, clock), 10, clock.sleep)
    assert result == "COMPLETED"
    assert clock.now == 1020.0


def test_a_wait_past_its_deadline_names_what_it_last_saw() -> None:
    clock = FakeClock()
    with pytest.raises(DeadlineExceeded, match="run: not reached within 30 s; last seen: RUNNING"):
        wait_for("run", lambda: Pending("RUNNING"), Deadline(30, clock), 10, clock.sleep)
    assert clock.now == 1030.0  # the last sleep is cut to the deadline


def test_a_probe_that_sees_failure_ends_the_wait_at_once() -> None:
    clock = FakeClock()

    def probe() -> str | Pending:
        raise AssertionError("train ended FAILED")

    with pytest.raises(AssertionError, match="FAILED"):
        wait_for("run", probe, Deadline(600, clock), 10, clock.sleep)
    assert clock.now == 1000.0


def test_a_step_deadline_never_ends_after_the_overall_one() -> None:
    clock = FakeClock()
    overall = Deadline(100, clock)
    clock.sleep(70)
    assert overall.within(60).remaining() == 30
    clock.sleep(30)
    with pytest.raises(DeadlineExceeded, match="used up"):
        overall.within(60)


def test_a_deadline_needs_time() -> None:
    with pytest.raises(ValueError, match="positive"):
        Deadline(0)


def running_as(process: "subprocess.Popen[bytes]", name: str) -> bool:
    """Whether the child has exec'd `name` (until then it is a copy of this Python process)."""
    return Path(f"/proc/{process.pid}/comm").read_text().strip() == name


def test_the_hard_limit_interrupts_the_running_command() -> None:
    interrupted: list[list[int]] = []
    # Nothing but SIGINT ends this child, whose command only ends at a signal.
    process = subprocess.Popen(["sleep", "infinity"])
    try:
        # The watchdog finds the command by name, so wait for the exec rather than for a while.
        while not running_as(process, "sleep"):
            assert process.poll() is None
            time.sleep(0.01)
        with interrupt_at(Deadline(0.01), "sleep", interrupted.append):
            # A guard against a hang, never reached: only SIGINT ends this wait.
            returncode = process.wait(timeout=300)
    finally:
        process.kill()
        process.wait()
    assert returncode == -signal.SIGINT
    assert interrupted == [[process.pid]]


def test_a_command_that_ends_in_time_is_left_alone() -> None:
    interrupted: list[list[int]] = []
    # A deadline no machine reaches: leaving the block, not the clock, ends the watch.
    with interrupt_at(Deadline(24 * 3600), "sleep", interrupted.append):
        subprocess.run(["sleep", "0.1"], check=True)
    assert interrupted == []
