"""The test run's preflight (tests/conftest.py): CI stops before the first test without Java."""

import subprocess
import sys
from pathlib import Path

from tests.support import REPO_ROOT, env_without_java

SOME_QUICK_TESTS = "tests/ci/test_makefile.py"


def run_pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**env_without_java(tmp_path), "CI": "true"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args, SOME_QUICK_TESTS],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ci_without_java_stops_before_any_test_with_the_install_command(tmp_path: Path) -> None:
    result = run_pytest(tmp_path)
    assert result.returncode == 3
    assert "sudo apt-get install openjdk-17-jre-headless" in result.stdout + result.stderr
    assert "passed" not in result.stdout


def test_the_quick_subset_needs_no_java(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "-m", "not slow")
    assert result.returncode == 0, result.stdout + result.stderr
