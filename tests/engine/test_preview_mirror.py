"""The preview mirror's commands with the real Pulumi CLI (tools/engine/build) and file backends:
what a deploy publishes, what a pull request's preview job prepares, and that only the mirror's
passphrase opens the mirror. The preview of a mirror against a real API server is in
test_engine.py.
"""

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra import preview_mirror
from infra.cli_config import load_project, load_stack, read_stack_file
from infra.offline import run_offline
from infra.preview_mirror import REDACTED, SECRET_SIG, SECRET_SIG_KEY, Backend
from tests.engine.conftest import clean_environment, project_copy, pulumi_env

pytestmark = [pytest.mark.slow, pytest.mark.engine]

REAL_PASSPHRASE = "the-stack-s-own-passphrase"
MIRROR_PASSPHRASE = "the-mirror-s-passphrase"
WEBHOOK = "https://hooks.slack.com/services/T0/B0/real-webhook-value"
TOKEN = "dop_v1_real_token_value"
PASSWORD = "real-password-value"


class Cli:
    def __init__(self, engine: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        clean_environment()
        env = pulumi_env(engine, tmp_path / "pulumi-home", tmp_path / "unused", None)
        # The mirror commands run the CLI with this process's environment (PULUMI_HOME etc.).
        for key, value in env.items():
            if key not in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"):
                monkeypatch.setenv(key, value)
        self.pulumi = str(engine / "pulumi")
        self.real = Backend("the stack's state", f"file://{tmp_path / 'real'}", REAL_PASSPHRASE)
        self.mirror = Backend("the mirror", f"file://{tmp_path / 'mirror'}", MIRROR_PASSPHRASE)
        for backend in (self.real, self.mirror):
            Path(backend.url.removeprefix("file://")).mkdir()

    def run(
        self, backend: Backend, cwd: Path, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return preview_mirror.Cli(cwd, self.pulumi).run(backend, *args, check=check)


@pytest.fixture
def cli(engine: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    return Cli(engine, tmp_path, monkeypatch)


def secret(value: Any) -> dict[str, str]:
    return {SECRET_SIG_KEY: SECRET_SIG, "plaintext": json.dumps(value)}


def stack_with_secrets(cli: Cli, project: Path, stack: str) -> None:
    """A real stack whose state holds secrets, written through the CLI's own import."""
    cli.run(cli.real, project, "stack", "init", stack, "--secrets-provider", "passphrase")
    exported = json.loads(cli.run(cli.real, project, "stack", "export", "--stack", stack).stdout)
    urn = f"urn:pulumi:{stack}::spark-doks"
    exported["deployment"]["resources"] = [
        {
            "urn": f"{urn}::pulumi:pulumi:Stack::spark-doks-{stack}",
            "custom": False,
            "type": "pulumi:pulumi:Stack",
            "outputs": {"clusterName": f"spark-doks-{stack}", "password": secret(PASSWORD)},
        }
    ]
    state = project / "state.json"
    state.write_text(json.dumps(exported))
    cli.run(cli.real, project, "stack", "import", "--stack", stack, "--file", str(state))
    state.unlink()


def files_under(url: str) -> str:
    root = Path(url.removeprefix("file://"))
    return "\n".join(p.read_text(errors="replace") for p in root.rglob("*") if p.is_file())


def test_publish_redacts_the_state_and_only_the_mirror_passphrase_opens_it(
    cli: Cli, tmp_path: Path
) -> None:
    project = project_copy(tmp_path / "project", "dev")
    stack_with_secrets(cli, project, "dev")
    for _ in range(2):  # the first publish creates the mirror stack, the second replaces it
        result = preview_mirror.publish("dev", cli.real, cli.mirror, cli.pulumi)
        assert result.secrets == 1
    assert PASSWORD not in files_under(cli.mirror.url)
    export = ["stack", "export", "--stack", "dev", "--show-secrets"]
    mirrored = json.loads(cli.run(cli.mirror, project, *export).stdout)
    (root,) = mirrored["deployment"]["resources"]
    assert json.loads(root["outputs"]["password"]["plaintext"]) == REDACTED
    assert root["outputs"]["clusterName"] == "spark-doks-dev"
    # The stack's own passphrase cannot open the mirror, nor the mirror's the stack.
    wrong = Backend("the mirror", cli.mirror.url, REAL_PASSPHRASE)
    assert cli.run(wrong, project, *export, check=False).returncode != 0
    wrong = Backend("the stack", cli.real.url, MIRROR_PASSPHRASE)
    assert cli.run(wrong, project, *export, check=False).returncode != 0


def test_a_preview_job_s_stack_file_holds_the_mirror_s_redacted_secrets(
    cli: Cli, tmp_path: Path
) -> None:
    project = project_copy(tmp_path / "project", "prod")
    stack_with_secrets(cli, project, "prod")
    cli.run(cli.real, project, "config", "set", "--stack", "prod", "--secret",
            "spark-doks:alertSlackWebhookUrl", WEBHOOK)  # fmt: skip
    cli.run(cli.real, project, "config", "set", "--stack", "prod", "--secret",
            "digitalocean:token", TOKEN)  # fmt: skip
    stack_file = project / "Pulumi.prod.yaml"
    real_salt = stack_file.read_text().split("encryptionsalt: ")[1].split()[0]
    before = read_stack_file(stack_file, load_project(project))
    preview_mirror.publish("prod", cli.real, cli.mirror, cli.pulumi)

    changed = preview_mirror.prepare_stack_file("prod", cli.mirror, project, cli.pulumi)

    assert changed == ["digitalocean:token", "spark-doks:alertSlackWebhookUrl"]
    text = stack_file.read_text()
    assert real_salt not in text
    after = read_stack_file(stack_file, load_project(project))
    for key in before.values.keys() - before.secret_keys:
        assert after.values[key] == before.values[key], key
    shown = cli.run(cli.mirror, project, "config", "--stack", "prod", "--show-secrets", "--json")
    config = {key: entry["value"] for key, entry in json.loads(shown.stdout).items()}
    assert config["spark-doks:alertSlackWebhookUrl"] == REDACTED
    assert "digitalocean:token" not in config
    assert WEBHOOK not in text and TOKEN not in text
    # The program accepts what the preview hands it.
    prepared = load_stack("prod", project, {"alertSlackWebhookUrl": REDACTED})
    assert run_offline(prepared, "prod", preview=True).resources


def test_a_stack_without_a_mirror_is_refused_with_the_command_that_publishes_it(
    cli: Cli, tmp_path: Path
) -> None:
    project = project_copy(tmp_path / "project", "dev")
    with pytest.raises(preview_mirror.MirrorError, match=re.escape("preview_mirror publish dev")):
        preview_mirror.prepare_stack_file("dev", cli.mirror, project, cli.pulumi)


def test_publish_reads_the_stack_where_pulumi_login_points_when_no_backend_url_is_set(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The account stack's mirror is published by hand, from a shell logged in to the state bucket.
    project = project_copy(tmp_path / "project", "account")
    stack_with_secrets(cli, project, "account")
    subprocess.run([cli.pulumi, "login", cli.real.url], check=True, capture_output=True)
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", REAL_PASSPHRASE)
    monkeypatch.setenv("PREVIEW_BACKEND_URL", cli.mirror.url)
    monkeypatch.setenv("PREVIEW_CONFIG_PASSPHRASE", MIRROR_PASSPHRASE)
    monkeypatch.setenv("PATH", f"{Path(cli.pulumi).parent}:{os.environ['PATH']}")
    assert preview_mirror.main(["publish", "account"]) == 0
    assert "1 secret value redacted" in capsys.readouterr().out
    assert PASSWORD not in files_under(cli.mirror.url)
