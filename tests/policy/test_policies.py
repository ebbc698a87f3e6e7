"""Each policy against a compliant and a violating resource: only the violating one is reported."""

from typing import Any

import pytest
from pulumi_policy import ResourceValidationPolicy
from spark_doks_policy import POLICIES
from spark_doks_policy.digitalocean import (
    CONTAINER_REGISTRY,
    DOKS_CLUSTER,
    DOKS_NODE_POOL,
    REGISTRY_CREDENTIALS,
    doks_destroys_associated_resources,
    doks_upgrades,
    protected_in_protected_stacks,
    registry_write_credentials_expire,
)
from spark_doks_policy.kubernetes import (
    CLUSTER_ROLE_BINDING,
    ROLE_BINDING,
    SECRET,
    SPARK_APPLICATION,
)
from spark_doks_policy.rbac import (
    no_broad_role_binding,
    no_cluster_role_binding,
    service_account_bound_in_own_namespace,
)
from spark_doks_policy.secrets import (
    SECRET_CONFIG_ANNOTATION,
    grafana_password_not_literal,
    secret_data_from_pulumi_secrets,
)
from spark_doks_policy.spaces import (
    SPACES_KEY,
    no_fullaccess_spaces_key,
    spaces_key_material_only_in_secrets,
)
from spark_doks_policy.workloads import (
    no_latest_image,
    requests_and_limits,
    trainer_image_by_digest,
)

from tests.policy.harness import (
    policy_resource,
    resource_violations,
    stack_violations,
    validate_resource,
)

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
TRAINER_DIGEST = "registry.digitalocean.com/spark-doks/trainer@sha256:" + "ab" * 32
SPARK_SA = {"kind": "ServiceAccount", "name": "spark", "namespace": "spark-jobs"}


def role_binding(role_kind: str, role_name: str, subject_namespace: str = "spark-jobs") -> Any:
    return {
        "metadata": {"name": "spark", "namespace": "spark-jobs"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name},
        "subjects": [{**SPARK_SA, "namespace": subject_namespace}],
    }


def deployment(image: str, resources: Any) -> Any:
    container = {"name": "app", "image": image, "resources": resources}
    return {"spec": {"template": {"spec": {"containers": [container]}}}}


FULL_RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "128Mi"}}


def spark_application(image: str = TRAINER_DIGEST, executor: Any = None) -> Any:
    return {
        "apiVersion": "sparkoperator.k8s.io/v1beta2",
        "kind": "SparkApplication",
        "metadata": {"name": "train", "namespace": "spark-jobs"},
        "spec": {
            "type": "Python",
            "image": image,
            "driver": {"cores": 1, "memory": "1g", "serviceAccount": "spark"},
            "executor": executor or {"cores": 1, "memory": "1g", "instances": 4},
        },
    }


def operator_release(webhook_resources: Any) -> Any:
    values = {
        "controller": {"resources": FULL_RESOURCES},
        "webhook": {"resources": webhook_resources},
    }
    return {"chart": "spark-operator", "version": "2.5.2", "values": values}


def grafana_release(chart: str, values: Any) -> Any:
    return {"chart": chart, "version": "1.0.0", "values": values}


