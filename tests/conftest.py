"""Test-run rules that hold for every test: live tests only on request, and a preflight.

Live tests: `make test`, `make test-quick`, CI and a bare `pytest` deselect them whatever their -m,
so a machine that happens to hold a DigitalOcean token never creates resources by accident.

Preflight: when the run selects slow tests (real Spark, Prometheus, the Pushgateway) and one of
those tools is missing, CI=true stops before the first test with the install command instead of
failing test after test; on a laptop the header says what is missing and how to install it.
"""

import pytest

from monitoring import preflight
from tests.support import in_ci

LIVE_OPTION = "--live"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        LIVE_OPTION,
        action="store_true",
        help="run the tests marked live: they create and destroy a real DigitalOcean stack",
    )


def _deselect(config: pytest.Config, items: list[pytest.Item], marker: str) -> None:
    chosen = [item for item in items if item.get_closest_marker(marker)]
    if chosen:
        config.hook.pytest_deselected(items=chosen)
        items[:] = [item for item in items if not item.get_closest_marker(marker)]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption(LIVE_OPTION):
        _deselect(config, items, "live")


def _slow_tests_selected(config: pytest.Config) -> bool:
    return "not slow" not in " ".join(str(config.option.markexpr or "").split())


def pytest_sessionstart(session: pytest.Session) -> None:
    if _slow_tests_selected(session.config) and in_ci() and (missing := preflight.missing()):
        pytest.exit(f"preflight: {preflight.describe(missing)} (required when CI=true)", 3)


def pytest_report_header(config: pytest.Config) -> str | None:
    if _slow_tests_selected(config) and (missing := preflight.missing()):
        return f"preflight: {preflight.describe(missing)}; slow tests needing them skip or fail"
    return None
