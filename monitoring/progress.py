"""Steps of a long command, shown so a person can follow them.

On a terminal each step is a spinner with its elapsed time, replaced by a line with its duration
when it ends; otherwise (a log, CI) each step prints one line when it starts and one when it ends,
so redirected output is never silent for long.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


class Steps:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.seconds: dict[str, float] = {}

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        """Show ``title`` while the block runs and record how long it took."""
        started = time.monotonic()
        if self.console.is_terminal:
            columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
            with Progress(*columns, console=self.console, transient=True) as progress:
                progress.add_task(title, total=None)
                yield
        else:
            self.console.print(f"{title} ...", soft_wrap=True)
            yield
        self.seconds[title] = time.monotonic() - started
        self.console.print(f"{title}: done in {self.seconds[title]:.1f} s", soft_wrap=True)
