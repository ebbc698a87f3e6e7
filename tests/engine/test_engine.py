"""The program under the real engine: the Pulumi CLI and pulumi-resource-kubernetes built from
their Go modules (tools/engine/build), against a real kube-apiserver on 127.0.0.1.

The Python language host is not served by the Go module proxy, so the CLI runs the program
through the Automation API's inline program (the SDK serves the language protocol itself); the
CLI still loads Pulumi.yaml and the stack file as `pulumi up` does, defaults merged. The suite
plays the spark-operator: it writes the SparkApplication's status through the status
subresource. Tests in this module run in order on one stack, as a user's session would.
"""

import contextlib
import hashlib
import os
import re
import runpy
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from pulumi import automation as auto

from infra import preview_mirror
from infra.preview_mirror import Backend
from tests.engine.cluster import ControlPlane
from tests.engine.conftest import PASSPHRASE, clean_environment, project_copy, pulumi_env
from tests.support import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.engine]

PROJECT = "spark-doks"
NAMESPACE = "spark-jobs"
APPS = f"/apis/sparkoperator.k8s.io/v1beta2/namespaces/{NAMESPACE}/sparkapplications"
FIXTURES = Path(__file__).with_name("fixtures")
DIFF_FIXTURE = FIXTURES / "preview-diff-executor-instances.txt"
# Stands for the image the team's CI pushed (tests/docker builds the real one); no pod runs here.
TRAINER_IMAGE = (
    "registry.digitalocean.com/spark-doks/spark-trainer@sha256:"
    + hashlib.sha256(b"spark-doks engine suite").hexdigest()
)
# What an installed operator and no monitoring mean for the local stack (docs: setup).
ENGINE_CONFIG = {
    "installOperator": "false",
    "installMonitoring": "false",
    "trainerImage": TRAINER_IMAGE,
    "executorWaitSeconds": "5",
    "runTimeoutSeconds": "600",
}
TIMEOUT_SECONDS = "20"


def program() -> None:
    """Exactly what the CLI's language host would run: the project's __main__.py."""
    runpy.run_path(str(REPO_ROOT / "__main__.py"), run_name="__main__")


def workspace(engine: Path, root: Path, stack: str, kubeconfig: Path | None) -> auto.Stack:
    clean_environment()
    work_dir = project_copy(root / "project", stack)
    env = pulumi_env(engine, root / "pulumi-home", root / "state", kubeconfig)
    return stack_in(engine, work_dir, stack, env)


def stack_in(engine: Path, work_dir: Path, stack: str, env: dict[str, str]) -> auto.Stack:
    options = auto.LocalWorkspaceOptions(
        work_dir=str(work_dir),
        pulumi_home=env["PULUMI_HOME"],
        env_vars=env,
        pulumi_command=auto.PulumiCommand(root=str(engine.parent), skip_version_check=True),
    )
    # The file backend needs the project's organization-qualified name.
    return auto.create_or_select_stack(
        stack_name=f"organization/{PROJECT}/{stack}",
        project_name=PROJECT,
        program=program,
        opts=options,
    )


class Output:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        self.lines.append(line)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


# ---------------------------------------------------------------------------------------------
# Preview of every tracked stack, offline.


def test_local_stack_previews_everything_it_would_create(
    engine: Path, control_plane: ControlPlane, tmp_path: Path
) -> None:
    stack = workspace(engine, tmp_path, "local", control_plane.kubeconfig)
    stack.set_all_config({f"{PROJECT}:{k}": auto.ConfigValue(v) for k, v in ENGINE_CONFIG.items()})
    out = Output()
    result = stack.preview(on_output=out)
    assert result.change_summary.get("create", 0) > 0, out.text
    assert "SparkApplication" in out.text
    # Neither the operator's chart nor the monitoring stack nor a docker build is declared.
    assert "helm.sh/v3:Release" not in out.text
    assert "docker:" not in out.text


