"""No job that a pull request starts can read a secret of the `dev` or `production` environment.

Pull request code can edit the workflow it runs in, so what a pull request can read is everything
its jobs' environment holds, plus every repository secret. The workflows therefore keep every
secret in an environment (no job needs a repository secret), run every pull request job in the
`preview` environment, never in `dev` or `production` (whose deployment branch rule admits only
`main`), and give each stack its own passphrase, held only where that stack deploys. Previews diff
the preview mirror (infra/preview_mirror.py), which has its own passphrase and bucket, so the
`preview` environment holds no stack's passphrase or state key. GitHub sends a job only the
secrets it names, unless it names them dynamically; these tests read which ones each job names,
and what docs/ci-cd.md tells the user to store in each environment.
"""

import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.support import REPO_ROOT

WORKFLOWS_DIR = REPO_ROOT / ".github" / "workflows"
SETUP_DOC = REPO_ROOT / "docs" / "ci-cd.md"
PULL_REQUEST_EVENTS = {"pull_request", "pull_request_target", "pull_request_review"}
# Events that run with the base repository's secrets on what a pull request brought.
PRIVILEGED_PULL_REQUEST_EVENTS = {"pull_request_target", "workflow_run"}
PREVIEW_ENVIRONMENT = "preview"
DEPLOY_ENVIRONMENTS = {"dev": "dev", "prod": "production"}
# Everything the `preview` environment holds, all of it readable by pull request code: a read-only
# DigitalOcean token, a key that can only read the preview mirror's bucket, and the mirror's
# passphrase. The mirror holds every stack's state with its secrets redacted.
PREVIEW_SECRETS = {
    "DIGITALOCEAN_TOKEN",
    "MIRROR_ACCESS_KEY_ID",
    "MIRROR_SECRET_ACCESS_KEY",
    "PREVIEW_CONFIG_PASSPHRASE",
}
MIRROR_PASSPHRASE = "PREVIEW_CONFIG_PASSPHRASE"
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
    # The mirror's passphrase encrypts the redacted copy the job publishes after `up`.
    assert passphrases == {f"PULUMI_CONFIG_PASSPHRASE_{stack.upper()}", MIRROR_PASSPHRASE}
    assert job["env"]["PULUMI_CONFIG_PASSPHRASE"] == (
        f"${{{{ secrets.PULUMI_CONFIG_PASSPHRASE_{stack.upper()} }}}}"
    )


def run_steps(job: dict[str, Any]) -> list[str]:
    return [str(step.get("run", "")) for step in job.get("steps", [])]


def pulumi_commands(job: dict[str, Any]) -> list[tuple[int, str]]:
    return [
        (index, str(step.get("with", {}).get("command")))
        for index, step in enumerate(job.get("steps", []))
        if str(step.get("uses", "")).startswith("pulumi/") and step.get("with", {}).get("command")
    ]


def test_pull_request_jobs_preview_the_mirror_with_its_own_passphrase() -> None:
    for name, job_id, job in pull_request_jobs():
        env = job["env"]
        assert env["PULUMI_CONFIG_PASSPHRASE"] == f"${{{{ secrets.{MIRROR_PASSPHRASE} }}}}"
        assert env["PULUMI_BACKEND_URL"] == "${{ vars.PREVIEW_BACKEND_URL }}", (name, job_id)
        assert env["PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER"] == "true", (name, job_id)
        # The stack file is pointed at the mirror before the preview reads it.
        ((preview_at, command),) = pulumi_commands(job)
        assert command == "preview", (name, job_id)
        prepared = [
            index
            for index, run in enumerate(run_steps(job))
            if "-m infra.preview_mirror stack-file" in run
        ]
        assert prepared and prepared[0] < preview_at, (name, job_id)


@pytest.mark.parametrize("stack", sorted(DEPLOY_ENVIRONMENTS))
def test_each_deploy_publishes_its_preview_mirror_after_up(stack: str) -> None:
    (job,) = [job for _, _, _, job in jobs() if deploy_stack(job) == stack]
    ((up_at, _),) = pulumi_commands(job)
    steps = job["steps"]
    published = [
        index
        for index, run in enumerate(run_steps(job))
        if f"-m infra.preview_mirror publish {stack}" in run
    ]
    assert published and published[0] > up_at
    # A failed update changes the state too; only a cancelled job leaves the mirror behind.
    assert steps[published[0]]["if"] == "${{ !cancelled() }}"
    assert job["env"]["PREVIEW_BACKEND_URL"] == "${{ vars.PREVIEW_BACKEND_URL }}"


def documented_secrets() -> dict[str, set[str]]:
    """Environment -> the secrets docs/ci-cd.md tells the user to set in it."""
    held: dict[str, set[str]] = {}
    for name, env in re.findall(r"gh secret set (\w+) --env ([\w-]+)", SETUP_DOC.read_text()):
        held.setdefault(env, set()).add(name)
    return held


def test_the_setup_gives_the_preview_environment_no_stack_passphrase_or_state_key() -> None:
    held = documented_secrets()
    assert held[PREVIEW_ENVIRONMENT] == PREVIEW_SECRETS
    for environment_name in DEPLOY_ENVIRONMENTS.values():
        # What dev or production holds and preview does not: none of it reaches pull requests.
        own = held[environment_name] - PREVIEW_SECRETS
        assert {"STATE_ACCESS_KEY_ID", "STATE_SECRET_ACCESS_KEY"} <= own, environment_name
        assert any(name.startswith("PULUMI_CONFIG_PASSPHRASE_") for name in own), environment_name
    # Each stack's passphrase is held by the environment that deploys it, and by no other.
    for stack, environment_name in DEPLOY_ENVIRONMENTS.items():
        passphrase = f"PULUMI_CONFIG_PASSPHRASE_{stack.upper()}"
        assert [env for env, names in held.items() if passphrase in names] == [environment_name]
