"""Waiting for a process the test started: on what it does, never on how long it usually takes.

A wait ends when the awaited thing happens, or at once when the process exits before it. The
guard below only stops a process that does neither from hanging CI; it is no estimate of how
long a start takes, which on a shared, busy runner can be many times the usual.
"""

import subprocess
import time
import urllib.request
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

HANG_GUARD_SECONDS = 900.0
POLL_SECONDS = 0.2


def wait_while_running(
    what: str,
    process: subprocess.Popen[bytes] | subprocess.Popen[str],
    probe: Callable[[], T | None],
) -> T:
    """The first value `probe` returns that is not None; fails if `process` exits first."""
    guard = time.monotonic() + HANG_GUARD_SECONDS
    while True:
        if process.poll() is not None:
            raise AssertionError(f"{what}: the process exited ({process.returncode}) first")
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > guard:
            raise AssertionError(f"{what}: neither happened nor failed in {HANG_GUARD_SECONDS} s")
        time.sleep(POLL_SECONDS)


def wait_until(what: str, probe: Callable[[], T | None]) -> T:
    """The first value `probe` returns that is not None, for what runs in this process."""
    guard = time.monotonic() + HANG_GUARD_SECONDS
    while (value := probe()) is None:
        if time.monotonic() > guard:
            raise AssertionError(f"{what}: did not happen in {HANG_GUARD_SECONDS} s")
        time.sleep(POLL_SECONDS)
    return value


def answers(url: str) -> bool | None:
    """True once `url` answers a GET with a success, None until then."""
    try:
        with urllib.request.urlopen(url, timeout=30):
            return True
    except OSError:
        return None
