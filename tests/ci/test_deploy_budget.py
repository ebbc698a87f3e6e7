"""Each deploy job outlasts the `pulumi up` it runs, as derived from its stack's settings.

GitHub kills a job at its `timeout-minutes`; pulumi killed that way leaves pending creates and a
locked DIY backend. The job's limit is therefore the sum of the limits pulumi and the providers
apply themselves (infra/deploy_budget.py), computed from the stack file the job deploys.
"""

from typing import Any

import pytest
import yaml

from infra.deploy_budget import deploy_budget
from infra.render import stack_config
from infra.settings import load_settings
from tests.support import REPO_ROOT

WORKFLOWS_DIR = REPO_ROOT / ".github" / "workflows"
# GitHub-hosted runners end every job after 6 hours, whatever timeout-minutes says.
GITHUB_JOB_LIMIT_MINUTES = 6 * 60


def deploy_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    """(workflow file, stack, job) for every job that runs `pulumi up`."""
    found = []
    for path in sorted(WORKFLOWS_DIR.glob("*.yml")):
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            for step in job.get("steps", []):
                inputs = step.get("with", {})
                runs_pulumi = str(step.get("uses", "")).startswith("pulumi/")
                if runs_pulumi and inputs.get("command") == "up":
                    found.append((path.name, inputs["stack-name"], job))
    return found


def test_dev_and_prod_are_deployed() -> None:
    assert sorted(stack for _, stack, _ in deploy_jobs()) == ["dev", "prod"]


@pytest.mark.parametrize(
    ("workflow", "stack", "job"), deploy_jobs(), ids=[stack for _, stack, _ in deploy_jobs()]
)
def test_the_deploy_job_timeout_is_derived_from_its_stack(
    workflow: str, stack: str, job: dict[str, Any]
) -> None:
    budget = deploy_budget(load_settings(stack_config(stack)))
    assert job["timeout-minutes"] == budget.job_timeout_minutes, (
        f"{workflow}: set timeout-minutes to {budget.job_timeout_minutes} ({budget}), "
        f"derived from Pulumi.{stack}.yaml"
    )
    assert budget.job_timeout_minutes <= GITHUB_JOB_LIMIT_MINUTES


def test_the_budget_follows_the_run_timeout_and_the_run_wait() -> None:
    config = stack_config("dev")
    base = deploy_budget(load_settings(config))
    longer = deploy_budget(load_settings({**config, "runTimeoutSeconds": "7200"}))
    assert longer.seconds - base.seconds == 7200 - base.run_wait
    unwaited = deploy_budget(load_settings({**config, "waitForRun": "false"}))
    assert unwaited.run_wait == 0
    assert unwaited.seconds == base.seconds - base.run_wait
