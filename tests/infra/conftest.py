"""Run the Pulumi program under mocks (infra.offline) once per config and share the result."""

from collections.abc import Callable

import pytest

from infra.offline import OfflineRun, run_offline

DEV_STACK = "dev"


@pytest.fixture(scope="module")
def program() -> Callable[..., OfflineRun]:
    """``program(stack="dev", **config)``: the program's declared resources and outputs."""
    cache: dict[tuple[str, tuple[tuple[str, str], ...]], OfflineRun] = {}

    def run(stack: str = DEV_STACK, **config: str) -> OfflineRun:
        key = (stack, tuple(sorted(config.items())))
        if key not in cache:
            cache[key] = run_offline(config, stack)
        return cache[key]

    return run
