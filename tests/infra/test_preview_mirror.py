"""The preview mirror (infra/preview_mirror.py): every secret redacted, and the program, run on a
mirror's redacted state, computes exactly the redacted values the mirror holds, so a pull
request's preview of the mirror shows the diff a preview of the real state would.

The publish and stack-file commands with the real CLI, and a real preview of a mirror, are in
tests/engine.
"""

import base64
import json
from typing import Any

import pytest
from pulumi.runtime.rpc import is_rpc_secret, unwrap_rpc_secret

from infra import preview_mirror
from infra.cli_config import load_stack
from infra.offline import DOCKER_CREDENTIALS, MOCK_REGISTRY_ENDPOINT, PlatformMocks, run_offline
from infra.preview_mirror import REDACTED, SECRET_SIG, SECRET_SIG_KEY, MirrorError
from infra.registry import registry_login
from tests.support import REPO_ROOT

MIRROR_PROVIDER = {"type": "passphrase", "state": {"salt": "v1:mirror-salt"}}
CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"


def secret(value: Any) -> dict[str, str]:
    """A secret as `pulumi stack export --show-secrets` writes it."""
    return {SECRET_SIG_KEY: SECRET_SIG, "plaintext": json.dumps(value)}


def exported() -> dict[str, Any]:
    return {
        "version": 3,
        "deployment": {
            "manifest": {"time": "2026-12-06T00:00:00Z", "magic": "m", "version": "v3.274.0"},
            "secrets_providers": {"type": "passphrase", "state": {"salt": "v1:real-salt"}},
            "resources": [
                {
                    "urn": "urn:pulumi:dev::spark-doks::kubernetes:core/v1:Secret::pull",
                    "type": "kubernetes:core/v1:Secret",
                    "inputs": {
                        "type": "kubernetes.io/dockerconfigjson",
                        "stringData": secret({".dockerconfigjson": '{"auths": {"r": "dXNlcjpw"}}'}),
                    },
                    "outputs": {"metadata": {"name": "registry-pull"}},
                },
                {
                    "urn": f"urn:pulumi:dev::spark-doks::{CLUSTER}::cluster",
                    "type": CLUSTER,
                    "outputs": {
                        "endpoint": "https://c.k8s.ondigitalocean.com",
                        "kubeConfigs": secret(
                            [{"token": "admin-token-value", "expiresAt": 42, "ok": True}]
                        ),
                    },
                },
            ],
        },
    }


def test_a_redacted_value_keeps_its_shape_and_no_scalar() -> None:
    assert preview_mirror.redacted({"a": ["x", 1, 2.5, True, None], "b": {"c": "y"}}) == {
        "a": [REDACTED, 0, 0, False, None],
        "b": {"c": REDACTED},
    }


def test_publishing_redacts_every_secret_and_nothing_else() -> None:
    result = preview_mirror.redact_deployment(exported(), MIRROR_PROVIDER)
    text = json.dumps(result.deployment)
    assert result.secrets == 2
    for plaintext in ("dXNlcjpw", "admin-token-value", "real-salt"):
        assert plaintext not in text
    deployment = result.deployment["deployment"]
    assert deployment["secrets_providers"] == MIRROR_PROVIDER
    pull, cluster = deployment["resources"]
    assert json.loads(pull["inputs"]["stringData"]["plaintext"]) == {".dockerconfigjson": REDACTED}
    assert pull["inputs"]["type"] == "kubernetes.io/dockerconfigjson"
    assert json.loads(cluster["outputs"]["kubeConfigs"]["plaintext"]) == [
        {"token": REDACTED, "expiresAt": 0, "ok": False}
    ]
    assert cluster["outputs"]["endpoint"] == "https://c.k8s.ondigitalocean.com"


def test_publishing_refuses_an_export_without_the_secrets_shown() -> None:
    encrypted = exported()
    resource = encrypted["deployment"]["resources"][0]
    resource["inputs"]["stringData"] = {SECRET_SIG_KEY: SECRET_SIG, "ciphertext": "v1:abc"}
    with pytest.raises(MirrorError, match="--show-secrets"):
        preview_mirror.redact_deployment(encrypted, MIRROR_PROVIDER)


@pytest.mark.parametrize(
    ("command", "unset"),
    [("publish", "PREVIEW_BACKEND_URL"), ("stack-file", "PREVIEW_CONFIG_PASSPHRASE")],
)
def test_a_missing_setting_is_one_line_and_exit_2(
    command: str, unset: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PREVIEW_BACKEND_URL", "file:///tmp/mirror")
    monkeypatch.setenv("PREVIEW_CONFIG_PASSPHRASE", "mirror")
    monkeypatch.delenv(unset)
    assert preview_mirror.main([command, "dev"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert unset in line


def test_a_redacted_docker_config_logs_in_redacted_in_full() -> None:
    real = json.dumps({"auths": {"r.example": {"auth": base64.b64encode(b"u:p").decode()}}})
    assert registry_login(real, "r.example").password == "p"
    login = registry_login(REDACTED, "r.example")
    assert (login.server, login.username, login.password) == (REDACTED,) * 3


class MirrorMocks(PlatformMocks):
    """Providers as a mirror's state has them: every secret output redacted, shape kept."""

    def new_resource(self, args: Any) -> tuple[str | None, dict[str, Any]]:
        resource_id, state = super().new_resource(args)
        if args.typ == CLUSTER:
            state["kubeConfigs"] = preview_mirror.redacted(state["kubeConfigs"])
        elif args.typ == DOCKER_CREDENTIALS:
            state["dockerCredentials"] = REDACTED
        elif args.typ == "digitalocean:index/spacesKey:SpacesKey":
            state.update(accessKey=REDACTED, secretKey=REDACTED)
        elif args.typ == "random:index/randomPassword:RandomPassword":
            state["result"] = REDACTED
        return resource_id, state


def secret_inputs(value: Any) -> list[Any]:
    """Every secret in a declared resource's inputs, unwrapped."""
    if is_rpc_secret(value):
        return [unwrap_rpc_secret(value)]
    if isinstance(value, dict):
        return [found for item in value.values() for found in secret_inputs(item)]
    if isinstance(value, list):
        return [found for item in value for found in secret_inputs(item)]
    return []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_on_a_mirror_every_secret_input_is_the_redaction_the_mirror_holds(stack: str) -> None:
    # What the preview job's stack file holds: the project's secret config redacted.
    config = load_stack(stack, REPO_ROOT, {"alertSlackWebhookUrl": REDACTED})
    run = run_offline(config, stack, mocks=MirrorMocks(), preview=True)
    secrets = [found for resource in run.resources for found in secret_inputs(resource.inputs)]
    # The registry logins, the pull secret, both bucket keys, Grafana's password (and prod's
    # Slack webhook): each computed from redacted outputs, each what the mirror redacts it to.
    assert len(secrets) >= 6
    for value in secrets:
        assert value == preview_mirror.redacted(value), value
    (provider,) = run.of_type("pulumi:providers:kubernetes")
    assert not is_rpc_secret(provider.inputs["kubeconfig"])
    assert f"server: https://spark-doks-{stack}" in provider.inputs["kubeconfig"]
    images = run.of_type("docker:index/image:Image")
    assert images and all(MOCK_REGISTRY_ENDPOINT in i.inputs["imageName"] for i in images)