# policy, resource type, compliant inputs, violating inputs
CASES: list[tuple[ResourceValidationPolicy, str, Any, Any]] = [
    (
        no_cluster_role_binding,
        CLUSTER_ROLE_BINDING,
        {"roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": []},
        {"roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": [SPARK_SA]},
    ),
    (
        no_broad_role_binding,
        ROLE_BINDING,
        role_binding("ClusterRole", "view"),
        role_binding("ClusterRole", "edit"),
    ),
    (
        service_account_bound_in_own_namespace,
        ROLE_BINDING,
        role_binding("Role", "spark-driver"),
        role_binding("Role", "spark-driver", subject_namespace="default"),
    ),
    (
        requests_and_limits,
        DEPLOYMENT,
        deployment("nginx:1.27", FULL_RESOURCES),
        deployment("nginx:1.27", {"requests": {"cpu": "100m", "memory": "128Mi"}}),
    ),
    (
        requests_and_limits,
        SPARK_APPLICATION,
        spark_application(),
        spark_application(executor={"instances": 4, "memory": "1g"}),
    ),
    (
        requests_and_limits,
        HELM_RELEASE,
        operator_release(FULL_RESOURCES),
        operator_release({"requests": {"cpu": "100m", "memory": "300Mi"}}),
    ),
    (
        no_latest_image,
        DEPLOYMENT,
        deployment("nginx:1.27", FULL_RESOURCES),
        deployment("nginx:latest", FULL_RESOURCES),
    ),
    (
        trainer_image_by_digest,
        SPARK_APPLICATION,
        spark_application(),
        spark_application(image="registry.digitalocean.com/spark-doks/trainer:v1"),
    ),
    (
        grafana_password_not_literal,
        HELM_RELEASE,
        grafana_release("grafana", {"admin": {"existingSecret": "grafana-admin"}}),
        grafana_release("grafana", {"adminPassword": "hunter2"}),
    ),
    (
        doks_upgrades,
        DOKS_CLUSTER,
        {"region": "sfo2", "autoUpgrade": True, "surgeUpgrade": True},
        {"region": "sfo2", "autoUpgrade": False, "surgeUpgrade": True},
    ),
    (
        doks_destroys_associated_resources,
        DOKS_CLUSTER,
        {"region": "sfo2", "destroyAllAssociatedResources": True},
        {"region": "sfo2"},
    ),
    (
        registry_write_credentials_expire,
        REGISTRY_CREDENTIALS,
        {"registryName": "spark-doks", "write": True, "expirySeconds": 3600},
        {"registryName": "spark-doks", "write": True},
    ),
    (
        no_fullaccess_spaces_key,
        SPACES_KEY,
        {"name": "jobs", "grants": [{"bucket": "spark-doks-dev", "permission": "readwrite"}]},
        {"name": "jobs", "grants": [{"bucket": "", "permission": "fullaccess"}]},
    ),
]


@pytest.mark.parametrize(
    ("policy", "resource_type", "compliant", "violating"),
    CASES,
    ids=[f"{case[0].name}-{case[1].rsplit(':', 1)[-1]}" for case in CASES],
)
def test_policy_reports_only_the_violating_resource(
    policy: ResourceValidationPolicy, resource_type: str, compliant: Any, violating: Any
) -> None:
    assert resource_violations(policy, resource_type, compliant) == []
    assert len(resource_violations(policy, resource_type, violating)) >= 1


def test_every_resource_policy_has_a_case() -> None:
    covered = {case[0].name for case in CASES} | {
        secret_data_from_pulumi_secrets.name,
        protected_in_protected_stacks.name,
        spaces_key_material_only_in_secrets.name,
    }
    assert {policy.name for policy in POLICIES} == covered


@pytest.mark.parametrize("image", ["nginx", "ghcr.io/org/app", "localhost:5000/app"])
def test_an_untagged_image_counts_as_latest(image: str) -> None:
    assert resource_violations(no_latest_image, DEPLOYMENT, deployment(image, FULL_RESOURCES))


@pytest.mark.parametrize(
    "image", ["localhost:5000/app:1.0", "apache/spark:4.0.4", "nginx:latest@sha256:" + "0" * 64]
)
def test_a_registry_port_or_digest_is_not_mistaken_for_latest(image: str) -> None:
    assert resource_violations(no_latest_image, DEPLOYMENT, deployment(image, FULL_RESOURCES)) == []


def test_spark_sidecars_need_resources_and_a_pinned_image() -> None:
    executor = {
        "cores": 1,
        "memory": "1g",
        "sidecars": [{"name": "log-shipper", "image": "fluent-bit"}],
    }
    app = spark_application(executor=executor)
    assert resource_violations(requests_and_limits, SPARK_APPLICATION, app)
    assert resource_violations(no_latest_image, SPARK_APPLICATION, app)


def test_a_per_role_image_override_must_also_be_pinned() -> None:
    app = spark_application(executor={"cores": 1, "memory": "1g", "image": "trainer:v2"})
    messages = resource_violations(trainer_image_by_digest, SPARK_APPLICATION, app)
    assert len(messages) == 1
    assert "trainer:v2" in messages[0]


def test_cluster_role_binding_to_cluster_admin_breaks_two_rules() -> None:
    binding = {"roleRef": {"kind": "ClusterRole", "name": "cluster-admin"}, "subjects": [SPARK_SA]}
    assert resource_violations(no_cluster_role_binding, CLUSTER_ROLE_BINDING, binding)
    assert resource_violations(no_broad_role_binding, CLUSTER_ROLE_BINDING, binding)


def test_a_role_binding_without_namespace_is_reported() -> None:
    binding = role_binding("Role", "spark-driver")
    del binding["metadata"]["namespace"]
    assert resource_violations(service_account_bound_in_own_namespace, ROLE_BINDING, binding)


