"""Spark pods, as rendered by `make render`, meet Pod Security Admission's restricted profile.

The job namespace enforces `restricted`, so a driver or executor that breaks it is rejected by the
API server at run time; this catches it from the rendered SparkApplication instead.
"""

from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.render import render
from tests.support import schema_file

SPARK_ROLES = ("driver", "executor")
# Volume types the restricted profile allows.
RESTRICTED_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def restricted_violations(pod: dict[str, Any], volumes: list[dict[str, Any]]) -> list[str]:
    """Breaches of the restricted profile by one SparkApplication driver or executor spec."""
    pod_context = pod.get("podSecurityContext") or {}
    container = pod.get("securityContext") or {}
    found = []
    if not (container.get("runAsNonRoot") or pod_context.get("runAsNonRoot")):
        found.append("runAsNonRoot is not true")
    if 0 in (container.get("runAsUser"), pod_context.get("runAsUser")):
        found.append("runs as uid 0")
    if container.get("allowPrivilegeEscalation") is not False:
        found.append("allowPrivilegeEscalation is not false")
    if container.get("privileged"):
        found.append("privileged")
    capabilities = container.get("capabilities") or {}
    if "ALL" not in (capabilities.get("drop") or []):
        found.append("capabilities do not drop ALL")
    if set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}:
        found.append(f"adds capabilities {capabilities['add']}")
    # Each profile that is set must be allowed, and one of them must be set.
    seccomp = [
        (context.get("seccompProfile") or {}).get("type") for context in (container, pod_context)
    ]
    if any(kind not in (None, "RuntimeDefault", "Localhost") for kind in seccomp) or not any(
        seccomp
    ):
        found.append(f"seccompProfile types {seccomp}, not RuntimeDefault")
    if pod.get("hostNetwork") or pod.get("hostPID") or pod.get("hostIPC"):
        found.append("shares a host namespace")
    for volume in volumes:
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            found.append(f"volume {volume.get('name')} is {sorted(kinds)}")
    return found


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("render") / "rendered"
    render(["dev", "local"], output)
    return output


def spark_applications(rendered: Path) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(rendered.glob("*/*.yaml")):
        manifest = yaml.safe_load(path.read_text())
        if manifest.get("kind") == "SparkApplication":
            found.append((path.parent.name, manifest))
    return found


def test_every_rendered_spark_pod_meets_restricted(rendered: Path) -> None:
    applications = spark_applications(rendered)
    assert {stack for stack, _ in applications} == {"dev", "local"}
    for stack, application in applications:
        spec = application["spec"]
        for role in SPARK_ROLES:
            assert restricted_violations(spec[role], spec.get("volumes") or []) == [], (
                stack,
                role,
            )


@pytest.mark.parametrize(
    ("field", "value", "breach"),
    [
        ("securityContext", {"runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}}, "Escal"),
        ("securityContext", {"allowPrivilegeEscalation": False}, "drop ALL"),
        ("podSecurityContext", {"runAsUser": 0}, "uid 0"),
        ("podSecurityContext", {"seccompProfile": {"type": "Unconfined"}}, "seccomp"),
    ],
)
def test_checker_reports_each_breach(
    rendered: Path, field: str, value: dict[str, Any], breach: str
) -> None:
    _, application = spark_applications(rendered)[0]
    driver = {**application["spec"]["driver"], field: value}
    assert any(breach in message for message in restricted_violations(driver, []))


def test_host_path_volume_is_a_breach(rendered: Path) -> None:
    _, application = spark_applications(rendered)[0]
    volumes = [{"name": "data", "hostPath": {"path": "/data"}}]
    assert restricted_violations(application["spec"]["executor"], volumes)


def test_the_operator_crd_has_the_fields_that_carry_these_settings() -> None:
    """An unknown field would be dropped by the API server, and the pods would run without it."""
    crd_path = schema_file("spark-operator/sparkoperator.k8s.io_sparkapplications.yaml")
    crd = yaml.safe_load(crd_path.read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1beta2"]
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    for role in SPARK_ROLES:
        pod = spec[role]["properties"]
        container_context = pod["securityContext"]["properties"]
        pod_context = pod["podSecurityContext"]["properties"]
        assert {"allowPrivilegeEscalation", "capabilities", "runAsNonRoot"} <= set(
            container_context
        )
        assert {"runAsNonRoot", "runAsUser", "seccompProfile"} <= set(pod_context)