@pytest.mark.parametrize("stack_name", ["dev", "prod", "account"])
def test_digitalocean_stacks_preview_up_to_the_first_digitalocean_call(
    engine: Path, tmp_path: Path, stack_name: str
) -> None:
    """How far dev, prod and account get offline: the CLI loads their config (defaults merged)
    and the settings accept it; the program then stops at its first resource that needs a
    provider plugin this toolchain does not build. Measured with the built CLI: dev and prod
    stop at the default DigitalOcean provider, before any resource is planned; account plans its
    registry component and stops at the random provider."""
    stack = workspace(engine, tmp_path, stack_name, None)
    if stack_name == "prod":
        # prod alerts to Slack; its webhook is a secret each operator sets, never in the file.
        webhook = auto.ConfigValue("https://hooks.slack.com/services/T0/B0/engine", secret=True)
        stack.set_config(f"{PROJECT}:alertSlackWebhookUrl", webhook)
    out = Output()
    with pytest.raises(auto.errors.CommandError) as error:
        stack.preview(on_output=out)
    message = f"{out.text}\n{error.value}"
    assert "invalid stack config" not in message, message
    plugin = "random" if stack_name == "account" else "digitalocean"
    stop = f"no resource plugin 'pulumi-resource-{plugin}' found in the workspace"
    assert stop in message, message


# ---------------------------------------------------------------------------------------------
# The local stack, applied: one stack for the rest of the module.


class Session:
    def __init__(self, stack: auto.Stack, plane: ControlPlane, root: Path) -> None:
        self.stack = stack
        self.plane = plane
        self.root = root
        self.operator_errors: list[Exception] = []

    def applications(self) -> list[dict[str, Any]]:
        listed = self.plane.get(APPS)
        return [] if listed is None else list(listed["items"])

    def write_state_when_created(self, state: str, message: str = "") -> threading.Thread:
        """Play the operator: once a new SparkApplication exists, write its final state."""
        before = {app["metadata"]["uid"] for app in self.applications()}

        def operator() -> None:
            try:
                play()
            except Exception as error:  # the update would wait out its timeout: say why
                self.operator_errors.append(error)

        def play() -> None:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                new = [a for a in self.applications() if a["metadata"]["uid"] not in before]
                if new:
                    name = new[0]["metadata"]["name"]
                    # The operator stamps terminationTime on every path to COMPLETED or FAILED
                    # (spark-operator 2.5.2 internal/controller/sparkapplication/controller.go:448,
                    # 979, 989); run_outcome reads it to tell this run's end from an earlier one.
                    ended = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                    status: dict[str, Any] = {
                        "applicationState": {"state": state},
                        # The CRD requires driverInfo; the operator fills it at submission.
                        "driverInfo": {"podName": f"{name}-driver"},
                        "terminationTime": ended,
                    }
                    if message:
                        status["applicationState"]["errorMessage"] = message
                    self.plane.request(
                        "PATCH",
                        f"{APPS}/{name}/status",
                        {"status": status},
                        content_type="application/merge-patch+json",
                    )
                    return
                time.sleep(1)

        thread = threading.Thread(target=operator, daemon=True)
        thread.start()
        return thread

    def up(self, state: str | None, message: str = "") -> tuple[auto.UpResult, Output]:
        out = Output()
        thread = None if state is None else self.write_state_when_created(state, message)
        try:
            result = self.stack.up(on_output=out)
        finally:
            if thread is not None:
                thread.join(timeout=60)
            if self.operator_errors:
                raise AssertionError(f"the suite's operator failed: {self.operator_errors.pop()}")
        return result, out


@pytest.fixture(scope="module")
def session(
    engine: Path, control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Session]:
    root = tmp_path_factory.mktemp("local")
    stack = workspace(engine, root, "local", control_plane.kubeconfig)
    stack.set_all_config({f"{PROJECT}:{k}": auto.ConfigValue(v) for k, v in ENGINE_CONFIG.items()})
    yield Session(stack, control_plane, root)
    with contextlib.suppress(auto.errors.CommandError):
        stack.destroy()


def set_config(session: Session, key: str, value: str) -> None:
    session.stack.set_config(f"{PROJECT}:{key}", auto.ConfigValue(value))