@pytest.mark.parametrize(
    "values",
    [
        {},  # kube-prometheus-stack's default: a well-known password
        {"grafana": {"admin": {"existingSecret": "grafana-admin"}, "adminPassword": "x"}},
    ],
)
def test_kube_prometheus_stack_grafana_must_use_an_existing_secret(values: Any) -> None:
    release = grafana_release("prometheus-community/kube-prometheus-stack", values)
    assert resource_violations(grafana_password_not_literal, HELM_RELEASE, release)


def test_kube_prometheus_stack_without_grafana_is_not_concerned() -> None:
    release = grafana_release("kube-prometheus-stack", {"grafana": {"enabled": False}})
    assert resource_violations(grafana_password_not_literal, HELM_RELEASE, release) == []


def test_read_only_registry_credentials_need_no_expiry() -> None:
    props = {"registryName": "spark-doks", "write": False}
    assert resource_violations(registry_write_credentials_expire, REGISTRY_CREDENTIALS, props) == []


def test_write_credentials_expiry_limit_is_configurable() -> None:
    props = {"registryName": "spark-doks", "write": True, "expirySeconds": 7200}
    policy = registry_write_credentials_expire
    assert resource_violations(policy, REGISTRY_CREDENTIALS, props) == []
    config = {"maxExpirySeconds": 3600}
    assert resource_violations(policy, REGISTRY_CREDENTIALS, props, config)


def test_secret_data_must_come_from_another_resource() -> None:
    password = policy_resource(RANDOM_PASSWORD, "grafana-admin", {"length": 24})
    data = {"stringData": {"admin-user": "admin", "admin-password": "generated"}}
    from_password = policy_resource(SECRET, "grafana", data, {"stringData": [password]})
    literal = policy_resource(SECRET, "grafana-literal", data)
    assert stack_violations(secret_data_from_pulumi_secrets, [password, from_password]) == []
    messages = stack_violations(secret_data_from_pulumi_secrets, [password, literal])
    assert len(messages) == 1
    assert "grafana-literal" in messages[0]


def test_secret_data_may_come_from_a_named_secret_config_key() -> None:
    annotated = {
        "metadata": {"annotations": {SECRET_CONFIG_ANNOTATION: "alertSlackWebhookUrl"}},
        "stringData": {"webhook-url": "https://hooks.slack.com/services/x"},
    }
    from_config = policy_resource(SECRET, "alert-slack", annotated)
    assert stack_violations(secret_data_from_pulumi_secrets, [from_config]) == []
    unnamed = {**annotated, "metadata": {"annotations": {SECRET_CONFIG_ANNOTATION: ""}}}
    literal = policy_resource(SECRET, "alert-slack", unnamed)
    assert stack_violations(secret_data_from_pulumi_secrets, [literal])


def test_a_secret_without_data_is_not_reported() -> None:
    empty = policy_resource(SECRET, "placeholder", {"type": "Opaque"})
    assert stack_violations(secret_data_from_pulumi_secrets, [empty]) == []


def test_a_never_pulled_local_image_needs_no_digest_but_no_latest_either() -> None:
    local = spark_application(image="spark-doks/trainer:e6169d0adc4a3fcb")
    local["spec"]["imagePullPolicy"] = "Never"
    assert resource_violations(trainer_image_by_digest, SPARK_APPLICATION, local) == []
    local["spec"]["image"] = "spark-doks/trainer:latest"
    assert resource_violations(no_latest_image, SPARK_APPLICATION, local)


@pytest.mark.parametrize("resource_type", [DOKS_CLUSTER, DOKS_NODE_POOL, CONTAINER_REGISTRY])
@pytest.mark.parametrize(
    ("stack", "protect", "violations"),
    [("prod", True, 0), ("prod", False, 1), ("account", False, 1), ("dev", False, 0)],
)
def test_protected_stacks_must_protect_their_cluster_pools_and_registry(
    resource_type: str, stack: str, protect: bool, violations: int
) -> None:
    resource = policy_resource(
        resource_type,
        "r",
        {},
        urn=f"urn:pulumi:{stack}::spark-doks::{resource_type}::r",
        protect=protect,
    )
    found = validate_resource(protected_in_protected_stacks, resource)
    assert len(found) == violations
    assert all(f"Pulumi.{stack}.yaml" in message for message in found)


def test_the_protected_stacks_are_policy_config() -> None:
    resource = policy_resource(
        DOKS_CLUSTER, "r", {}, urn=f"urn:pulumi:staging::spark-doks::{DOKS_CLUSTER}::r"
    )
    assert validate_resource(protected_in_protected_stacks, resource) == []
    assert (
        len(validate_resource(protected_in_protected_stacks, resource, {"stacks": ["staging"]}))
        == 1
    )
