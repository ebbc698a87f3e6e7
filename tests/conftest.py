"""Preflight for the test run: the tools the slow tests need, checked before any test starts.

When the run selects slow tests (real Spark, Prometheus, the Pushgateway) and one of those tools
is missing, CI=true stops here with the install command instead of failing test after test; on a
laptop the header says which tests will skip and how to install what they need.
"""

import pytest

from monitoring import preflight
from tests.support import in_ci


def _slow_tests_selected(config: pytest.Config) -> bool:
    return "not slow" not in " ".join(str(config.option.markexpr or "").split())


def pytest_sessionstart(session: pytest.Session) -> None:
    if _slow_tests_selected(session.config) and in_ci() and (missing := preflight.missing()):
        pytest.exit(f"preflight: {preflight.describe(missing)} (required when CI=true)", 3)


def pytest_report_header(config: pytest.Config) -> str | None:
    if _slow_tests_selected(config) and (missing := preflight.missing()):
        return f"preflight: {preflight.describe(missing)}; slow tests needing them skip or fail"
    return None
