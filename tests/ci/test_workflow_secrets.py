"""No job that a pull request starts can read a secret of the `dev` or `production` environment.

Pull request code can edit the workflow it runs in, so what a pull request can read is everything
its jobs' environment holds, plus every repository secret. The workflows therefore keep every
secret in an environment (no job needs a repository secret), run every pull request job in the
`preview` environment, never in `dev` or `production` (whose deployment branch rule admits only
`main`), and give each stack its own passphrase. GitHub sends a job only the secrets it names,
unless it names them dynamically; these tests read which ones each job names.
"""

import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.support import REPO_ROOT

WORKFLOWS_DIR = REPO_ROOT / ".github" / "workflows"
PULL_REQUEST_EVENTS = {"pull_request", "pull_request_target", "pull_request_review"}
# Events that run with the base repository's secrets on what a pull request brought.
PRIVILEGED_PULL_REQUEST_EVENTS = {"pull_request_target", "workflow_run"}
PREVIEW_ENVIRONMENT = "preview"
DEPLOY_ENVIRONMENTS = {"dev": "dev", "prod": "production"}
# Everything the `preview` environment holds, all of it readable by pull request code: a read-only
# DigitalOcean token, a key that can only read the state bucket, and the stacks' passphrases.
PREVIEW_SECRETS = {
    "DIGITALOCEAN_TOKEN",
    "STATE_ACCESS_KEY_ID",
    "STATE_SECRET_ACCESS_KEY",
    "PULUMI_ACCESS_TOKEN",
    "PULUMI_CONFIG_PASSPHRASE_ACCOUNT",
    "PULUMI_CONFIG_PASSPHRASE_DEV",
    "PULUMI_CONFIG_PASSPHRASE_PROD",
}
# The provider's Spaces key creates buckets and keys, so it can reach every bucket of the team.
DEPLOY_ONLY_SECRETS = {"SPACES_ACCESS_KEY_ID", "SPACES_SECRET_ACCESS_KEY"}
SECRET_REFERENCE = re.compile(r"\bsecrets\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)")
ALL_SECRETS = re.compile(r"\bsecrets\s*\[|toJSON\(\s*secrets\s*\)|secrets:\s*inherit", re.I)


def triggers(workflow: dict[str, Any]) -> set[str]:
    # YAML 1.1 reads the bare key `on` as the boolean true.
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return {on}
    return set(on)


def jobs() -> Iterator[tuple[str, set[str], str, dict[str, Any]]]:
    """(file, triggers, job id, job) for every job of every workflow."""
    for path in sorted(WORKFLOWS_DIR.glob("*.y*ml")):
        workflow = yaml.safe_load(path.read_text())
        for job_id, job in workflow["jobs"].items():
            yield path.name, triggers(workflow), job_id, job


def pull_request_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (name, job_id, job)
        for name, events, job_id, job in jobs()
        if events & (PULL_REQUEST_EVENTS | PRIVILEGED_PULL_REQUEST_EVENTS)
    ]


def job_text(job: dict[str, Any]) -> str:
    return yaml.safe_dump(job, width=10_000)


def secrets_named(job: dict[str, Any]) -> set[str]:
    return set(SECRET_REFERENCE.findall(job_text(job))) - {"GITHUB_TOKEN"}


def environment(job: dict[str, Any]) -> str | None:
    env = job.get("environment")
    return env.get("name") if isinstance(env, dict) else env


def deploy_stack(job: dict[str, Any]) -> str | None:
    for step in job.get("steps", []):
        inputs = step.get("with", {})
        if str(step.get("uses", "")).startswith("pulumi/") and inputs.get("command") == "up":
            return str(inputs["stack-name"])
    return None


def test_pull_requests_start_jobs() -> None:
    assert pull_request_jobs(), "no workflow runs on pull requests: this file tests nothing"


def test_no_workflow_runs_pull_request_code_with_the_base_repository_secrets() -> None:
    for name, events, _, _ in jobs():
        assert not events & PRIVILEGED_PULL_REQUEST_EVENTS, name


def test_every_secret_is_read_inside_an_environment() -> None:
    # So every secret can be an environment secret, and the setup keeps no repository secret.
    for name, _, job_id, job in jobs():
        if secrets_named(job):
            assert environment(job) is not None, (name, job_id)


def test_pull_request_jobs_run_only_in_the_preview_environment() -> None:
    for name, job_id, job in pull_request_jobs():
        # A literal: an expression could pick another environment per pull request.
        assert environment(job) == PREVIEW_ENVIRONMENT, (name, job_id)


def test_pull_request_jobs_name_only_what_the_preview_environment_holds() -> None:
    for name, job_id, job in pull_request_jobs():
        assert secrets_named(job) <= PREVIEW_SECRETS, (name, job_id)
        assert not secrets_named(job) & DEPLOY_ONLY_SECRETS, (name, job_id)
        # A dynamic reference would send the job every secret it can reach.
        assert ALL_SECRETS.search(job_text(job)) is None, (name, job_id)


def test_only_main_deploys_and_only_to_its_own_environment() -> None:
    deployed = {}
    for name, events, job_id, job in jobs():
        stack = deploy_stack(job)
        if environment(job) in DEPLOY_ENVIRONMENTS.values():
            assert stack is not None, (name, job_id)
            assert not events & PULL_REQUEST_EVENTS, (name, job_id)
        if stack is not None:
            assert environment(job) == DEPLOY_ENVIRONMENTS[stack], (name, job_id)
            deployed[stack] = job
    assert set(deployed) == set(DEPLOY_ENVIRONMENTS)


@pytest.mark.parametrize("stack", sorted(DEPLOY_ENVIRONMENTS))
def test_each_deploy_job_reads_its_own_stack_passphrase_and_no_other(stack: str) -> None:
    (job,) = [job for _, _, _, job in jobs() if deploy_stack(job) == stack]
    passphrases = {name for name in secrets_named(job) if "PASSPHRASE" in name}
    assert passphrases == {f"PULUMI_CONFIG_PASSPHRASE_{stack.upper()}"}
    assert job["env"]["PULUMI_CONFIG_PASSPHRASE"] == (
        f"${{{{ secrets.PULUMI_CONFIG_PASSPHRASE_{stack.upper()} }}}}"
    )


def matrix_passphrase(expression: str, stack: str) -> str:
    """Which secret the preview's passphrase expression selects for one matrix leg."""
    clauses = re.findall(r"\(matrix\.stack == '(\w+)' && secrets\.(\w+)\)", expression)
    selected = [secret for leg, secret in clauses if leg == stack]
    assert len(selected) == 1, (stack, expression)
    return selected[0]


def test_each_preview_leg_reads_its_own_stack_passphrase() -> None:
    for name, job_id, job in pull_request_jobs():
        expression = job["env"]["PULUMI_CONFIG_PASSPHRASE"]
        for stack in job["strategy"]["matrix"]["stack"]:
            secret = matrix_passphrase(expression, stack)
            assert secret == f"PULUMI_CONFIG_PASSPHRASE_{stack.upper()}", (name, job_id)
        # An unset secret ends in the empty string, which the settings check reports, rather
        # than in another stack's passphrase.
        assert expression.endswith("|| '' }}"), (name, job_id)