def test_up_creates_everything_valid_and_waits_for_completed(session: Session) -> None:
    result, out = session.up("COMPLETED")
    assert result.summary.result == "succeeded", out.text
    assert result.outputs["runState"].value == "COMPLETED"
    plane = session.plane
    namespace = plane.get(f"/api/v1/namespaces/{NAMESPACE}")
    assert namespace is not None
    labels = namespace["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert plane.get(f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/spark") is not None
    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NAMESPACE}"
    assert plane.get(f"{rbac}/roles/spark-driver") is not None
    assert plane.get(f"{rbac}/rolebindings/spark-driver") is not None
    policies = plane.get(f"/apis/networking.k8s.io/v1/namespaces/{NAMESPACE}/networkpolicies")
    assert policies is not None and policies["items"]
    (app,) = session.applications()
    assert app["spec"]["image"] == TRAINER_IMAGE
    assert app["metadata"]["name"] == result.outputs["sparkApplicationName"].value


def test_driver_pod_passes_pod_security_admission(session: Session) -> None:
    """The driver pod the operator would create, dry-run through PodSecurity (restricted)."""
    (app,) = session.applications()
    spec = app["spec"]
    driver = spec["driver"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "driver-dry-run", "namespace": NAMESPACE},
        "spec": {
            "serviceAccountName": driver.get("serviceAccount", "spark"),
            "securityContext": driver.get("podSecurityContext", {}),
            "containers": [
                {
                    "name": "spark-kubernetes-driver",
                    "image": spec["image"],
                    "securityContext": driver.get("securityContext", {}),
                }
            ],
        },
    }
    created = session.plane.request("POST", f"/api/v1/namespaces/{NAMESPACE}/pods?dryRun=All", pod)
    assert created["metadata"]["name"] == "driver-dry-run"


def test_up_with_nothing_changed_is_a_no_op(session: Session) -> None:
    result, out = session.up(None)
    changes = {k: v for k, v in (result.summary.resource_changes or {}).items() if k != "same"}
    assert changes == {}, out.text


def test_refresh_then_up_is_a_no_op(session: Session) -> None:
    refresh = session.stack.refresh()
    assert refresh.summary.result == "succeeded"
    result, out = session.up(None)
    changes = {k: v for k, v in (result.summary.resource_changes or {}).items() if k != "same"}
    assert changes == {}, out.text


def mirror_of(session: Session, engine: Path, root: Path) -> auto.Stack:
    """What a pull request previews: the session's stack published to a preview mirror (another
    backend and passphrase), and the stack file the preview job prepares for it."""
    clean_environment()
    work_dir = project_copy(root / "project", "local")
    shutil.copy(session.root / "project" / "Pulumi.local.yaml", work_dir / "Pulumi.local.yaml")
    env = pulumi_env(engine, root / "pulumi-home", root / "mirror", session.plane.kubeconfig,
                     passphrase="engine-suite-mirror")  # fmt: skip
    env.update(preview_mirror.FALLBACK_ENV)
    real = Backend("the stack's state", f"file://{session.root / 'state'}", PASSPHRASE)
    mirror = Backend("the mirror", env["PULUMI_BACKEND_URL"], env["PULUMI_CONFIG_PASSPHRASE"])
    pulumi = str(engine / "pulumi")
    with mock.patch.dict(os.environ, {"PULUMI_HOME": env["PULUMI_HOME"]}):
        preview_mirror.publish("local", real, mirror, pulumi)
        preview_mirror.prepare_stack_file("local", mirror, work_dir, pulumi)
    return stack_in(engine, work_dir, "local", env)


def _normalize(text: str) -> str:
    lines = []
    # Each run's name, by order of appearance: the old and the new run stay distinct.
    runs: dict[str, str] = {}
    for line in text.splitlines():
        if re.match(r"\s*(Duration|View in Browser|@ previewing)", line):
            continue
        line = re.sub(
            r"train-[0-9a-f]{12}\b",
            lambda m: runs.setdefault(m[0], f"train-<run-{len(runs) + 1}>"),
            line.rstrip(),
        )
        # The default provider's id is a fresh UUID per stack.
        lines.append(re.sub(r"::[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}\]", "::<id>]", line))
    return "\n".join(lines).strip() + "\n"


