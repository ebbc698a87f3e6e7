"""What a live run needs on the machine, checked without touching the network."""

import os
import shutil
import subprocess

import pytest

from tests.support import unavailable

REQUIRED_ENV = {
    "DIGITALOCEAN_TOKEN": "a DigitalOcean API token with write scope",
    "SPACES_ACCESS_KEY_ID": "a Spaces access key (the provider creates the bucket with it)",
    "SPACES_SECRET_ACCESS_KEY": "its secret",
    "PULUMI_BACKEND_URL": "the team's state backend, which holds the account stack and its registry"
    " (docs/setup.md: first-time account setup)",
    "PULUMI_CONFIG_PASSPHRASE": "the passphrase of that backend's stacks",
}
REQUIRED_TOOLS = {
    "pulumi": "the Pulumi CLI (https://www.pulumi.com/docs/install/)",
    "docker": "a Docker engine (builds the trainer image)",
    "kubectl": "kubectl (port-forwards to Prometheus, Grafana and the history server)",
    "doctl": "doctl (the Kubernetes provider's kubeconfig runs it for credentials)",
}


def missing_requirements() -> list[str]:
    missing = [f"{name} ({why})" for name, why in REQUIRED_ENV.items() if not os.environ.get(name)]
    missing += [f"{tool}: {why}" for tool, why in REQUIRED_TOOLS.items() if not shutil.which(tool)]
    if shutil.which("docker") and (
        subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0
    ):
        missing.append("docker: the engine does not answer `docker info`")
    return missing


@pytest.fixture(scope="session")
def live_requirements() -> None:
    missing = missing_requirements()
    if missing:
        unavailable("live test not run, missing: " + "; ".join(missing))
