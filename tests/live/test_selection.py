"""The live tests run only when asked for, and skip offline with the reason when they cannot."""

import os
import subprocess
import sys
from pathlib import Path

from tests.live.conftest import REQUIRED_ENV
from tests.live.session import project_copy
from tests.support import REPO_ROOT

PLATFORM_TEST = "tests/live/test_platform.py"
# Every test in that file is a live step.
LIVE_STEPS = (REPO_ROOT / PLATFORM_TEST).read_text().count("\ndef test_")


def pytest_run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def environment_without(*names: str) -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key not in {*names, "CI"}}


def test_without_live_even_a_live_marker_selects_nothing() -> None:
    # A token in the environment must not be enough to create resources.
    env = {**environment_without(), **dict.fromkeys(REQUIRED_ENV, "not-a-real-value")}
    result = pytest_run("-m", "live", PLATFORM_TEST, env=env)
    assert result.returncode == 5, result.stdout  # pytest: no tests ran
    assert f"{LIVE_STEPS} deselected" in result.stdout


def test_make_test_live_without_a_token_skips_with_the_reason_offline() -> None:
    env = environment_without("DIGITALOCEAN_TOKEN")
    result = pytest_run(
        "--live", "-m", "live", "-p", "tests.live.no_network", "-rs", PLATFORM_TEST, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{LIVE_STEPS} skipped" in result.stdout
    assert "live test not run, missing: DIGITALOCEAN_TOKEN" in result.stdout


def test_the_stack_runs_from_a_copy_without_stack_files_or_state(tmp_path: Path) -> None:
    copy = project_copy(tmp_path / "project")
    assert (copy / "Pulumi.yaml").read_bytes() == (REPO_ROOT / "Pulumi.yaml").read_bytes()
    assert (copy / "__main__.py").is_file() and (copy / "spark_job" / "Dockerfile").is_file()
    assert list(copy.glob("Pulumi.*.yaml")) == []
    assert not (copy / ".git").exists() and not (copy / "tests").exists()
    assert (copy / "venv").resolve() == (REPO_ROOT / "venv").resolve()
