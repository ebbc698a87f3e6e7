"""First step of every pulumi job: name what the repository setup lacks, print no value."""

import subprocess

import pytest

from tests.support import REPO_ROOT

SCRIPT = REPO_ROOT / ".github" / "scripts" / "check-pulumi-env.sh"
SPACES_URL = (
    "s3://spark-doks-state?endpoint=sfo3.digitaloceanspaces.com&region=sfo3&s3ForcePathStyle=true"
)
SPACES_SETUP = {
    "PULUMI_BACKEND_URL": SPACES_URL,
    "PULUMI_CONFIG_PASSPHRASE": "passphrase-value-1",
    "AWS_ACCESS_KEY_ID": "key-id-value-2",
    "AWS_SECRET_ACCESS_KEY": "secret-key-value-3",
    "DIGITALOCEAN_TOKEN": "do-token-value-4",
}
CLOUD_SETUP = {
    "PULUMI_ACCESS_TOKEN": "pulumi-token-value-5",
    "DIGITALOCEAN_TOKEN": "do-token-value-4",
}


def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT)],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("setup", "backend"),
    [(SPACES_SETUP, "Spaces"), (CLOUD_SETUP, "Pulumi Cloud")],
    ids=["spaces", "cloud"],
)
def test_a_complete_setup_passes_and_prints_no_value(setup: dict[str, str], backend: str) -> None:
    result = run(setup)
    assert result.returncode == 0, result.stdout
    assert backend in result.stdout
    for value in setup.values():
        assert value not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("removed", "named"),
    [
        ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_<STACK> (dev, production)"),
        ("AWS_ACCESS_KEY_ID", "STATE_ACCESS_KEY_ID / STATE_SECRET_ACCESS_KEY (dev, production)"),
        ("AWS_SECRET_ACCESS_KEY", "STATE_SECRET_ACCESS_KEY"),
        ("DIGITALOCEAN_TOKEN", "secret DIGITALOCEAN_TOKEN"),
        ("PULUMI_BACKEND_URL", "PULUMI_ACCESS_TOKEN (Pulumi Cloud)"),
    ],
)
def test_each_missing_setting_fails_with_one_line_naming_it(removed: str, named: str) -> None:
    setup = {name: value for name, value in SPACES_SETUP.items() if name != removed}
    result = run(setup)
    assert result.returncode == 1
    (line,) = result.stdout.splitlines()
    assert line.startswith("::error::")
    assert named in line
    for value in setup.values():
        assert value not in result.stdout


def test_an_s3_url_without_the_spaces_endpoint_is_rejected() -> None:
    result = run({**SPACES_SETUP, "PULUMI_BACKEND_URL": "s3://spark-doks-state"})
    assert result.returncode == 1
    assert "endpoint=" in result.stdout


def test_runner_local_state_is_rejected() -> None:
    result = run({**SPACES_SETUP, "PULUMI_BACKEND_URL": "file://~"})
    assert result.returncode == 1
    assert "starts empty" in result.stdout


def test_an_empty_environment_names_every_missing_setting() -> None:
    result = run({})
    assert result.returncode == 1
    assert len(result.stdout.splitlines()) == 2


MIRROR_SETUP = {
    "PREVIEW_BACKEND_URL": SPACES_URL.replace("spark-doks-state", "spark-doks-preview"),
    "PREVIEW_CONFIG_PASSPHRASE": "preview-passphrase-value-6",
}


def test_a_deploy_job_that_publishes_the_preview_mirror_passes_with_its_settings() -> None:
    result = run({**SPACES_SETUP, **MIRROR_SETUP})
    assert result.returncode == 0, result.stdout
    for value in MIRROR_SETUP.values():
        assert value not in result.stdout


@pytest.mark.parametrize(
    ("changed", "named"),
    [
        ({"PREVIEW_BACKEND_URL": ""}, "variable PREVIEW_BACKEND_URL"),
        ({"PREVIEW_BACKEND_URL": "s3://spark-doks-preview"}, "variable PREVIEW_BACKEND_URL"),
        ({"PREVIEW_CONFIG_PASSPHRASE": ""}, "secret PREVIEW_CONFIG_PASSPHRASE"),
    ],
)
def test_a_deploy_job_names_a_missing_preview_mirror_setting(
    changed: dict[str, str], named: str
) -> None:
    # GitHub sets an unset variable or secret that a job names to the empty string.
    result = run({**SPACES_SETUP, **MIRROR_SETUP, **changed})
    assert result.returncode == 1
    (line,) = result.stdout.splitlines()
    assert named in line
