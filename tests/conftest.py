"""Keeps the live tests out of every run that does not ask for them with --live.

`make test`, `make test-quick`, CI and a bare `pytest` deselect them whatever their -m, so a
machine that happens to hold a DigitalOcean token never creates resources by accident.
"""

import pytest

LIVE_OPTION = "--live"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        LIVE_OPTION,
        action="store_true",
        help="run the tests marked live: they create and destroy a real DigitalOcean stack",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption(LIVE_OPTION):
        return
    live = [item for item in items if item.get_closest_marker("live")]
    if live:
        config.hook.pytest_deselected(items=live)
        items[:] = [item for item in items if not item.get_closest_marker("live")]
