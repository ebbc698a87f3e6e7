"""The GitHub Actions workflows: schema-valid, and doing what docs/ci-cd.md promises.

Every assertion reads the workflow YAML itself, so a workflow edit that drops the PR comment, the
policy pack, the manual gate on production or a minimal permission fails here, not in a live run.
"""

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import REPO_ROOT

WORKFLOWS_DIR = REPO_ROOT / ".github" / "workflows"
SETUP_ACTION = REPO_ROOT / ".github" / "actions" / "pulumi-python" / "action.yml"
SETUP_ACTION_REF = "./.github/actions/pulumi-python"
PULUMI_ACTION = "pulumi/actions@8e5e406f4007fca908480587cb9893c07090f58d"
# The stack whose state and cluster live on a developer's machine (docs/decisions.md, "CI").
LOCAL_STACK = "local"
PREVIEW_ENVIRONMENT = "preview"
PRODUCTION_ENVIRONMENT = "production"
# The environment whose DigitalOcean token each kind of pulumi job gets.
ENVIRONMENT_OF_UP = {"dev": "dev", "prod": PRODUCTION_ENVIRONMENT}
# Jobs that only read stack outputs but write the team's registry (tag deletion, GC).
REGISTRY_ENVIRONMENT = "registry"
REGISTRY_JOBS = {("registry-gc.yml", "gc")}
DOCTL_ACTION = "digitalocean/action-doctl@135ac0aa0eed4437d547c6f12c364d3006b42824"
# Each job's passphrase is its stack's own (tests/ci/test_workflow_secrets.py).
SECRET_ENV = {
    "PULUMI_ACCESS_TOKEN": "PULUMI_ACCESS_TOKEN",
    "AWS_ACCESS_KEY_ID": "STATE_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY": "STATE_SECRET_ACCESS_KEY",
    "DIGITALOCEAN_TOKEN": "DIGITALOCEAN_TOKEN",
}
MIRROR_SECRET_ENV = {
    "PULUMI_CONFIG_PASSPHRASE": "PREVIEW_CONFIG_PASSPHRASE",
    "AWS_ACCESS_KEY_ID": "MIRROR_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY": "MIRROR_SECRET_ACCESS_KEY",
    "DIGITALOCEAN_TOKEN": "DIGITALOCEAN_TOKEN",
}


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict), f"{path} is not a YAML mapping"
    return document


def workflow_files() -> list[Path]:
    return sorted(WORKFLOWS_DIR.glob("*.yml")) + sorted(WORKFLOWS_DIR.glob("*.yaml"))


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the bare key `on` as the boolean true.
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    assert isinstance(on, dict)
    return on


def pulumi_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    """Steps that run a pulumi command (without one, pulumi/actions only installs the CLI)."""
    return [
        step
        for step in job.get("steps", [])
        if str(step.get("uses", "")).startswith("pulumi/") and "command" in step.get("with", {})
    ]


def pulumi_jobs() -> Iterator[tuple[Path, dict[str, Any], str, dict[str, Any]]]:
    """(file, workflow, job id, job) for every job that runs a pulumi command."""
    for path in workflow_files():
        workflow = load(path)
        for job_id, job in workflow["jobs"].items():
            if pulumi_steps(job):
                yield path, workflow, job_id, job


def stacks_run_by(job: dict[str, Any], command: str) -> set[str]:
    """Stack names a job runs `command` on, expanding a matrix over `stack`."""
    stacks: set[str] = set()
    for step in pulumi_steps(job):
        inputs = step["with"]
        if inputs["command"] != command:
            continue
        name = inputs["stack-name"]
        if name == "${{ matrix.stack }}":
            stacks.update(job["strategy"]["matrix"]["stack"])
        else:
            stacks.add(name)
    return stacks


def stack_files() -> set[str]:
    return {
        path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        for path in REPO_ROOT.glob("Pulumi.*.yaml")
    }


