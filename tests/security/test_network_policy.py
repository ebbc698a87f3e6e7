"""The rendered NetworkPolicies let through exactly the traffic the platform needs.

A small evaluator applies Kubernetes' NetworkPolicy ingress semantics to the objects the dev stack
renders, and asks who may reach whom.
"""

from dataclasses import dataclass, field
from typing import Any

import pytest

from infra.offline import run_offline
from infra.render import kubernetes_objects, stack_config

JOB_NAMESPACE = "spark-jobs"
OPERATOR_NAMESPACE = "spark-operator"


@dataclass(frozen=True)
class Pod:
    namespace: str | None  # None: not a pod (the API server calling a webhook)
    labels: dict[str, str] = field(default_factory=dict)


DRIVER = Pod(JOB_NAMESPACE, {"spark-role": "driver", "spark-app-selector": "spark-1"})
EXECUTOR = Pod(JOB_NAMESPACE, {"spark-role": "executor", "spark-app-selector": "spark-1"})
PROMETHEUS = Pod("monitoring", {"app.kubernetes.io/name": "prometheus"})
OTHER_POD = Pod("default", {"app": "curl"})
# Anyone can label a pod like Prometheus; only the monitoring namespace's may scrape.
PROMETHEUS_LOOKALIKE = Pod("default", {"app.kubernetes.io/name": "prometheus"})
API_SERVER = Pod(None)
OPERATOR = Pod(OPERATOR_NAMESPACE, {"app.kubernetes.io/name": "spark-operator"})


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    selector = selector or {}
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values")
        matched = {
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
            "In": key in labels and labels[key] in (values or []),
            "NotIn": key not in labels or labels[key] not in (values or []),
        }[operator]
        if not matched:
            return False
    return True


def peer_matches(peer: dict[str, Any], policy_namespace: str, source: Pod) -> bool:
    if source.namespace is None:
        return False
    namespace_labels = {"kubernetes.io/metadata.name": source.namespace}
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], namespace_labels):
            return False
    elif source.namespace != policy_namespace:
        return False
    return selects(peer.get("podSelector"), source.labels)


def allowed(policies: list[dict[str, Any]], source: Pod, target: Pod, port: int | str) -> bool:
    applying = [
        policy
        for policy in policies
        if policy["metadata"]["namespace"] == target.namespace
        and "Ingress" in policy["spec"].get("policyTypes", ["Ingress"])
        and selects(policy["spec"].get("podSelector"), target.labels)
    ]
    if not applying:
        return True
    for policy in applying:
        for rule in policy["spec"].get("ingress") or []:
            peers = rule.get("from") or []
            ports = [entry["port"] for entry in rule.get("ports") or []]
            from_ok = not peers or any(
                peer_matches(peer, policy["metadata"]["namespace"], source) for peer in peers
            )
            if from_ok and (not ports or port in ports):
                return True
    return False


@pytest.fixture(scope="module")
def policies() -> list[dict[str, Any]]:
    objects = kubernetes_objects(run_offline(stack_config("dev"), "dev"))
    return [manifest for manifest in objects if manifest["kind"] == "NetworkPolicy"]


@pytest.mark.parametrize(
    ("source", "target", "port"),
    [
        (EXECUTOR, DRIVER, 7078),  # executors register with the driver
        (DRIVER, EXECUTOR, 7079),  # block manager traffic both ways
        (EXECUTOR, EXECUTOR, 7079),
        (PROMETHEUS, DRIVER, "spark-ui"),  # both Spark metrics endpoints live on the UI port
        (API_SERVER, OPERATOR, 9443),  # admission webhook
        (PROMETHEUS, OPERATOR, 8080),  # operator metrics
    ],
)
def test_needed_traffic_is_allowed(
    policies: list[dict[str, Any]], source: Pod, target: Pod, port: int | str
) -> None:
    assert allowed(policies, source, target, port)


@pytest.mark.parametrize(
    ("source", "target", "port"),
    [
        (OTHER_POD, DRIVER, "spark-ui"),
        (PROMETHEUS_LOOKALIKE, DRIVER, "spark-ui"),
        (PROMETHEUS_LOOKALIKE, OPERATOR, 8080),
        (OTHER_POD, EXECUTOR, 7079),
        (PROMETHEUS, DRIVER, 7078),
        (PROMETHEUS, EXECUTOR, 7079),
        (OPERATOR, DRIVER, 7078),
        (OTHER_POD, OPERATOR, 8080),
        (API_SERVER, DRIVER, 7078),
        (API_SERVER, Pod(JOB_NAMESPACE, {"app": "anything-else"}), 80),
    ],
)
def test_other_ingress_is_denied(
    policies: list[dict[str, Any]], source: Pod, target: Pod, port: int | str
) -> None:
    assert not allowed(policies, source, target, port)
