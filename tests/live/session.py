"""One throwaway stack on a real account: its workspace, its ups and its destroy.

The project is copied to a temporary folder (without stack files and state), so the live stack's
Pulumi.<stack>.yaml never lands in the repository and no dev or prod config can leak into it.
"""

import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi import automation

from infra.settings import PROJECT
from spark_runs.live import plan
from spark_runs.live.deadline import Deadline, Pending, interrupt_at, wait_for
from spark_runs.live.digitalocean import Footprint
from tests.support import REPO_ROOT

_NOT_COPIED = shutil.ignore_patterns(
    "venv*", ".git", "rendered", "__pycache__", ".*_cache", "Pulumi.*.yaml", "tests", "docs"
)


def project_copy(target: Path) -> Path:
    shutil.copytree(REPO_ROOT, target, ignore=_NOT_COPIED)
    (target / "venv").symlink_to((REPO_ROOT / "venv").resolve())
    return target


def _report_interrupt(pids: list[int]) -> None:
    print(f"hard time limit reached: sent SIGINT to pulumi {pids}; the update cancels cleanly")


@dataclass
class LiveStack:
    name: str
    stack: automation.Stack
    deadline: Deadline
    state_dir: Path
    footprints: list[Footprint] = field(default_factory=list)
    destroyed: bool = False

    def up(self, executor_instances: int, seconds: float) -> dict[str, Any]:
        self.stack.set_all_config(
            {
                f"{PROJECT}:{key}": automation.ConfigValue(value)
                for key, value in plan.stack_config(executor_instances).items()
            }
        )
        with interrupt_at(self.deadline.within(seconds), "pulumi", _report_interrupt):
            result = self.stack.up(on_output=print, color="never", suppress_outputs=True)
        return {name: output.value for name, output in result.outputs.items()}

    def destroy(self, seconds: float) -> None:
        budget = Deadline(seconds)  # its own budget: runs even when the overall one is used up
        with interrupt_at(budget, "pulumi", _report_interrupt):
            self.stack.destroy(on_output=print, color="never", remove=True)
        self.destroyed = True

    def kubeconfig(self, outputs: dict[str, Any]) -> Path:
        """doctl's kubeconfig for the stack's cluster: it renews its own token on every use."""
        shown = subprocess.run(
            ["doctl", "kubernetes", "cluster", "kubeconfig", "show", str(outputs["clusterName"])],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        path = self.state_dir / "kubeconfig.yaml"
        path.write_text(shown.stdout)
        path.chmod(0o600)
        return path


@contextmanager
def live_stack(name: str, deadline: Deadline) -> Iterator[LiveStack]:
    with tempfile.TemporaryDirectory(prefix=f"spark-doks-{name}-") as temporary:
        root = Path(temporary)
        # The team's backend: the stack reads the account stack's registry from it.
        backend = os.environ["PULUMI_BACKEND_URL"]
        env = {
            "PULUMI_BACKEND_URL": backend,
            "PULUMI_CONFIG_PASSPHRASE": os.environ["PULUMI_CONFIG_PASSPHRASE"],
        }
        print(plan.describe(name, backend.split("?")[0]))
        work_dir = project_copy(root / "project")
        stack = automation.create_stack(
            name,
            work_dir=str(work_dir),
            opts=automation.LocalWorkspaceOptions(work_dir=str(work_dir), env_vars=env),
        )
        yield LiveStack(name, stack, deadline, root)


def kubectl(kubeconfig: Path, *args: str) -> str:
    result = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def secret_value(kubeconfig: Path, namespace: str, secret: str, key: str) -> str:
    encoded = kubectl(
        kubeconfig, "-n", namespace, "get", "secret", secret, "-o", f"jsonpath={{.data.{key}}}"
    )
    return base64.b64decode(encoded).decode()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def port_forward(
    kubeconfig: Path, service: tuple[str, str, int], ready_path: str, deadline: Deadline
) -> Iterator[str]:
    """http://127.0.0.1:<port> forwarded to the service, once `ready_path` answers."""
    namespace, name, port = service
    local = _free_port()
    process = subprocess.Popen(
        [
            "kubectl", "--kubeconfig", str(kubeconfig), "-n", namespace,
            "port-forward", "--address", "127.0.0.1", f"svc/{name}", f"{local}:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{local}"

    def ready() -> str | Pending:
        if process.poll() is not None:
            raise RuntimeError(f"port-forward to {name} ended: {process.stderr.read()}")  # type: ignore[union-attr]
        try:
            with urllib.request.urlopen(url + ready_path, timeout=5):
                return url
        except OSError as error:
            return Pending(str(error))

    try:
        yield wait_for(f"port-forward to {namespace}/{name}", ready, deadline, 2)
    finally:
        process.terminate()
        process.wait(timeout=10)


def get_json(url: str, user: str = "", password: str = "") -> Any:
    request = urllib.request.Request(url)
    if user:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def application_state(kubeconfig: Path, namespace: str, application: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        kubectl(kubeconfig, "-n", namespace, "get", "sparkapplication", application, "-o", "json")
    )
    status: dict[str, Any] = document.get("status") or {}
    return status


def wait_completed(
    kubeconfig: Path, namespace: str, application: str, deadline: Deadline
) -> dict[str, Any]:
    def probe() -> dict[str, Any] | Pending:
        status = application_state(kubeconfig, namespace, application)
        state = (status.get("applicationState") or {}).get("state", "")
        if state == "COMPLETED":
            return status
        # The operator retries SUBMISSION_FAILED (onSubmissionFailureRetries); FAILED is final.
        if state == "FAILED":
            raise AssertionError(f"{application} ended {state}: {status}")
        return Pending(state or "no state yet")

    return wait_for(f"{application} COMPLETED", probe, deadline, 10)