def test_preview_diff_after_executor_instances_shows_one_replacement(session: Session) -> None:
    set_config(session, "executorInstances", "3")
    out = Output()
    result = session.stack.preview(diff=True, on_output=out)
    summary = {k: v for k, v in result.change_summary.items() if k != "same"}
    assert summary == {"replace": 1}, out.text
    # Resource lines only: the summary's "+-1 to replace" starts with the same sign.
    replaced = [line for line in out.lines if re.match(r"\s*\+-\S+: \(", line)]
    assert replaced and all("SparkApplication" in line for line in replaced), out.text
    assert "kubeconfig" not in out.text.lower() and "Secret" not in out.text
    text = _normalize(out.text)
    if os.environ.get("SPARK_DOKS_UPDATE_FIXTURES") == "1":
        DIFF_FIXTURE.parent.mkdir(exist_ok=True)
        DIFF_FIXTURE.write_text(text)
    assert DIFF_FIXTURE.is_file(), "run with SPARK_DOKS_UPDATE_FIXTURES=1 once to record it"
    assert text == DIFF_FIXTURE.read_text()
    set_config(session, "executorInstances", "2")


def test_the_preview_mirror_previews_the_same_diff(
    session: Session, engine: Path, tmp_path: Path
) -> None:
    """Issue 20 point 16: pull requests preview the mirror, and see what the stack's own
    preview (the fixture, recorded by the test above) shows."""
    mirror = mirror_of(session, engine, tmp_path)
    mirror.set_config(f"{PROJECT}:executorInstances", auto.ConfigValue("3"))
    out = Output()
    result = mirror.preview(diff=True, on_output=out)
    assert {k: v for k, v in result.change_summary.items() if k != "same"} == {"replace": 1}
    assert _normalize(out.text) == DIFF_FIXTURE.read_text()
    # Nothing was written to the stack's own backend.
    assert not session.stack.preview().change_summary.get("replace")


def test_failed_run_fails_up_with_the_readme_line(session: Session) -> None:
    set_config(session, "runId", "fails")
    with pytest.raises(auto.errors.CommandError) as error:
        session.up("FAILED", "driver container failed with ExitCode: 1, Reason: Error")
    pattern = (
        rf"error: SparkApplication {NAMESPACE}/train-fails-[0-9a-f]+ FAILED: driver container "
        r"failed with ExitCode: 1, Reason: Error\. Read the driver's log: kubectl -n "
        rf"{NAMESPACE} logs train-fails-[0-9a-f]+-driver\. Fix the cause, then re-run with a "
        r"new runId \(pulumi config set spark-doks:runId NEW\) or pulumi up --replace with the "
        r"SparkApplication's URN\."
    )
    assert re.search(pattern, str(error.value)), str(error.value)


def test_after_a_failed_run_an_unrelated_change_previews_and_applies(session: Session) -> None:
    # Issue 20 point 4: the FAILED run in state must not fail the program of a later update.
    set_config(session, "eventLogRetentionDays", "31")
    preview = session.stack.preview()
    assert preview.change_summary.get("replace", 0) == 0
    result, out = session.up(None)
    assert result.summary.result == "succeeded", out.text


def test_run_without_status_times_out_and_is_left_alone(session: Session) -> None:
    set_config(session, "runId", "slow")
    set_config(session, "executorWaitSeconds", "5")
    set_config(session, "runTimeoutSeconds", TIMEOUT_SECONDS)
    with pytest.raises(auto.errors.CommandError) as error:
        session.up(None)
    assert re.search(r"timed out|timeout", str(error.value), re.IGNORECASE), str(error.value)
    names = [app["metadata"]["name"] for app in session.applications()]
    assert any(name.startswith("train-slow-") for name in names), names


def test_destroy_leaves_nothing_of_the_stack(session: Session) -> None:
    result = session.stack.destroy()
    assert result.summary.result == "succeeded"
    plane = session.plane
    for _ in range(60):
        if plane.get(f"/api/v1/namespaces/{NAMESPACE}") is None:
            break
        time.sleep(1)
    assert plane.get(f"/api/v1/namespaces/{NAMESPACE}") is None
    assert session.applications() == []
