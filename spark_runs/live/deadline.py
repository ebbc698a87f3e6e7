"""Waiting with deadlines, and a hard time limit on the Pulumi commands the live test runs.

Every wait of the live test has a deadline taken from one overall budget, so a run that never
completes fails with what was last seen instead of hanging a CI runner. A `pulumi up` cannot be
stopped by an exception in Python (the Automation API waits for its subprocess), so at the hard
limit the watchdog sends the CLI SIGINT: Pulumi then cancels the update cleanly, finishing the
resource operations in flight, and the destroy that follows finds consistent state.
"""

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

Clock = Callable[[], float]


class DeadlineExceeded(TimeoutError):
    """A wait ran out of time; the message says what was awaited and what was last seen."""


@dataclass
class Deadline:
    seconds: float
    clock: Clock = time.monotonic
    started: float = field(init=False)

    def __post_init__(self) -> None:
        if self.seconds <= 0:
            raise ValueError(f"a deadline needs a positive number of seconds, got {self.seconds}")
        self.started = self.clock()

    def elapsed(self) -> float:
        return self.clock() - self.started

    def remaining(self) -> float:
        return max(0.0, self.seconds - self.elapsed())

    def expired(self) -> bool:
        return self.remaining() == 0.0

    def within(self, seconds: float) -> "Deadline":
        """A deadline of at most `seconds` that never ends after this one."""
        if self.expired():
            raise DeadlineExceeded(f"the overall limit of {self.seconds:.0f} s is used up")
        return Deadline(min(seconds, self.remaining()), self.clock)


@dataclass(frozen=True)
class Pending:
    """A probe's answer while the awaited state is not reached: what it saw instead."""

    status: str


def wait_for(
    what: str,
    probe: Callable[[], T | Pending],
    deadline: Deadline,
    interval_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call `probe` until it returns a value (not Pending) or the deadline passes.

    A probe that sees a state which can never lead to success (a FAILED run) raises instead of
    returning Pending, so a failure ends the wait at once rather than at the deadline.
    """
    status = "not probed yet"
    while True:
        answer = probe()
        if not isinstance(answer, Pending):
            return answer
        status = answer.status
        if deadline.remaining() <= 0:
            raise DeadlineExceeded(
                f"{what}: not reached within {deadline.seconds:.0f} s; last seen: {status}"
            )
        sleep(min(interval_seconds, deadline.remaining()))


def _children_named(name: str) -> list[int]:
    result = subprocess.run(
        ["pgrep", "-P", str(os.getpid()), "-x", name],
        capture_output=True,
        text=True,
        check=False,
    )
    return [int(pid) for pid in result.stdout.split()]


@contextmanager
def interrupt_at(
    deadline: Deadline, command: str, on_interrupt: Callable[[list[int]], None]
) -> Iterator[None]:
    """While inside, SIGINT every child process named `command` once the deadline passes."""
    done = threading.Event()

    def watch() -> None:
        if done.wait(deadline.remaining()):
            return
        pids = _children_named(command)
        for pid in pids:
            os.kill(pid, signal.SIGINT)
        on_interrupt(pids)

    watcher = threading.Thread(target=watch, name=f"interrupt-{command}", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()