def check_schema(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_there_are_preview_and_deploy_workflows() -> None:
    names = {path.name for path in workflow_files()}
    assert names >= {"preview.yml", "deploy-dev.yml", "deploy-prod.yml"}


@pytest.mark.parametrize("path", workflow_files(), ids=lambda path: path.name)
def test_workflow_validates_against_the_github_workflow_schema(path: Path) -> None:
    result = check_schema("vendor.github-workflows", path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_setup_action_validates_against_the_github_action_schema() -> None:
    result = check_schema("vendor.github-actions", SETUP_ACTION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = load(WORKFLOWS_DIR / "preview.yml")
    broken["jobs"]["preview"]["permissions"]["pull-requests"] = "comment"
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(broken))
    result = check_schema("vendor.github-workflows", path)
    assert result.returncode != 0
    assert "pull-requests" in result.stdout + result.stderr


def test_a_preview_runs_for_every_stack_file_ci_can_reach() -> None:
    assert {"dev", "prod"} <= stack_files()
    previewed = set().union(*(stacks_run_by(job, "preview") for _, _, _, job in pulumi_jobs()))
    assert previewed == stack_files() - {LOCAL_STACK}


def test_previews_run_on_pull_requests_to_main() -> None:
    workflow = load(WORKFLOWS_DIR / "preview.yml")
    assert set(triggers(workflow)) == {"pull_request"}
    assert triggers(workflow)["pull_request"]["branches"] == ["main"]


def test_the_preview_comments_on_the_pull_request_and_edits_its_comment_in_place() -> None:
    job = load(WORKFLOWS_DIR / "preview.yml")["jobs"]["preview"]
    (step,) = pulumi_steps(job)
    assert step["uses"] == PULUMI_ACTION
    assert step["with"]["command"] == "preview"
    assert step["with"]["comment-on-pr"] is True
    assert step["with"]["edit-pr-comment"] is True


def test_previews_skip_fork_pull_requests_which_get_no_secrets() -> None:
    job = load(WORKFLOWS_DIR / "preview.yml")["jobs"]["preview"]
    assert job["if"] == "github.event.pull_request.head.repo.full_name == github.repository"


def test_every_pulumi_command_enforces_the_policy_pack() -> None:
    policy_dir = REPO_ROOT / "policy"
    assert (policy_dir / "PulumiPolicy.yaml").is_file()
    # `output` (registry-gc.yml) only reads a stack's outputs from state; it runs no program.
    steps = [step for _, _, _, job in pulumi_jobs() for step in pulumi_steps(job)]
    commands = [step for step in steps if step["with"]["command"] != "output"]
    assert len(commands) == 4
    for step in commands:
        assert step["uses"] == PULUMI_ACTION
        assert (REPO_ROOT / step["with"]["policyPacks"]).resolve() == policy_dir


def test_dev_is_updated_on_every_push_to_main() -> None:
    workflow = load(WORKFLOWS_DIR / "deploy-dev.yml")
    assert triggers(workflow) == {"push": {"branches": ["main"]}}
    (job,) = workflow["jobs"].values()
    assert stacks_run_by(job, "up") == {"dev"}


def test_prod_is_updated_only_by_manual_dispatch_behind_an_environment() -> None:
    prod_updates = [
        (path, workflow, job)
        for path, workflow, _, job in pulumi_jobs()
        if any("prod" in stacks_run_by(job, command) for command in ("up", "refresh", "destroy"))
    ]
    assert [path.name for path, _, _ in prod_updates] == ["deploy-prod.yml"]
    _, workflow, job = prod_updates[0]
    assert set(triggers(workflow)) == {"workflow_dispatch"}
    # Required reviewers are a property of this environment, set in the repository settings.
    assert job["environment"] == "production"
    assert job["if"] == "github.ref == 'refs/heads/main'"


def test_prod_reviewers_see_a_preview_before_they_approve() -> None:
    jobs = load(WORKFLOWS_DIR / "deploy-prod.yml")["jobs"]
    up = next(job for job in jobs.values() if stacks_run_by(job, "up") == {"prod"})
    preview = jobs[up["needs"]]
    assert stacks_run_by(preview, "preview") == {"prod"}
    # Not `production`: that would ask for the approval before the diff exists.
    assert preview["environment"] == PREVIEW_ENVIRONMENT
    (step,) = pulumi_steps(preview)
    assert step["with"]["comment-on-summary"] is True
    assert step["with"]["policyPacks"] == "policy"


def test_workflows_grant_the_token_read_only_contents_by_default() -> None:
    for path in workflow_files():
        assert load(path)["permissions"] == {"contents": "read"}, path.name


def test_only_the_job_that_comments_may_write_to_pull_requests() -> None:
    for path in workflow_files():
        for job_id, job in load(path)["jobs"].items():
            permissions = job.get("permissions", {})
            assert permissions != "write-all", (path.name, job_id)
            writes = {scope for scope, level in permissions.items() if level == "write"}
            comments = any(step["with"].get("comment-on-pr") for step in pulumi_steps(job))
            assert writes == ({"pull-requests"} if comments else set()), (path.name, job_id)


def test_previews_of_one_pull_request_supersede_each_other_per_stack() -> None:
    job = load(WORKFLOWS_DIR / "preview.yml")["jobs"]["preview"]
    group = job["concurrency"]["group"]
    assert "${{ matrix.stack }}" in group
    assert "${{ github.event.pull_request.number }}" in group
    assert job["concurrency"]["cancel-in-progress"] is True


def test_updates_of_one_stack_queue_and_are_never_cancelled() -> None:
    updates = [
        (job, stacks_run_by(job, "up"))
        for _, _, _, job in pulumi_jobs()
        if stacks_run_by(job, "up")
    ]
    assert len(updates) == 2
    for job, stacks in updates:
        (stack,) = stacks
        assert job["concurrency"] == {"group": f"pulumi-up-{stack}", "cancel-in-progress": False}


def test_pulumi_jobs_read_credentials_only_from_secrets() -> None:
    for path, _, job_id, job in pulumi_jobs():
        env = job["env"]
        # Previews read the preview mirror (infra/preview_mirror.py) with its own bucket key.
        preview = job["environment"] == PREVIEW_ENVIRONMENT
        expected = MIRROR_SECRET_ENV if preview else SECRET_ENV
        for variable, secret in expected.items():
            assert env[variable] == f"${{{{ secrets.{secret} }}}}", (path.name, job_id, variable)
        # The backend URL names a bucket and an endpoint, nothing secret: a repository variable.
        backend = "PREVIEW_BACKEND_URL" if preview else "PULUMI_BACKEND_URL"
        assert env["PULUMI_BACKEND_URL"] == f"${{{{ vars.{backend} }}}}"


# Shapes of real credentials: DigitalOcean API tokens, Pulumi access tokens, Spaces/AWS key ids.
CREDENTIAL_SHAPES = re.compile(
    r"dop_v1_[0-9a-f]{16,}|pul-[0-9a-f]{16,}|\b(?:DO|AKIA)[0-9A-Z]{16,}\b"
)


@pytest.mark.parametrize(
    "leaked",
    [
        "dop_v1_" + "0123456789abcdef" * 4,
        "pul-" + "0123456789abcdef" * 2,
        "DO" + "00ABCDEFGHIJKLMNOPQR",
    ],
)
def test_the_credential_scan_recognises_real_token_shapes(leaked: str) -> None:
    assert CREDENTIAL_SHAPES.search(f"  DIGITALOCEAN_TOKEN: {leaked}\n") is not None


@pytest.mark.parametrize("path", [*workflow_files(), SETUP_ACTION], ids=lambda path: path.name)
def test_no_secret_is_written_into_workflow_files_or_shown_in_logs(path: Path) -> None:
    text = path.read_text()
    assert CREDENTIAL_SHAPES.search(text) is None
    assert "--show-secrets" not in text
    # A secret expanded inside a script lands in the script file on the runner; pass it via env.
    document = load(path)
    jobs = document.get("jobs", {"action": document.get("runs", {})})
    for job in jobs.values():
        for step in job.get("steps", []):
            assert "secrets." not in step.get("run", ""), step


def test_every_pulumi_job_sets_up_python_and_the_cli_the_same_way() -> None:
    for path, _, job_id, job in pulumi_jobs():
        uses = [step.get("uses") for step in job["steps"]]
        setup_index = uses.index(SETUP_ACTION_REF)
        setup_id = job["steps"][setup_index]["id"]
        for step in pulumi_steps(job):
            assert uses.index(step["uses"]) > setup_index, (path.name, job_id)
            expected = f"${{{{ steps.{setup_id}.outputs.pulumi-version }}}}"
            assert step["with"]["pulumi-version"] == expected, (path.name, job_id)


def setup_steps() -> list[dict[str, Any]]:
    steps = load(SETUP_ACTION)["runs"]["steps"]
    assert isinstance(steps, list)
    return steps


def requirement_files(path: Path) -> list[Path]:
    """A requirements file and every file it includes with -r, recursively."""
    files = [path]
    for line in path.read_text().splitlines():
        if line.startswith("-r "):
            files += requirement_files(path.parent / line.removeprefix("-r ").strip())
    return files


def test_pip_downloads_are_cached_keyed_on_every_requirements_file_installed() -> None:
    (python,) = [
        step
        for step in setup_steps()
        if str(step.get("uses", "")).startswith("actions/setup-python@")
    ]
    assert python["with"]["cache"] == "pip"
    keyed = {REPO_ROOT / line for line in python["with"]["cache-dependency-path"].split()}
    installed = re.findall(
        r"pip install .*?-r (\S+)", " ".join(step.get("run", "") for step in setup_steps())
    )
    assert installed, "the setup action installs no requirements file"
    needed = {file.resolve() for name in installed for file in requirement_files(REPO_ROOT / name)}
    assert needed == {file.resolve() for file in keyed}


def test_virtualenvs_are_the_ones_pulumi_uses() -> None:
    scripts = "\n".join(step.get("run", "") for step in setup_steps())
    created = set(re.findall(r"python -m venv (\S+)", scripts))
    program = load(REPO_ROOT / "Pulumi.yaml")["runtime"]["options"]["virtualenv"]
    policy = load(REPO_ROOT / "policy" / "PulumiPolicy.yaml")["runtime"]["options"]["virtualenv"]
    assert created == {program, f"policy/{policy}"}


def test_the_cli_version_installed_is_the_pulumi_pin_in_requirements(tmp_path: Path) -> None:
    (pin,) = [step for step in setup_steps() if step.get("id") == "pin"]
    output = tmp_path / "github_output"
    subprocess.run(
        ["bash", "-c", pin["run"]],
        cwd=REPO_ROOT,
        env={"GITHUB_OUTPUT": str(output), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    (requirement,) = [
        line
        for line in (REPO_ROOT / "requirements.txt").read_text().splitlines()
        if line.startswith("pulumi==")
    ]
    assert output.read_text() == f"version={requirement.removeprefix('pulumi==')}\n"


def test_every_pulumi_job_takes_its_digitalocean_token_from_its_own_environment() -> None:
    for path, _, job_id, job in pulumi_jobs():
        updated = stacks_run_by(job, "up")
        if updated:
            (stack,) = updated
            assert job["environment"] == ENVIRONMENT_OF_UP[stack], (path.name, job_id)
        elif (path.name, job_id) in REGISTRY_JOBS:
            assert job["environment"] == REGISTRY_ENVIRONMENT, (path.name, job_id)
        else:
            assert job["environment"] == PREVIEW_ENVIRONMENT, (path.name, job_id)


def test_pull_request_code_never_sees_the_production_token() -> None:
    for path, workflow, job_id, job in pulumi_jobs():
        if "pull_request" in triggers(workflow) or "pull_request_target" in triggers(workflow):
            assert job["environment"] == PREVIEW_ENVIRONMENT, (path.name, job_id)
    production = [
        (path.name, job_id)
        for path, _, job_id, job in pulumi_jobs()
        if job.get("environment") == PRODUCTION_ENVIRONMENT
    ]
    assert production == [("deploy-prod.yml", "up")]


def test_every_pulumi_job_has_doctl_for_the_cluster_kubeconfig() -> None:
    for path, _, job_id, job in pulumi_jobs():
        uses = [step.get("uses") for step in job["steps"]]
        assert DOCTL_ACTION in uses, (path.name, job_id)
        doctl = job["steps"][uses.index(DOCTL_ACTION)]
        assert doctl["with"]["token"] == "${{ secrets.DIGITALOCEAN_TOKEN }}"
        assert uses.index(DOCTL_ACTION) < min(uses.index(s["uses"]) for s in pulumi_steps(job))


def test_every_job_that_updates_a_stack_gives_the_provider_spaces_credentials() -> None:
    # The stack's bucket and keys go through the Spaces API, which the DigitalOcean token alone
    # cannot reach; the provider reads these two variables.
    for path, _, job_id, job in pulumi_jobs():
        if stacks_run_by(job, "up"):
            env = job.get("env", {})
            for variable in ("SPACES_ACCESS_KEY_ID", "SPACES_SECRET_ACCESS_KEY"):
                assert env.get(variable) == f"${{{{ secrets.{variable} }}}}", (path.name, job_id)
