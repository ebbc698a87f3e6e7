"""The live test and leak sweeper workflows: when they run, with what, and with how little."""

import re
from pathlib import Path
from typing import Any

import pytest

from spark_runs.live import plan
from tests.ci.test_workflows import WORKFLOWS_DIR, load, triggers

LIVE = WORKFLOWS_DIR / "live.yml"
SWEEPER = WORKFLOWS_DIR / "leak-sweeper.yml"
ENVIRONMENT = "live-test"


def only_job(path: Path) -> dict[str, Any]:
    (job,) = load(path)["jobs"].values()
    assert isinstance(job, dict)
    return job


def referenced(path: Path, kind: str) -> set[str]:
    return set(re.findall(rf"\$\{{\{{\s*{kind}\.(\w+)\s*\}}\}}", path.read_text()))


def cron_fields(path: Path) -> list[list[str]]:
    return [entry["cron"].split() for entry in triggers(load(path))["schedule"]]


def run_commands(path: Path) -> list[str]:
    return [step["run"] for step in only_job(path)["steps"] if "run" in step]


@pytest.mark.parametrize("path", [LIVE, SWEEPER], ids=lambda path: path.name)
def test_runs_only_by_hand_or_on_a_schedule(path: Path) -> None:
    assert set(triggers(load(path))) == {"workflow_dispatch", "schedule"}


def test_the_live_test_runs_weekly() -> None:
    ((minute, hour, day_of_month, month, day_of_week),) = cron_fields(LIVE)
    assert (day_of_month, month) == ("*", "*")
    assert day_of_week.isdigit() and minute.isdigit() and hour.isdigit()


def test_the_sweeper_runs_at_least_every_six_hours() -> None:
    ((_, hour, day_of_month, month, day_of_week),) = cron_fields(SWEEPER)
    assert (day_of_month, month, day_of_week) == ("*", "*", "*")
    step = re.fullmatch(r"\*/(\d+)", hour)
    assert step is not None and int(step.group(1)) <= 6


@pytest.mark.parametrize("path", [LIVE, SWEEPER], ids=lambda path: path.name)
def test_permissions_are_read_only_and_no_job_widens_them(path: Path) -> None:
    workflow = load(path)
    assert workflow["permissions"] == {"contents": "read"}
    assert all("permissions" not in job for job in workflow["jobs"].values())


@pytest.mark.parametrize("path", [LIVE, SWEEPER], ids=lambda path: path.name)
def test_only_the_live_environments_own_secrets_are_used(path: Path) -> None:
    assert only_job(path)["environment"] == ENVIRONMENT
    secrets = referenced(path, "secrets")
    assert "LIVE_DIGITALOCEAN_TOKEN" in secrets
    # Never the dev/prod deploy secrets: a live run cannot reach their account or state.
    assert all(name.startswith("LIVE_") for name in secrets | referenced(path, "vars"))


@pytest.mark.parametrize("path", [LIVE, SWEEPER], ids=lambda path: path.name)
def test_checkout_keeps_no_credentials(path: Path) -> None:
    (checkout,) = [
        s for s in only_job(path)["steps"] if s.get("uses", "").startswith("actions/checkout")
    ]
    assert checkout["with"]["persist-credentials"] is False


def test_the_live_job_runs_make_test_live_and_outlasts_the_tests_own_limit() -> None:
    job = only_job(LIVE)
    assert run_commands(LIVE) == ["make test-live"]
    # The job timeout kills the runner without a destroy; the test's limit must fire first.
    assert job["timeout-minutes"] * 60 > plan.HARD_LIMIT_SECONDS + 10 * 60
    assert job["concurrency"]["cancel-in-progress"] is False


def test_the_sweeper_never_sweeps_a_live_test_that_is_still_running() -> None:
    (command,) = run_commands(SWEEPER)
    match = re.fullmatch(
        r"venv/bin/python -m spark_runs\.live\.sweeper --older-than-hours (\d+)", command
    )
    assert match is not None
    assert int(match.group(1)) * 3600 > only_job(LIVE)["timeout-minutes"] * 60
